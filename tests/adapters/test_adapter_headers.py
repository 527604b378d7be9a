"""No request can put CR, LF or a non-latin-1 character into a response header."""

from __future__ import annotations

from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pyregistry_core import Response
from pyregistry_core.web.messages import redirect_response

_NASTY = ["\r\nX-Evil: 1", "\n", "\r", "\x00", "€", "é", " ", "%", "%0D%0A", "a?b", "#", "..", "/"]
_segment = st.one_of(st.sampled_from(_NASTY), st.text(min_size=1, max_size=10))
_TEMPLATES = [
    "/pypi/Demo/{}/json",
    "/pypi/{}/json",
    "/pypi/{}/1.0/json",
    "/simple/{}",
    "/simple/{}/",
    "/simple/Demo/?format={}",
    "/project/{}/",
    "/project/Demo/{}/",
    "/api/package/{}",
    "/api/package/Demo/{}",
    "/files/{}/-/demo-1.0.tar.gz",
]


def _assert_clean_headers(reply_headers: object) -> None:
    for key, value in reply_headers:  # type: ignore[attr-defined]
        assert "\r" not in value, (key, value)
        assert "\n" not in value, (key, value)
        value.encode("latin-1")


@pytest.mark.parametrize("target", ["/pypi/Demo/%0D%0AX-Evil:%201/json", "/pypi/Demo/%E2%82%AC/json"])
def test_redirect_location_is_percent_encoded(client, target):
    """A CR/LF or a euro sign in a redirected path comes back percent-encoded in Location."""
    reply = client.get(target)
    assert reply.status == 301
    location = reply.headers["Location"]
    assert location in ("/pypi/demo/%0D%0AX-Evil%3A%201/json", "/pypi/demo/%E2%82%AC/json")
    _assert_clean_headers(reply.headers)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(template=st.sampled_from(_TEMPLATES), segment=_segment, prefix=st.sampled_from(["", "/mount"]))
def test_arbitrary_segments_never_break_headers(client, template, segment, prefix):
    """Any path segment, on any route, gets a status below 500 and headers without CR, LF or non-latin-1."""
    reply = client.get(template.format(quote(segment, safe="")), prefix=prefix)
    assert reply.status < 500, (reply.status, reply.body[:200])
    _assert_clean_headers(reply.headers)


@pytest.mark.parametrize(
    "header",
    [
        ("Location", "/a\r\nX-Evil: 1"),
        ("Location", "/a\nb"),
        ("X-Name", "€"),
        ("Bad Name", "v"),
        ("X", "a\x00"),
    ],
)
def test_response_refuses_unsafe_headers(header):
    """A response cannot be built with a header that would split or not encode."""
    with pytest.raises(ValueError, match="header"):
        Response(200, (header,))


def test_redirect_response_encodes_what_a_uri_may_not_hold():
    """The one redirect helper percent-encodes spaces, controls and non-ASCII, keeping valid escapes."""
    assert (
        redirect_response(302, "/a b/€/%2F/%zz?x=1#f").header("Location")
        == "/a%20b/%E2%82%AC/%2F/%25zz?x=1#f"
    )
