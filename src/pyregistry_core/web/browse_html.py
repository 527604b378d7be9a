"""The frame of every browse page: stylesheet, document, security headers, the 404 page.

The stylesheet is inline (the Content-Security-Policy allows no other) and lays the
project page out as a content column and a sidebar that moves below the content on
narrow screens; at a phone's 390 px nothing scrolls sideways (wide tables and code
scroll inside their own box).
"""

from __future__ import annotations

from html import escape
from urllib.parse import quote

from werkzeug.datastructures import MIMEAccept
from werkzeug.http import parse_accept_header

from .messages import Request, Response, text_response

__all__ = [
    "SECURITY_HEADERS",
    "base_path",
    "content_security_policy",
    "document",
    "html_response",
    "human_size",
    "not_found",
    "plural",
]

# No script may run; images load from this origin, data: URLs, and the origins the
# operator lists in pypi.browse_image_origins; the inline <style> is the only CSS.
_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:"
SECURITY_HEADERS = (
    ("Content-Security-Policy", _CSP),
    ("X-Content-Type-Options", "nosniff"),
)

_STYLE = """
*{box-sizing:border-box}
body{font:16px/1.5 system-ui,-apple-system,"Segoe UI",sans-serif;margin:0;color:#1f2328;background:#fff}
header{background:#24292f;padding:.6rem 1.5rem}header a{color:#fff;font-weight:600;text-decoration:none}
main{max-width:72rem;margin:0 auto;padding:1rem 1.5rem 3rem}
a{color:#0969da}h1{margin:.6rem 0;overflow-wrap:anywhere}h2{margin-top:2rem;border-bottom:1px solid #d0d7de}
code,pre{font:14px/1.4 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace}
pre{background:#f6f8fa;padding:.75rem;overflow-x:auto;border-radius:6px}
form.search{display:flex;gap:.5rem;margin:1rem 0}
form.search input{flex:1;min-width:0;font-size:1rem;padding:.4rem .6rem;
border:1px solid #8c959f;border-radius:6px}
form.search button{font-size:1rem;padding:.4rem 1rem;border-radius:6px;border:1px solid #8c959f}
ul.projects{columns:16rem;padding-left:1.2rem;overflow-wrap:anywhere}.muted{color:#57606a}
.layout{display:grid;grid-template-columns:minmax(0,1fr) 17rem;gap:2rem;align-items:start}
.content{min-width:0}
aside.sidebar{font-size:.9rem;overflow-wrap:anywhere;min-width:0}
aside.sidebar h2{font-size:1rem;margin:1.2rem 0 .4rem}
aside.sidebar ul,aside.sidebar ol{list-style:none;padding:0;margin:0}
aside.sidebar dl{margin:0}aside.sidebar dt{font-weight:600}aside.sidebar dd{margin:0 0 .4rem}
ul.classifiers>li{margin-bottom:.4rem}ul.classifiers ul{padding-left:.8rem}
ol.history li{padding:.2rem 0;border-bottom:1px solid #eaeef2}
table{border-collapse:collapse;width:100%;margin:.5rem 0 1rem;table-layout:fixed}
th:nth-child(1){width:33%}th:nth-child(2){width:9%}th:nth-child(3){width:35%}td.uploaded{font-size:.9rem}
th,td{text-align:left;padding:.3rem .5rem;border-bottom:1px solid #d0d7de;vertical-align:top}
td{overflow-wrap:anywhere}td.sha256 code{word-break:break-all;font-size:12px}
.yank-reason{display:block;color:#a40e26;font-size:.9rem}
.badge{display:inline-block;padding:0 .4rem;border-radius:1rem;font-size:.8rem;font-weight:600}
.yanked{background:#ffebe9;color:#a40e26;border:1px solid #ff8182}
.pre-release{background:#ddf4ff;color:#0550ae;border:1px solid #54aeff}
.status{background:#fff8c5;border:1px solid #d4a72c;padding:.5rem .75rem;border-radius:6px}
.description{overflow-wrap:anywhere}.description h1{font-size:1.6rem}
.description img{max-width:100%}.description table{display:block;overflow-x:auto}
.not-found{text-align:center;padding:3rem 0}
.not-found .code{font-size:4rem;font-weight:700;color:#8c959f;margin:0}
@media (max-width:50rem){
main{padding:.75rem .75rem 2rem}header{padding:.6rem .75rem}
.layout{grid-template-columns:minmax(0,1fr)}
table.files thead{display:none}
table.files,table.files tbody,table.files tr,table.files td{display:block;width:auto}
table.files tr{border-bottom:1px solid #d0d7de;padding:.4rem 0}table.files td{border:0;padding:.1rem 0}
}
"""


def content_security_policy(image_origins: tuple[str, ...]) -> str:
    """The page's CSP: no script anywhere, images from here and from ``image_origins``."""
    return " ".join((_CSP, *image_origins))


def document(title: str, base: str, body: str) -> str:
    """A complete HTML page around ``body`` (already escaped) with the site header."""
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<link rel="icon" href="data:,">'
        f"<title>{escape(title)}</title><style>{_STYLE}</style></head>"
        f'<body><header><a href="{base}/">pyregistry</a></header><main>{body}</main></body></html>\n'
    )


def html_response(page: str, image_origins: tuple[str, ...] = (), status: int = 200) -> Response:
    """``page`` as an HTML response with the security headers."""
    body = page.encode()
    headers = (
        ("Content-Type", "text/html; charset=utf-8"),
        ("Content-Length", str(len(body))),
        # What a page shows depends on who asks.
        ("Cache-Control", "private, no-cache"),
        ("Vary", "Authorization"),
        ("Content-Security-Policy", content_security_policy(image_origins)),
        ("X-Content-Type-Options", "nosniff"),
    )
    return Response(status, headers, body)


def not_found(request: Request, message: str) -> Response:
    """404: a styled page with a way back for browsers, else the plain-text message."""
    accept = parse_accept_header(request.header("accept"), MIMEAccept)
    if not any(value == "text/html" and quality > 0 for value, quality in accept):
        return text_response(404, message)
    base = base_path(request)
    body = (
        '<section class="not-found"><p class="code">404</p><h1>Not found</h1>'
        f'<p class="message">{escape(message)}</p>'
        f'<form class="search" method="get" action="{base}/" role="search">'
        '<input type="search" name="q" placeholder="Search projects" aria-label="Search projects">'
        '<button type="submit">Search</button></form>'
        f'<p><a class="back" href="{base}/">Back to all projects</a></p></section>'
    )
    return html_response(document("Not found · pyregistry", base, body), status=404)


def human_size(size: int) -> str:
    """A byte count for people: ``999 B``, ``1.5 KiB``, ``12.0 MiB``."""
    if size < 1024:
        return f"{size} B"
    value, unit = size / 1024, "KiB"
    for larger in ("MiB", "GiB", "TiB"):
        if value < 1023.95:  # else it would show as "1024.0"
            break
        value, unit = value / 1024, larger
    return f"{value:.1f} {unit}"


def plural(count: int, noun: str) -> str:
    """``1 project``, ``2 projects``."""
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def base_path(request: Request) -> str:
    """The mount prefix as an absolute URL path, for links and Location headers."""
    return quote(request.script_root, safe="/")
