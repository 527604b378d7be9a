"""Cached pages answered in the content coding the client accepts (``Accept-Encoding``).

Simple pages and ``/pypi/<project>/json`` are kept compressed next to their bytes
(``registry/results.py``'s ``Page``), so a request costs no compression after the first.

Invariants:
1. Every answer says ``Vary: Accept, Accept-Encoding``; each coding has its own strong
   ETag (the page's, suffixed), so no cache hands gzip bytes to a client that asked for none.
2. ``If-None-Match`` naming the ETag of the page in any coding the request accepts is a
   304 carrying that ETag: the client keeps the copy it has. One it does not accept now
   does not count (a cache would answer it with bytes it cannot read).
3. A request refusing every coding on offer, ``identity`` included, is a 406.
"""

from __future__ import annotations

from typing import Literal, overload

from werkzeug.datastructures import ETags
from werkzeug.http import parse_etags

from ..content_coding import IDENTITY, accepts, choose_coding, offered
from ..errors import NotAcceptable
from ..registry.results import Encoded, Page
from .messages import Request, Response

__all__ = ["PAGE_VARY", "page_response"]

PAGE_VARY = "Accept, Accept-Encoding"
_OFFERED = offered()
_UNCOMPRESSED = (IDENTITY,)


@overload
def page_response(
    request: Request, page: Page, content_type: str, *extra: tuple[str, str], compress: Literal[True] = True
) -> Response: ...
@overload
def page_response(
    request: Request, page: Page, content_type: str, *extra: tuple[str, str], compress: bool
) -> Response | None: ...
def page_response(
    request: Request, page: Page, content_type: str, *extra: tuple[str, str], compress: bool = True
) -> Response | None:
    """A 200 or 304 of ``page`` in the coding the request prefers; None when that coding
    is not compressed yet and ``compress`` is False (the fast path never compresses)."""
    accept = request.header("accept-encoding")
    offers = _OFFERED if page.kept else _UNCOMPRESSED  # a page not kept is never compressed
    coding = choose_coding(accept, offers)
    if coding is None:
        raise NotAcceptable(
            "None of the requested content codings is available; this index serves " + ", ".join(offers)
        )
    head = (("Content-Type", content_type), ("Vary", PAGE_VARY))
    revalidated = _revalidated(request.header("if-none-match"), page, accept, coding)
    if revalidated is not None:
        return Response(304, (*head, ("ETag", revalidated), *extra))
    encoded: Encoded | None = page.encoded(coding) if compress else page.encoded_if_ready(coding)
    if encoded is None:
        return None
    coded = (("Content-Encoding", encoded.coding),) if encoded.coding != IDENTITY else ()
    headers = (*head, ("ETag", encoded.etag), *extra, *coded, ("Content-Length", str(len(encoded.body))))
    return Response(200, headers, encoded.body)


def _revalidated(header: str | None, page: Page, accept: str | None, chosen: str) -> str | None:
    """The ETag the client holds a current copy under (in a coding it accepts), if any."""
    if not header:
        return None
    tags: ETags = parse_etags(header)
    if tags.star_tag:
        return page.etag_in(chosen)
    for coding in (chosen, *_OFFERED):
        etag = page.etag_in(coding)
        # RFC 9110 §13.1.2: If-None-Match compares weakly.
        if tags.contains_weak(etag.strip('"')) and (coding == chosen or accepts(accept, coding)):
            return etag
    return None
