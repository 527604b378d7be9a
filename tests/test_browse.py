"""The browse pages (``pyregistry_core.web.browse``): the project list and the project pages.

Requests go through ``pyregistry_core.handle`` (the real routing and error table); the
escaping property drives ``browse`` directly with records no upload could produce.
"""

from __future__ import annotations

import hashlib
import io
import re
from collections.abc import Mapping
from html import escape
from html.parser import HTMLParser
from typing import Any
from urllib.parse import quote

import attrs
import pytest
from distfiles import sdist_bytes, upload_body, wheel_bytes
from hypothesis import given
from hypothesis import strategies as st
from strategies import file_records

from pyregistry_core import Identity, Registry, Request, Response, handle
from pyregistry_core.records import FileRecord, ProjectFiles
from pyregistry_core.settings import Settings
from pyregistry_core.web.browse import SECURITY_HEADERS, human_size, project_page, render_description

ROOT_URL = "http://index.test"
OPERATOR = Identity(operator=True)
CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:"
UPLOAD_TIME = re.compile(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} UTC")


# -- helpers -----------------------------------------------------------------------------


def make_registry(**config: str) -> Registry:
    """An in-memory registry that lets anyone upload, plus ``config``."""
    base = {"storage.url": "memory://browse", "pypi.default_write": "everyone"}
    return Registry.from_config({**base, **config})


def get(
    registry: Registry,
    path: str,
    query: Mapping[str, str] | None = None,
    *,
    user: str | None = None,
    method: str = "GET",
    prefix: str = "",
) -> Response:
    """A request through ``handle``; ``user`` is an identity the host app vouches for."""
    request = Request(
        method,
        path,
        dict(query or {}),
        {"host": "index.test"},
        root_url=ROOT_URL + prefix,
        script_root=prefix,
        identity=Identity(user) if user is not None else None,
    )
    return handle(registry, request)


def text(response: Response) -> str:
    """The body as text."""
    assert isinstance(response.body, bytes)
    return response.body.decode("utf-8")


def metadata(
    name: str,
    version: str,
    *,
    summary: str | None = "A browsable package",
    description: str | None = None,
    content_type: str | None = None,
    fields: tuple[tuple[str, str], ...] = (),
) -> bytes:
    """Core metadata 2.4 (``fields`` added) with the description in the body, as hatchling writes it."""
    lines = ["Metadata-Version: 2.4", f"Name: {name}", f"Version: {version}"]
    lines += [f"{key}: {value}" for key, value in fields]
    if summary is not None:
        lines.append(f"Summary: {summary}")
    if content_type is not None:
        lines.append(f"Description-Content-Type: {content_type}")
    body = f"\n\n{description}" if description is not None else "\n"
    return ("\n".join(lines) + body).encode()


def publish(
    registry: Registry,
    name: str,
    version: str,
    *,
    sdist: bool = False,
    identity: Identity | None = None,
    **meta: Any,
) -> bytes:
    """Upload a wheel (or sdist) of ``name`` ``version`` with ``meta`` in its metadata."""
    core = metadata(name, version, **meta)
    module = name.replace("-", "_").replace(".", "_").lower()
    if sdist:
        data, filename = sdist_bytes(name, version, metadata=core), f"{module}-{version}.tar.gz"
    else:
        data, filename = wheel_bytes(name, version, metadata=core), f"{module}-{version}-py3-none-any.whl"
    body, content_type = upload_body(name, version, filename, data)
    headers = {"content-type": content_type, "content-length": str(len(body))}
    request = Request("POST", "/", {}, headers, io.BytesIO(body), root_url=ROOT_URL, identity=identity)
    response = handle(registry, request)
    assert response.status == 200, text(response)
    return data


def publish_as_operator(registry: Registry, name: str) -> None:
    """Store ``name`` 1.0 where anonymous callers may not upload."""
    publish(registry, name, "1.0", identity=OPERATOR)


class Elements(HTMLParser):
    """Every start tag with its attributes, and the visible text of a page."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.texts: list[str] = []
        self.description_tags: set[str] = set()  # tags inside <div class="description">
        self._skip = 0
        self._description_divs = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        """Record a tag; text inside <style> is not visible."""
        self.tags.append((tag, dict(attrs)))
        if tag == "style":
            self._skip += 1
        if self._description_divs:
            self.description_tags.add(tag)
            self._description_divs += tag == "div"
        elif tag == "div" and dict(attrs).get("class") == "description":
            self._description_divs = 1

    def handle_endtag(self, tag: str) -> None:
        """Leave a <style> or a <div>."""
        if tag == "style":
            self._skip -= 1
        if tag == "div" and self._description_divs:
            self._description_divs -= 1

    def handle_data(self, data: str) -> None:
        """Collect visible text."""
        if not self._skip:
            self.texts.append(data)

    @property
    def text(self) -> str:
        """The visible text, whitespace collapsed."""
        return " ".join(" ".join(self.texts).split())

    def find(self, tag: str, **wanted: str) -> list[dict[str, str | None]]:
        """Attributes of every ``tag`` whose attributes include ``wanted``."""
        return [a for t, a in self.tags if t == tag and all(a.get(k) == v for k, v in wanted.items())]


def parse(response: Response) -> Elements:
    """Parse a page as a browser's tokenizer sees it."""
    page = Elements()
    page.feed(text(response))
    page.close()
    return page


def assert_inert(page: Elements) -> None:
    """No script, no event handler attribute, no javascript: URL anywhere in the page."""
    for tag, attributes in page.tags:
        assert tag not in ("script", "iframe", "object", "embed", "form") or (
            tag == "form" and attributes.get("class") == "search"
        ), (tag, attributes)
        for key, value in attributes.items():
            assert not key.startswith("on"), (tag, attributes)
            assert not (value or "").strip().lower().startswith("javascript:"), (tag, attributes)


# -- the project list ----------------------------------------------------------------------


def test_list_shows_every_readable_project_sorted_with_links() -> None:
    """``/`` lists stored projects by normalized name, each linking to its project page."""
    registry = make_registry()
    for name in ("Zeta_Pkg", "alpha", "mid.dle"):
        publish(registry, name, "1.0")
    response = get(registry, "/")
    assert response.status == 200
    page = parse(response)
    links = [a["href"] for a in page.find("a") if str(a["href"]).startswith("/project/")]
    assert links == ["/project/alpha/", "/project/mid-dle/", "/project/zeta-pkg/"]
    assert "3 projects" in page.text
    assert page.find("input", type="search", name="q", value="")


def test_list_hides_projects_the_caller_may_not_read() -> None:
    """Anonymous callers do not see a project only alice may read; alice does."""
    registry = make_registry(**{"package.secret.user.alice": "rw"})
    publish(registry, "public", "1.0")
    publish_as_operator(registry, "secret")
    anonymous = parse(get(registry, "/"))
    assert [a["href"] for a in anonymous.find("a") if "/project/" in str(a["href"])] == ["/project/public/"]
    assert "1 project" in anonymous.text
    alice = parse(get(registry, "/", user="alice"))
    assert [a["href"] for a in alice.find("a") if "/project/" in str(a["href"])] == [
        "/project/public/",
        "/project/secret/",
    ]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("acme", ["acme-utils", "acme.web"]),
        ("ACME_U", ["acme-utils"]),
        ("Acme.Web", ["acme-web"]),
        ("  utils ", ["acme-utils", "utils"]),
        ("nothing-like-it", []),
        ("", ["acme-utils", "acme-web", "utils"]),
    ],
)
def test_search_filters_by_normalized_substring(query: str, expected: list[str]) -> None:
    """``?q=`` keeps names containing the normalized query, case-insensitively."""
    registry = make_registry()
    for name in ("Acme_Utils", "acme.web", "utils"):
        publish(registry, name, "1.0")
    page = parse(get(registry, "/", {"q": query}))
    shown = [str(a["href"]).split("/")[2] for a in page.find("a") if "/project/" in str(a["href"])]
    assert shown == [n.replace(".", "-") for n in expected]
    assert page.find("input", name="q", value=query.strip())


def test_search_query_is_escaped_everywhere() -> None:
    """A hostile ``q`` comes back only as text: in the input's value and the count line."""
    registry = make_registry()
    publish(registry, "demo", "1.0")
    hostile = '"><script>alert(1)</script><img src=x onerror=alert(2)>'
    response = get(registry, "/", {"q": hostile})
    assert response.status == 200
    page = parse(response)
    assert_inert(page)
    assert not page.find("img")
    assert page.find("input", name="q", value=hostile)
    assert f"0 projects matching {hostile}" in page.text
    assert "<script>" not in text(response)


def test_list_needs_default_read_like_the_simple_index() -> None:
    """With ``default_read = authenticated``, anonymous gets 401 + challenge, a user the list."""
    registry = make_registry(**{"pypi.default_read": "authenticated", "pypi.realm": "corp"})
    publish_as_operator(registry, "internal")
    anonymous = get(registry, "/")
    assert anonymous.status == 401
    assert anonymous.header("WWW-Authenticate") == 'Basic realm="corp"'
    assert text(anonymous) == "Authentication required.\n"
    assert get(registry, "/simple/").status == 401
    bob = get(registry, "/", user="bob")
    assert bob.status == 200
    assert parse(bob).find("a", href="/project/internal/")


def test_list_and_pages_carry_security_headers_and_length() -> None:
    """HTML pages: UTF-8 type, exact length, a CSP that forbids scripts, nosniff."""
    registry = make_registry()
    publish(registry, "demo", "1.0")
    for path in ("/", "/project/demo/"):
        response = get(registry, path)
        assert response.status == 200
        assert response.header("Content-Type") == "text/html; charset=utf-8"
        assert response.header("Content-Length") == str(len(response.body))  # type: ignore[arg-type]
        assert response.header("Content-Security-Policy") == CSP
        assert response.header("X-Content-Type-Options") == "nosniff"
        assert response.header("Vary") == "Authorization"
    assert dict(SECURITY_HEADERS)["Content-Security-Policy"] == CSP


@pytest.mark.parametrize("path", ["/", "/project/demo/"])
def test_head_sends_the_get_headers_without_a_body(path: str) -> None:
    """HEAD answers 200 with GET's headers (Content-Length included) and no body."""
    registry = make_registry()
    publish(registry, "demo", "1.0", description="# Demo", content_type="text/markdown")
    full = get(registry, path)
    head = get(registry, path, method="HEAD")
    assert head.status == 200
    assert head.body == b""
    assert head.headers == full.headers
    assert int(str(head.header("Content-Length"))) == len(full.body)  # type: ignore[arg-type]


def test_links_carry_the_mount_prefix() -> None:
    """Mounted under /prefix, every link and the install commands name the prefix."""
    registry = make_registry()
    data = publish(registry, "demo", "1.0")
    listing = parse(get(registry, "/", prefix="/prefix"))
    assert listing.find("a", href="/prefix/project/demo/")
    assert listing.find("form", action="/prefix/")
    project = get(registry, "/project/demo/", prefix="/prefix")
    page = parse(project)
    digest = hashlib.sha256(data).hexdigest()
    assert page.find("a", href=f"/prefix/files/demo/{digest}/demo-1.0-py3-none-any.whl")
    assert page.find("a", href="/prefix/")
    assert f"pip install --index-url {ROOT_URL}/prefix/simple/ demo" in page.text


# -- routing ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "location"),
    [
        ("/project/Acme_Utils/", "/project/acme-utils/"),
        ("/project/ACME.utils/", "/project/acme-utils/"),
        ("/project/acme-utils", "/project/acme-utils/"),
        ("/project/Acme__Utils", "/project/acme-utils/"),
    ],
)
def test_non_normalized_project_urls_redirect_permanently(path: str, location: str) -> None:
    """A spelling other than ``/project/<normalized>/`` gets a 301 to that URL."""
    registry = make_registry()
    publish(registry, "Acme_Utils", "1.0")
    response = get(registry, path)
    assert response.status == 301
    assert response.header("Location") == location
    prefixed = get(registry, path, prefix="/mount")
    assert prefixed.header("Location") == "/mount" + location


@pytest.mark.parametrize(
    "path",
    ["/project/", "/project", "/project/-bad-/", "/project/demo/extra", "/project/demo/x/", "/projects/"],
)
def test_other_paths_are_not_found(path: str) -> None:
    """Paths that name no browse page (or an invalid name) answer 404 "Not found."."""
    registry = make_registry()
    publish(registry, "demo", "1.0")
    response = get(registry, path)
    assert response.status == 404
    assert text(response) == "Not found.\n"


def test_absent_project_is_404_with_the_simple_api_message() -> None:
    """A valid name that is not stored answers 404 as ``/simple/<name>/`` does."""
    registry = make_registry()
    response = get(registry, "/project/nothing-here/")
    assert response.status == 404
    assert text(response) == "Project 'nothing-here' not found.\n"
    assert text(get(registry, "/simple/nothing-here/")) == text(response)


def test_project_page_applies_read_permissions() -> None:
    """Restricted project: anonymous 401 + challenge, another user 403, the reader 200."""
    registry = make_registry(**{"package.secret.user.alice": "r"})
    publish_as_operator(registry, "secret")
    anonymous = get(registry, "/project/secret/")
    assert anonymous.status == 401
    assert anonymous.header("WWW-Authenticate") == 'Basic realm="pypi"'
    assert text(anonymous) == "Authentication required.\n"
    bob = get(registry, "/project/secret/", user="bob")
    assert bob.status == 403
    assert text(bob) == "The user 'bob' isn't allowed to read on project 'secret'.\n"
    assert get(registry, "/project/secret/", user="alice").status == 200


def test_redirect_of_a_restricted_name_reveals_nothing_more_than_simple() -> None:
    """A non-normalized spelling of a restricted name redirects; the target then asks for credentials."""
    registry = make_registry(**{"package.secret.user.alice": "r"})
    publish_as_operator(registry, "secret")
    assert get(registry, "/project/Secret/").header("Location") == "/project/secret/"
    assert get(registry, "/project/secret/").status == 401


def test_post_to_a_project_page_is_not_allowed() -> None:
    """Browse pages are GET/HEAD only: POST answers 405 with ``Allow``."""
    registry = make_registry()
    publish(registry, "demo", "1.0")
    response = get(registry, "/project/demo/", method="POST")
    assert response.status == 405
    assert response.header("Allow") == "GET, HEAD"


# -- the project page --------------------------------------------------------------------------


def test_project_page_lists_versions_newest_first_with_file_details() -> None:
    """Versions by PEP 440 order, newest first; each file with size, sha256 and upload time."""
    registry = make_registry()
    uploaded = {}
    for version in ("1.2", "1.10", "1.9"):
        uploaded[version] = publish(registry, "demo", version)
    sdist = publish(registry, "demo", "1.10", sdist=True)
    response = get(registry, "/project/demo/")
    page = parse(response)
    versions = [a["data-version"] for a in page.find("section", **{"class": "release"})]
    assert versions == ["1.10", "1.9", "1.2"]
    body = text(response)
    for data in (*uploaded.values(), sdist):
        assert hashlib.sha256(data).hexdigest() in page.text
        assert f'title="{len(data)} bytes"' in body
        assert human_size(len(data)) in page.text
    assert body.index("demo-1.10.tar.gz") > body.index('data-version="1.10"')
    assert body.index("demo-1.10.tar.gz") < body.index('data-version="1.9"')
    assert len(UPLOAD_TIME.findall(page.text)) == 4
    assert len(page.find("time")) == 4 + 3  # each file, then each release in the history
    assert f"pip install --index-url {ROOT_URL}/simple/ demo" in page.text
    assert f"uv pip install --default-index {ROOT_URL}/simple/ demo" in page.text
    assert "A browsable package" in page.text


def test_yanked_files_are_marked_with_their_reason() -> None:
    """A yanked release shows a yank badge on the release and on its file, and the reason."""
    registry = make_registry()
    publish(registry, "demo", "1.0")
    publish(registry, "demo", "2.0")
    registry.set_yanked(OPERATOR, "demo", "1.0", yanked=True, reason="Broken <build> & bad")  # type: ignore[arg-type]
    response = get(registry, "/project/demo/")
    page = parse(response)
    assert "Broken <build> & bad" in page.text
    assert escape("Broken <build> & bad") in text(response)
    badges = page.find("span", **{"class": "badge yanked"})
    assert len(badges) == 3  # the 1.0 heading, its one file and its history entry; 2.0 none
    body = text(response)
    assert body.index('class="badge yanked"') > body.index('data-version="1.0"')


@pytest.mark.parametrize(
    ("content_type", "description", "present", "tags"),
    [
        ("text/markdown", "# Heading\n\nSome *emphasis* and `code`.\n", "Heading", {"h1", "em", "code"}),
        ("text/markdown; charset=UTF-8; variant=CommonMark", "## Sub\n\n- one\n- two\n", "Sub", {"h2", "li"}),
        ("text/x-rst", "Title\n=====\n\nSome **strong** text.\n", "strong", {"strong"}),
        (None, "Para with ``literal``.\n\n* item\n", "literal", {"ul", "li"}),
        ("text/plain", "line one <b>not bold</b>\nline two\n", "<b>not bold</b>", {"br"}),
    ],
)
def test_description_is_rendered_by_content_type(
    content_type: str | None, description: str, present: str, tags: set[str]
) -> None:
    """Markdown, reStructuredText (also when untyped) and plain text render as PyPI does."""
    registry = make_registry()
    publish(registry, "demo", "1.0", description=description, content_type=content_type)
    page = parse(get(registry, "/project/demo/"))
    assert present in page.text
    inside = page.description_tags
    assert tags <= inside, inside
    if content_type == "text/plain":
        assert "b" not in inside


def _tags_after_title(page: Elements) -> set[str]:
    """Tags after the page's <h1>: the project's content."""
    start = next(i for i, (t, _) in enumerate(page.tags) if t == "h1")
    return {t for t, _ in page.tags[start + 1 :]}


def test_description_comes_from_the_latest_final_release() -> None:
    """The highest non-yanked final release's description is shown, as on PyPI."""
    registry = make_registry()
    publish(registry, "demo", "1.0", description="Old words.", summary="old summary")
    publish(registry, "demo", "2.0", description="Current words.", summary="current summary")
    publish(registry, "demo", "3.0rc1", description="Preview words.", summary="preview summary")
    publish(registry, "demo", "2.5", description="Yanked words.", summary="yanked summary")
    registry.set_yanked(OPERATOR, "demo", "2.5", yanked=True)  # type: ignore[arg-type]
    page = parse(get(registry, "/project/demo/"))
    assert "Current words." in page.text
    assert "current summary" in page.text
    for other in ("Old words.", "Preview words.", "Yanked words.", "old summary", "preview summary"):
        assert other not in page.text


def test_project_without_description_says_so() -> None:
    """No description (or setuptools' UNKNOWN) shows "No description."."""
    registry = make_registry()
    publish(registry, "demo", "1.0", description="UNKNOWN")
    publish(registry, "plain", "1.0")
    for name in ("demo", "plain"):
        page = parse(get(registry, f"/project/{name}/"))
        assert "No description." in page.text
        assert not page.find("div", **{"class": "description"})


HOSTILE_DESCRIPTIONS = [
    ("text/markdown", "Hi <script>alert('md')</script> there"),
    ("text/markdown", '<img src=x onerror="alert(1)"> and <svg onload=alert(2)></svg>'),
    ("text/markdown", '[click](javascript:alert(3)) and <a href="javascript:alert(4)">raw</a>'),
    ("text/markdown", '<iframe src="data:text/html,x"></iframe><style>body{display:none}</style>'),
    ("text/markdown", '<div onclick=alert(5) style="position:fixed">raw html block</div>'),
    ("text/x-rst", ".. raw:: html\n\n   <script>alert('rst')</script>\n\nText.\n"),
    ("text/x-rst", "`click <javascript:alert(6)>`_\n"),
    ("text/plain", "<script>alert('txt')</script>"),
]


@pytest.mark.parametrize(("content_type", "description"), HOSTILE_DESCRIPTIONS)
def test_hostile_descriptions_render_inert(content_type: str, description: str) -> None:
    """Scripts, event handlers, javascript: links and raw HTML in a description never survive."""
    registry = make_registry()
    publish(
        registry,
        "demo",
        "1.0",
        description=description,
        content_type=content_type,
        summary="<script>alert('summary')</script>",
    )
    response = get(registry, "/project/demo/")
    assert response.status == 200
    page = parse(response)
    assert_inert(page)
    assert not {"script", "iframe", "svg"} & _tags_after_title(page)
    for image in page.find("img"):  # nh3 keeps a plain image; CSP limits it to this origin
        assert set(image) <= {"src", "alt", "width", "height", "align"}, image
    assert not page.find("style")[1:]  # only the page's own stylesheet
    assert "<script>alert('summary')</script>" in page.text  # the summary shows as text


def test_archived_project_shows_its_status_and_escaped_reason() -> None:
    """PEP 792: a non-active project says so, with its reason as text."""
    registry = make_registry()
    publish(registry, "demo", "1.0")
    registry.set_status(OPERATOR, "demo", "archived", "Moved to <b>new-demo</b>")  # type: ignore[arg-type]
    page = parse(get(registry, "/project/demo/"))
    assert "This project is archived: Moved to <b>new-demo</b>" in page.text
    assert not page.find("b")


def test_quarantined_project_lists_no_files() -> None:
    """A quarantined project's page says so and offers no file."""
    registry = make_registry()
    publish(registry, "demo", "1.0")
    registry.set_status(OPERATOR, "demo", "quarantined")  # type: ignore[arg-type]
    page = parse(get(registry, "/project/demo/"))
    assert "This project is quarantined" in page.text
    assert "No files." in page.text
    assert not [a for a in page.find("a") if "/files/" in str(a["href"])]


# -- escaping of values no upload can carry ------------------------------------------------------


@attrs.define
class FixedRegistry:
    """Stands in for ``Registry``: one project with given records and no stored metadata."""

    files: ProjectFiles
    settings: Settings = attrs.field(factory=Settings)

    def project_files(self, identity: Identity, project: str) -> ProjectFiles:
        """The fixed files, whoever asks."""
        return self.files

    def read_core_metadata(self, record: FileRecord) -> bytes | None:
        """No metadata is stored."""
        return None


def browse_fixed(records: list[FileRecord]) -> Response:
    """``/project/demo/`` over exactly ``records``."""
    registry = FixedRegistry(ProjectFiles.from_records("demo", records))  # type: ignore[arg-type]
    request = Request("GET", "/project/demo/", root_url=ROOT_URL + '/"><b>x')
    response = project_page(registry, request, {"project": "demo", "slash": "/"})  # type: ignore[arg-type]
    assert isinstance(response, Response)
    return response


@given(records=st.lists(file_records("demo", hostile=True), min_size=1, max_size=6))
def test_hostile_record_fields_only_ever_show_as_text(records: list[FileRecord]) -> None:
    """Filenames, reasons and versions with HTML metacharacters come out as text, never markup."""
    response = browse_fixed(records)
    page = parse(response)
    assert_inert(page)
    assert {t for t, _ in page.tags} <= {
        "html",
        "head",
        "meta",
        "link",
        "title",
        "style",
        "body",
        "header",
        "main",
        "a",
        "h1",
        "h2",
        "h3",
        "p",
        "pre",
        "code",
        "section",
        "table",
        "thead",
        "tbody",
        "tr",
        "th",
        "td",
        "span",
        "time",
        "div",
        "aside",
        "ol",
        "li",
        "dl",
        "dt",
        "dd",
    }
    for record in records:
        assert record.filename in page.text
        assert record.yanked_reason in page.text
    assert len(page.find("tr", **{"class": "file"})) == len(records)


def test_upstream_links_are_followed_only_when_http() -> None:
    """A file's upstream URL becomes a link only for http(s); javascript: stays plain text."""
    base = FileRecord(
        project="demo",
        filename="demo-1.0.tar.gz",
        version="1.0",
        kind="sdist",  # type: ignore[arg-type]
        size=None,
        sha256="-",
        upload_time=None,
        origin="upstream",
    )
    records = [
        attrs.evolve(base, external_url="javascript:alert(1)//demo-1.0.tar.gz"),
        attrs.evolve(
            base,
            filename="demo-1.0-py3-none-any.whl",
            external_url="https://files.test/demo-1.0-py3-none-any.whl",
        ),
    ]
    page = parse(browse_fixed(records))
    assert_inert(page)
    assert page.find("a", href="https://files.test/demo-1.0-py3-none-any.whl")
    assert "demo-1.0.tar.gz" in page.text
    assert "unknown" in page.text  # size, hash and upload time the upstream did not give


@pytest.mark.parametrize(
    "filename", ["demo#1-1.0.tar.gz", "demo%201.0.zip", "demo?x-1.0.tar.gz", "démo-1.0.tar.gz"]
)
def test_file_links_percent_encode_the_filename(filename: str) -> None:
    """A filename with URL metacharacters links to its exact download path, percent-encoded."""
    record = FileRecord(
        project="demo",
        filename=filename,
        version="1.0",
        kind="sdist",  # type: ignore[arg-type]
        size=10,
        sha256="ab" * 32,
        upload_time="2024-01-02T03:04:05.000000Z",
    )
    page = parse(browse_fixed([record]))
    links = [a["href"] for a in page.find("a") if "/files/" in str(a["href"])]
    assert links == [f"/files/demo/{'ab' * 32}/{quote(filename)}"]
    assert filename in page.text
    assert "2024-01-02 03:04:05 UTC" in page.text


# -- pieces ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("size", "shown"),
    [
        (0, "0 B"),
        (1023, "1023 B"),
        (1024, "1.0 KiB"),
        (1536, "1.5 KiB"),
        (10 * 2**20, "10.0 MiB"),
        (2**30 - 1, "1.0 GiB"),
        (3 * 2**30, "3.0 GiB"),
        (5 * 2**50, "5120.0 TiB"),
    ],
)
def test_human_size(size: int, shown: str) -> None:
    """Sizes use binary units with one decimal, bytes below 1 KiB."""
    assert human_size(size) == shown


def test_broken_rst_falls_back_to_plain_text() -> None:
    """reStructuredText that fails to render shows as escaped plain text."""
    source = "Title\n===\n\n.. raw:: html\n\n   <b>raw</b>\n"
    rendered = render_description(source, "text/x-rst")
    assert "&lt;b&gt;raw&lt;/b&gt;" in rendered
    assert "<b>" not in rendered


def test_unknown_markdown_variant_renders_as_gfm() -> None:
    """An unknown ``variant`` parameter renders as GitHub-flavoured Markdown (tables work)."""
    rendered = render_description("| a | b |\n|---|---|\n| 1 | 2 |\n", "text/markdown; variant=Other")
    assert "<table>" in rendered


# -- the sidebar, the 404 page, README images -----------------------------------------------

RICH_FIELDS = (
    ("Home-page", "https://acme.test/home"),
    ("Project-URL", "Documentation, https://docs.acme.test/"),
    ("Project-URL", "Source, https://git.acme.test/acme"),
    ("Project-URL", "Evil, javascript:alert(1)"),
    ("License-Expression", "MIT OR Apache-2.0"),
    ("Requires-Python", ">=3.10"),
    ("Author", "Ada Lovelace"),
    ("Author-email", "Ada Lovelace <ada@acme.test>"),
    ("Maintainer-email", "Grace <grace@acme.test>"),
    ("Classifier", "Programming Language :: Python :: 3"),
    ("Classifier", "Programming Language :: Python :: 3.12"),
    ("Classifier", "Operating System :: OS Independent"),
)


def sidebar_page(registry: Registry) -> Elements:
    """The parsed page of ``rich`` after 1.0, 2.0rc1 and 1.5 (yanked) were published."""
    publish(registry, "rich", "1.0", summary="Old")
    publish(registry, "rich", "2.0rc1", summary="Next")
    publish(registry, "rich", "1.5", summary="Rich things", fields=RICH_FIELDS)
    registry.set_yanked(OPERATOR, "rich", "1.0", yanked=True, reason="bad")  # type: ignore[arg-type]
    response = get(registry, "/project/rich/")
    assert response.status == 200
    return parse(response)


def test_sidebar_shows_links_license_python_and_people_of_the_latest_release() -> None:
    """Homepage and project URLs as nofollow links, a non-http URL as text, SPDX license, people."""
    page = sidebar_page(make_registry())
    links = [
        (a.get("class"), a.get("href"), a.get("rel")) for a in page.find("a") if a.get("rel") == "nofollow"
    ]
    assert links == [
        ("homepage", "https://acme.test/home", "nofollow"),
        ("project-url", "https://docs.acme.test/", "nofollow"),
        ("project-url", "https://git.acme.test/acme", "nofollow"),
    ]
    assert "Evil: javascript:alert(1)" in page.text
    assert_inert(page)
    assert "License MIT OR Apache-2.0" in page.text
    assert "Requires Python >=3.10" in page.text
    assert [a["href"] for a in page.find("a") if (a.get("href") or "").startswith("mailto:")] == [
        "mailto:ada@acme.test",
        "mailto:grace@acme.test",
    ]
    assert "Author Ada Lovelace Maintainer Grace" in page.text


def test_sidebar_groups_classifiers_and_lists_release_history_with_markers() -> None:
    """Classifiers under their first part; every release newest first with date and markers."""
    page = sidebar_page(make_registry())
    assert "Classifiers Programming Language Python :: 3 Python :: 3.12 Operating System OS Independent" in (
        page.text
    )
    history = [a["data-version"] for a in page.find("li") if "data-version" in a]
    assert history == ["2.0rc1", "1.5", "1.0"]
    text = page.text.split("Release history", 1)[1]
    assert re.fullmatch(
        r" 2\.0rc1 \d{4}-\d{2}-\d{2} pre-release 1\.5 \d{4}-\d{2}-\d{2} 1\.0 \d{4}-\d{2}-\d{2} yanked", text
    )
    anchors = [a["href"] for a in page.find("a") if (a.get("href") or "").startswith("#release-")]
    assert anchors == ["#release-2.0rc1", "#release-1.5", "#release-1.0"]
    assert [a["id"] for a in page.find("section", **{"class": "release"})] == [h[1:] for h in anchors]


def test_sidebar_without_metadata_shows_only_the_history() -> None:
    """A release whose metadata has no optional fields gets no empty sidebar sections."""
    registry = make_registry()
    publish(registry, "plain", "1.0", summary=None)
    page = parse(get(registry, "/project/plain/"))
    headings = [t for t in ("Project links", "Meta", "Classifiers", "Release history") if t in page.text]
    assert headings == ["Release history"]


@pytest.mark.parametrize(
    ("fields", "shown"),
    [
        ((("License", "BSD-3-Clause"),), "License BSD-3-Clause"),
        ((("License", "Copyright (c) 2024 ACME\nAll rights reserved."),), "License Copyright (c) 2024 ACME "),
        ((("Classifier", "License :: OSI Approved :: MIT License"),), "License MIT License"),
    ],
)
def test_license_falls_back_to_the_license_field_then_classifiers(
    fields: tuple[tuple[str, str], ...], shown: str
) -> None:
    """Without License-Expression: the License field's first line, else the license classifiers."""
    registry = make_registry()
    publish(registry, "lic", "1.0", fields=tuple((k, v.replace("\n", "\n        ")) for k, v in fields))
    assert shown in parse(get(registry, "/project/lic/")).text + " "


@given(st.text(min_size=1, max_size=60).filter(lambda s: s.strip() and "\n" not in s and "\r" not in s))
def test_hostile_sidebar_metadata_only_ever_shows_as_text(value: str) -> None:
    """Any author, URL label, license or classifier text is escaped: no element comes from it."""
    from packaging.metadata import RawMetadata

    from pyregistry_core.web.browse_sidebar import sidebar

    metadata: RawMetadata = {
        "author": value,
        "license_expression": value,
        "classifiers": [f"{value} :: {value}"],
        "project_urls": {value: value, "x": "https://a.test/" + value},
        "home_page": value,
    }
    page = Elements()
    page.feed(sidebar(metadata, value, []))
    page.close()
    assert {tag for tag, _ in page.tags} <= {
        "aside",
        "section",
        "h2",
        "ul",
        "li",
        "dl",
        "dt",
        "dd",
        "a",
        "span",
        "code",
    }
    assert_inert(page)
    assert value.split(maxsplit=1)[0] in page.text


@pytest.mark.parametrize("path", ["/project/nothing-here/", "/project/-bad-/", "/project/demo/extra"])
def test_missing_pages_are_a_styled_404_with_a_way_back_for_browsers(path: str) -> None:
    """With ``Accept: text/html`` a 404 is an HTML page naming the problem with a link to the list."""
    registry = make_registry()
    publish(registry, "demo", "1.0")
    request = Request(
        "GET",
        path,
        {},
        {"accept": "text/html,application/xhtml+xml,*/*;q=0.8"},
        root_url=ROOT_URL + "/m",
        script_root="/m",
    )
    response = handle(registry, request)
    assert response.status == 404
    assert response.header("Content-Type") == "text/html; charset=utf-8"
    assert response.header("Content-Security-Policy") == CSP
    page = parse(response)
    message = "Project 'nothing-here' not found." if "nothing" in path else "Not found."
    assert f"404 Not found {message}" in page.text
    assert page.find("a", **{"class": "back", "href": "/m/"}) != []
    assert page.find("form", **{"class": "search", "action": "/m/"}) != []


def test_readme_images_from_listed_origins_stay_others_become_links() -> None:
    """An allowed origin keeps its <img> and joins the CSP; other images turn into links or text."""
    readme = (
        "![ok](https://img.allowed.test/badge.svg) "
        "![sub](https://cdn.wild.test/x.png) "
        "![blocked](https://elsewhere.test/a.png) "
        "![relative](docs/logo.png) "
        "[![linked](https://elsewhere.test/b.png)](https://ci.test/)"
    )
    origins = "https://img.allowed.test, https://*.wild.test"
    registry = make_registry(**{"pypi.browse_image_origins": origins})
    publish(registry, "pics", "1.0", description=readme, content_type="text/markdown")
    response = get(registry, "/project/pics/")
    assert response.header("Content-Security-Policy") == f"{CSP} https://img.allowed.test https://*.wild.test"
    page = parse(response)
    assert [i["src"] for i in page.find("img")] == [
        "https://img.allowed.test/badge.svg",
        "https://cdn.wild.test/x.png",
    ]
    assert page.find("a", **{"class": "image-link", "href": "https://elsewhere.test/a.png"}) != []
    assert "[blocked]" in page.text
    assert "[relative]" in page.text
    assert "[linked]" in page.text
    assert page.find("a", href="https://ci.test/") != []


@pytest.mark.parametrize(
    "value", ["img.example.test", "ftp://x.test", "https://x.test/path", "https://a;b.test"]
)
def test_a_bad_image_origin_refuses_to_start(value: str) -> None:
    """``pypi.browse_image_origins`` takes origins only; anything else names the key."""
    from pyregistry_core.errors import ConfigError

    with pytest.raises(ConfigError, match=r"^pypi\.browse_image_origins: .* is not an origin"):
        make_registry(**{"pypi.browse_image_origins": value})
