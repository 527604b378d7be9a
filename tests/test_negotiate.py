"""Content negotiation of Simple pages (``pyregistry_core.negotiate``, DESIGN.md → Negotiation)."""

from __future__ import annotations

import pytest
from hypothesis import example, given
from strategies import PIP_ACCEPT, UV_ACCEPT, accept_headers

from pyregistry_core.errors import NotAcceptable
from pyregistry_core.negotiate import SimpleFormat, select_format

JSON = SimpleFormat.JSON_V1
HTML = SimpleFormat.HTML_V1
TEXT = SimpleFormat.TEXT_HTML
# DESIGN.md: ties go to JSON v1, then (negotiate.py) to the versioned HTML type.
PREFERENCE = (JSON, HTML, TEXT)
NOT_ACCEPTABLE = (
    "None of the requested content types is available; this index serves "
    "application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html, text/html"
)


def rfc_quality(offer: SimpleFormat, items: list[tuple[str, int]]) -> int:
    """The q (in thousandths) RFC 9110 gives ``offer``: the most specific matching range."""
    kind = offer.value.split("/")[0]
    exact = [q for media, q in items if media.lower() == offer.value]
    if exact:
        return max(exact)
    partial = [q for media, q in items if media.lower() == f"{kind}/*"]
    if partial:
        return max(partial)
    return max((q for media, q in items if media == "*/*"), default=0)


@pytest.mark.parametrize("accept", [None, "", "   ", "*/*", "*/*;q=0.5"])
def test_no_accept_or_only_any_gives_text_html(accept: str | None) -> None:
    """No Accept header, or only */*, is served as text/html (as PyPI, for browsers)."""
    assert select_format(accept) is TEXT


@pytest.mark.parametrize("accept", [PIP_ACCEPT, UV_ACCEPT])
def test_pip_and_uv_get_json(accept: str) -> None:
    """The headers pip and uv send select PEP 691 JSON."""
    assert select_format(accept) is JSON


def test_browser_accept_gets_text_html() -> None:
    """A browser's Accept (text/html first, */* at 0.8) gets text/html."""
    browser = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
    assert select_format(browser) is TEXT


@pytest.mark.parametrize(
    "accept",
    [
        "application/vnd.pypi.simple.v1+json, text/html",
        "text/html, application/vnd.pypi.simple.v1+json",
        "application/vnd.pypi.simple.v1+html;q=0.5, application/vnd.pypi.simple.v1+json;q=0.5",
        "application/*",
    ],
)
def test_tie_between_html_and_json_goes_to_json(accept: str) -> None:
    """Equal q for HTML and JSON selects JSON (DESIGN.md, unlike PyPI)."""
    assert select_format(accept) is JSON


def test_tie_between_the_html_types_goes_to_the_versioned_one() -> None:
    """Equal q for text/html and v1+html selects v1+html."""
    assert select_format("text/html, application/vnd.pypi.simple.v1+html") is HTML


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        ("text/html;q=0, */*", JSON),
        ("application/vnd.pypi.simple.v1+json;q=0, text/html", TEXT),
        ("application/vnd.pypi.simple.v1+json;q=0, */*", HTML),
        ("application/vnd.pypi.simple.v1+json;q=0, application/*", HTML),
        ("application/vnd.pypi.simple.v1+json;q=0, application/vnd.pypi.simple.v1+html;q=0, */*", TEXT),
    ],
)
def test_q_zero_excludes_a_type(accept: str, expected: SimpleFormat) -> None:
    """q=0 makes a type unacceptable even when a wildcard would match it."""
    assert select_format(accept) is expected


@pytest.mark.parametrize(
    "accept", ["application/json", "image/png", "*/*;q=0", "text/plain", "text/html;q=0"]
)
def test_nothing_acceptable_raises_not_acceptable(accept: str) -> None:
    """An Accept header none of the three types satisfies raises NotAcceptable (406)."""
    with pytest.raises(NotAcceptable) as info:
        select_format(accept)
    assert info.value.message == NOT_ACCEPTABLE


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        ("application/vnd.pypi.simple.latest+json", JSON),
        ("application/vnd.pypi.simple.latest+html", HTML),
        ("application/vnd.pypi.simple.latest+json;q=0.5, text/html;q=0.4", JSON),
    ],
)
def test_latest_aliases_select_v1(accept: str, expected: SimpleFormat) -> None:
    """The PEP 691 ``latest`` meta-versions are served as the actual v1 type."""
    assert select_format(accept) is expected


@pytest.mark.parametrize(
    ("format_param", "expected"),
    [
        ("application/vnd.pypi.simple.v1+json", JSON),
        ("application/vnd.pypi.simple.v1 json", JSON),  # "+" decoded as a space
        ("application/vnd.pypi.simple.v1 html", HTML),
        ("text/html", TEXT),
        (" Application/Vnd.PyPI.Simple.V1+JSON ", JSON),
        ("application/vnd.pypi.simple.latest json", JSON),
    ],
)
def test_format_parameter_overrides_accept(format_param: str, expected: SimpleFormat) -> None:
    """?format= wins over any Accept header, and a "+" decoded to a space still works."""
    for accept in (None, PIP_ACCEPT, "text/html", "image/png"):
        assert select_format(accept, format_param) is expected


@pytest.mark.parametrize("format_param", ["application/json", "*/*", "text/html;q=1", "html"])
def test_unsupported_format_parameter_raises_not_acceptable(format_param: str) -> None:
    """A ?format= that names no served type is 406, even when Accept would be fine."""
    with pytest.raises(NotAcceptable) as info:
        select_format(PIP_ACCEPT, format_param)
    assert info.value.message == f"Unsupported format {format_param.replace(' ', '+').lower()!r}."


def test_empty_format_parameter_falls_back_to_accept() -> None:
    """An empty ?format= is ignored and Accept decides."""
    assert select_format(PIP_ACCEPT, "") is JSON


def test_media_types_are_case_insensitive() -> None:
    """Accept media types match case-insensitively."""
    assert select_format("Application/VND.PyPI.Simple.V1+JSON") is JSON
    assert select_format("TEXT/HTML") is TEXT


def test_accept_charset_parameter_matching_our_content_type_is_acceptable() -> None:
    """ "Accept: text/html; charset=utf-8" names exactly the type served, so it is not a 406."""
    assert select_format("text/html; charset=utf-8") is TEXT


def test_content_types() -> None:
    """text/html carries a charset; the vendor types are sent as they are named."""
    assert TEXT.content_type == "text/html; charset=utf-8"
    assert JSON.content_type == "application/vnd.pypi.simple.v1+json"
    assert HTML.content_type == "application/vnd.pypi.simple.v1+html"
    assert [f.is_json for f in PREFERENCE] == [True, False, False]


@given(accept_headers())
@example(
    (
        "application/vnd.pypi.simple.v1+json;q=0, */*",
        [
            ("application/vnd.pypi.simple.v1+json", 0),
            ("*/*", 1000),
        ],
    )
)
@example(
    (
        "application/*, application/vnd.pypi.simple.v1+json;q=0.9",
        [
            ("application/*", 1000),
            ("application/vnd.pypi.simple.v1+json", 900),
        ],
    )
)
def test_chosen_format_has_the_maximal_q(header: tuple[str, list[tuple[str, int]]]) -> None:
    """The chosen type has the highest q any offer gets; ties follow JSON > v1+html > text/html."""
    accept, items = header
    qualities = {offer: rfc_quality(offer, items) for offer in PREFERENCE}
    best = max(qualities.values())
    if best == 0:
        with pytest.raises(NotAcceptable):
            select_format(accept)
        return
    chosen = select_format(accept)
    assert qualities[chosen] == best, (chosen, qualities)
    if all(media == "*/*" for media, _ in items):
        assert chosen is TEXT
    else:
        assert chosen is next(o for o in PREFERENCE if qualities[o] == best)
