"""No client input makes the server fail: random requests never get a 5xx."""

from __future__ import annotations

import base64
import json
import string
from urllib.parse import quote

from access_helpers import basic, fast_hash
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from strategies import accept_headers, project_names

_HEADER_CHARS = string.printable.replace("\r", "").replace("\n", "").replace("\x0b", "").replace("\x0c", "")
_header_text = st.text(alphabet=_HEADER_CHARS, max_size=40)

ROOT_HASH = fast_hash("root-pw")
ROOT = {"Authorization": basic("root", "root-pw")}

_METHODS = st.sampled_from(["GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "PATCH", "get", "FOO"])


def _segments(sha: str, filename: str) -> st.SearchStrategy[str]:
    known = st.sampled_from(
        [
            "simple",
            "files",
            "pypi",
            "json",
            "legacy",
            "health",
            "demo",
            "Demo",
            "other",
            "",
            ".",
            "..",
            "%2e%2e",
            "..%2F..%2F",
            "%00",
            "%ff%fe",
            "%2F",
            "%5C",
            "%",
            "%zz",
            "%25",
            sha,
            sha.upper(),
            filename,
            filename + ".metadata",
            "demo-1.0.tar.gz",
            "1.0",
            "9.9",
            "%E2%80%AE",
            "\u00e9",
            ";",
            "?format=",
            "#frag",
        ]
    )
    text = st.text(max_size=12).map(lambda t: quote(t, safe=""))
    return st.one_of(known, known, project_names(max_size=12), text)


@st.composite
def _targets(draw: st.DrawFn, sha: str, filename: str) -> str:
    segments = draw(st.lists(_segments(sha, filename), max_size=6))
    path = "/" + "/".join(segments)
    if draw(st.booleans()):
        path += "/"
    query = draw(
        st.one_of(
            st.just(""),
            st.sampled_from(
                [
                    "format=application/vnd.pypi.simple.v1+json",
                    "format=text/html",
                    "format=image/png",
                    "format=",
                    ":action=file_upload",
                    "a=%zz&a=1",
                ]
            ),
            st.text(max_size=20).map(lambda t: quote(t, safe="=&")),
        )
    )
    return f"{path}?{query}" if query else path


_RANGES = st.one_of(
    st.sampled_from(
        [
            "bytes=0-1",
            "bytes=-5",
            "bytes=5-",
            "bytes=5-2",
            "bytes=0-0,2-3",
            "bytes=,",
            "bytes=99999999999999999999-",
            "bytes=-0",
            "items=0-1",
            "bytes",
        ]
    ),
    _header_text,
)


@st.composite
def _headers(draw: st.DrawFn) -> dict[str, str]:
    headers: dict[str, str] = {}
    if draw(st.booleans()):
        headers["Accept"] = draw(st.one_of(accept_headers().map(lambda pair: pair[0]), _header_text))
    if draw(st.booleans()):
        headers["Range"] = draw(_RANGES)
    if draw(st.booleans()):
        headers["If-None-Match"] = draw(st.one_of(st.sampled_from(["*", '"x"', 'W/"x"', ""]), _header_text))
    if draw(st.booleans()):
        headers["If-Range"] = draw(_header_text)
    if draw(st.booleans()):
        # Fixed credentials: each unknown user costs one slow password hash (then cached).
        headers["Authorization"] = draw(
            st.one_of(
                st.sampled_from(
                    ["Basic", "Basic !!!", "Bearer abc", "Basic " + base64.b64encode(b"\xff:\xfe").decode()]
                ),
                _header_text,
            )
        )
    if draw(st.booleans()):
        headers["Accept-Encoding"] = draw(
            st.one_of(
                st.sampled_from(
                    [
                        "gzip;q=nan",
                        "gzip;q=1e999",
                        "*;q=-1",
                        "zstd, gzip;q=0",
                        "identity;q=0",
                        "gzip;q=0.5x",
                        ",",
                    ]
                ),
                _header_text,
            )
        )
    if draw(st.booleans()):
        headers["Content-Length"] = draw(
            st.one_of(
                st.sampled_from(["-1", "1e3", "0x10", " 5", "99999999999999999999999", ""]), _header_text
            )
        )
    if draw(st.booleans()):
        headers["Origin"] = draw(
            st.one_of(st.sampled_from(["null", "http://evil.example", "%", ""]), _header_text)
        )
    if draw(st.booleans()):
        headers["Sec-Fetch-Site"] = draw(
            st.one_of(st.sampled_from(["cross-site", "same-origin", "none"]), _header_text)
        )
    if draw(st.booleans()):
        headers["Host"] = draw(
            st.one_of(st.sampled_from(["", "a b", "%0d%0a", "[::1", "h:99999", "\u00e9"]), _header_text)
        )
    if draw(st.booleans()):
        headers["If-Modified-Since"] = draw(st.one_of(st.just("Sun, 06 Nov 1994 08:49:37 GMT"), _header_text))
    if draw(st.booleans()):
        headers["Content-Type"] = draw(
            st.one_of(
                st.sampled_from(
                    [
                        "multipart/form-data",
                        "multipart/form-data; boundary=",
                        "multipart/form-data; boundary=x",
                        'multipart/form-data; boundary="a b"',
                        "application/json",
                        "text/plain; charset=utf-8",
                    ]
                ),
                _header_text,
            )
        )
    return headers


@st.composite
def _bodies(draw: st.DrawFn, upload: bytes) -> bytes:
    kind = draw(st.sampled_from(["empty", "random", "mutated", "truncated"]))
    if kind == "empty":
        return b""
    if kind == "random":
        return draw(st.binary(max_size=300))
    if kind == "truncated":
        return upload[: draw(st.integers(0, len(upload)))]
    data = bytearray(upload)
    for _ in range(draw(st.integers(1, 4))):
        data[draw(st.integers(0, len(data) - 1))] = draw(st.integers(0, 255))
    return bytes(data)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_random_requests_never_fail(client, wheel, build, data):
    """Random paths, methods, headers and bodies get a status below 500 and a Content-Type with any body."""
    if data.draw(st.booleans(), label="stocked") and client.get("/simple/demo/").status == 404:
        assert client.upload(wheel).status == 200
    upload, content_type = build.encode_upload(wheel)
    method = data.draw(_METHODS, label="method")
    target = data.draw(_targets(wheel.sha256, wheel.filename), label="target")
    headers = data.draw(_headers(), label="headers")
    body = b""
    if method.upper() == "POST":
        body = data.draw(_bodies(upload), label="body")
        if data.draw(st.booleans(), label="twine content type"):
            headers["Content-Type"] = content_type
    prefix = data.draw(st.sampled_from(["", "/mount"]), label="prefix")
    reply = client.request(method, target, headers, body, prefix=prefix)
    assert reply.status < 500, (reply.status, reply.body[:300])
    if reply.body:
        assert reply.headers.get("Content-Type"), reply


_JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=12,
)
_FIELDS = st.sampled_from(
    [
        "reason",
        "status",
        "filename",
        "version",
        "issuer",
        "repository",
        "workflow",
        "environment",
        "token",
        "x",
    ]
)
_DOCUMENTS = st.one_of(
    st.dictionaries(_FIELDS, _JSON_VALUES, max_size=5).map(lambda d: json.dumps(d).encode()),
    _JSON_VALUES.map(lambda v: json.dumps(v).encode()),
    st.sampled_from([b"", b"{", b'{"reason": "\\ud800"}', b"[" * 5000, b'{"status": 1e999}', b"\xff\xfe"]),
    st.binary(max_size=200),
)
_ADMIN_PATHS = st.sampled_from(
    [
        "/api/package/{p}/status",
        "/api/package/{p}/{t}/yank",
        "/api/package/{p}/{t}/unyank",
        "/api/package/{p}/{t}/exempt",
        "/api/package/{p}/{t}/unexempt",
        "/api/package/{p}/exemptions",
        "/api/package/{p}/{t}",
        "/api/package/{p}/",
        "/api/publisher/",
        "/api/publisher/{t}",
        "/_/oidc/mint-token",
        "/_/oidc/burn-token",
        "/pypi/{p}/{t}/json",
        "/files/{p}/{t}/{t}.provenance",
    ]
)
_NAMES = st.one_of(
    st.sampled_from(["demo", "Demo", "other", "%2e%2e", "%00", "a" * 300, "demo-1.0-py3-none-any.whl"]),
    st.text(max_size=12).map(lambda t: quote(t, safe="")),
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_random_admin_requests_never_fail(make_registry, make_client, build, data):
    """An admin's requests to every management, exemption, publisher and OIDC route, with any
    JSON (or not) body and any names, get a status below 500."""
    registry = make_registry(
        settings={"user.root": ROOT_HASH, "auth.admins": "root", "pypi.allow_delete_groups": "everyone"}
    )
    client = make_client(registry)
    if data.draw(st.booleans(), label="stocked"):
        body, content_type = build.encode_upload(build.wheel("demo", "1.0"))
        assert client.request("POST", "/", {"Content-Type": content_type, **ROOT}, body).status == 200
    template = data.draw(_ADMIN_PATHS, label="path")
    path = template.format(p=data.draw(_NAMES, label="project"), t=data.draw(_NAMES, label="target"))
    method = data.draw(st.sampled_from(["POST", "DELETE", "GET", "PUT"]), label="method")
    headers = {
        "Content-Type": data.draw(
            st.sampled_from(["application/json", "application/json; charset=latin-1", "text/plain"])
        ),
        **ROOT,
    }
    body = data.draw(_DOCUMENTS, label="body") if method == "POST" else b""
    reply = client.request(method, path, headers, body)
    assert reply.status < 500, (reply.status, reply.body[:300])
