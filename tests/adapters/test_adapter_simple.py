"""The Simple API through both adapters: formats, negotiation, redirects, caching."""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
import re

import pytest
from passlib.hash import bcrypt

JSON_V1 = "application/vnd.pypi.simple.v1+json"
HTML_V1 = "application/vnd.pypi.simple.v1+html"
PIP_ACCEPT = f"{JSON_V1}, {HTML_V1}; q=0.1, text/html; q=0.01"
NOT_ACCEPTABLE = (
    f"None of the requested content types is available; this index serves {JSON_V1}, {HTML_V1}, text/html\n"
)


@pytest.fixture
def populated(client, wheel, sdist):
    """A client whose registry holds demo 1.0 as a wheel and an sdist."""
    assert client.upload(wheel).status == 200
    assert client.upload(sdist).status == 200
    return client


def test_index_html_lists_projects(populated):
    """/simple/ without Accept is PEP 503 HTML linking each project by relative URL."""
    reply = populated.get("/simple/")
    assert reply.status == 200
    assert reply.headers["Content-Type"] == "text/html; charset=utf-8"
    assert reply.headers["Vary"] == "Accept, Accept-Encoding"
    assert '<meta name="pypi:repository-version" content="1.1">' in reply.body.decode()
    assert '<a href="demo/">demo</a>' in reply.body.decode()


def test_index_json_lists_projects(populated):
    """/simple/ with a JSON Accept is the PEP 691 project list."""
    reply = populated.get("/simple/", {"Accept": JSON_V1})
    assert reply.status == 200
    assert reply.headers["Content-Type"] == JSON_V1
    assert json.loads(reply.body) == {"meta": {"api-version": "1.1"}, "projects": [{"name": "demo"}]}


def test_empty_index_is_a_page(client):
    """An empty registry still answers /simple/ with 200 and an empty list."""
    reply = client.get("/simple/", {"Accept": JSON_V1})
    assert reply.status == 200
    assert json.loads(reply.body)["projects"] == []


def test_project_html_has_hashes_and_metadata(populated, wheel, sdist):
    """The HTML project page links every file with its sha256 and PEP 658/714 attributes."""
    reply = populated.get("/simple/demo/")
    assert reply.status == 200
    assert reply.headers["Content-Type"] == "text/html; charset=utf-8"
    page = reply.body.decode()
    metadata_sha = hashlib.sha256(wheel.metadata).hexdigest()
    assert (
        f'<a href="../../files/demo/{wheel.sha256}/{wheel.filename}#sha256={wheel.sha256}" '
        f'data-requires-python="&gt;=3.8" data-core-metadata="sha256={metadata_sha}" '
        f'data-dist-info-metadata="sha256={metadata_sha}" data-size="{len(wheel.data)}"'
    ) in page
    assert f'href="../../files/demo/{sdist.sha256}/{sdist.filename}#sha256={sdist.sha256}"' in page
    anchors = re.findall(r"<a [^>]*>([^<]*)</a>", page)
    assert sorted(anchors) == sorted([wheel.filename, sdist.filename])


def test_project_json_has_pep700_fields(populated, wheel, sdist):
    """The JSON project page carries hashes, size, upload-time, core-metadata and versions."""
    reply = populated.get("/simple/demo/", {"Accept": PIP_ACCEPT})
    assert reply.status == 200
    assert reply.headers["Content-Type"] == JSON_V1
    document = json.loads(reply.body)
    assert document["meta"] == {"api-version": "1.1"}
    assert document["name"] == "demo"
    assert document["versions"] == ["1.0"]
    files = {f["filename"]: f for f in document["files"]}
    assert set(files) == {wheel.filename, sdist.filename}
    entry = files[wheel.filename]
    assert entry["url"] == f"../../files/demo/{wheel.sha256}/{wheel.filename}"
    assert entry["hashes"] == {"sha256": wheel.sha256}
    assert entry["size"] == len(wheel.data)
    assert entry["requires-python"] == ">=3.8"
    assert entry["yanked"] is False
    assert entry["core-metadata"] == {"sha256": hashlib.sha256(wheel.metadata).hexdigest()}
    assert "dist-info-metadata" not in entry
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,6})?Z", entry["upload-time"])
    assert files[sdist.filename]["core-metadata"] is False


@pytest.mark.parametrize("path", ["/simple/", "/simple/demo/", "/simple/nope/", "/simple/demo/extra"])
@pytest.mark.parametrize("accept", [None, "*/*", PIP_ACCEPT, JSON_V1, "image/png"])
def test_content_type_always_set(populated, path, accept):
    """Every Simple response that has a body, success or error, carries a Content-Type."""
    reply = populated.get(path, {"Accept": accept} if accept else None)
    assert reply.status in (200, 404, 406)
    assert reply.headers.get("Content-Type")


@pytest.mark.parametrize("accept", [None, "*/*", PIP_ACCEPT, JSON_V1, "text/html", "image/png"])
@pytest.mark.parametrize("path", ["/simple/", "/simple/demo/"])
def test_vary_accept_always(populated, path, accept):
    """Simple pages (200 and 406 alike) send Vary: Accept so caches key on Accept."""
    reply = populated.get(path, {"Accept": accept} if accept else None)
    assert reply.status in (200, 406)
    assert "Accept" in [v.strip() for v in reply.headers["Vary"].split(",")]


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        (None, "text/html; charset=utf-8"),
        ("*/*", "text/html; charset=utf-8"),
        (PIP_ACCEPT, JSON_V1),
        (f"{JSON_V1}, {HTML_V1};q=0.2, text/html;q=0.01", JSON_V1),
        (f"{JSON_V1}, text/html", JSON_V1),
        (HTML_V1, HTML_V1),
        ("text/html", "text/html; charset=utf-8"),
        ("application/vnd.pypi.simple.latest+json", JSON_V1),
    ],
)
def test_negotiation(populated, accept, expected):
    """Accept selects the format per DESIGN.md (ties to JSON, no Accept to HTML)."""
    reply = populated.get("/simple/demo/", {"Accept": accept} if accept else None)
    assert reply.status == 200
    assert reply.headers["Content-Type"] == expected


@pytest.mark.parametrize("path", ["/simple/", "/simple/demo/"])
def test_unacceptable_is_406(populated, path):
    """Accept: image/png gets 406 naming the types this index serves."""
    reply = populated.get(path, {"Accept": "image/png"})
    assert reply.status == 406
    assert reply.headers["Content-Type"] == "text/plain; charset=utf-8"
    assert reply.body.decode() == NOT_ACCEPTABLE


@pytest.mark.parametrize(
    "query", ["format=application%2Fvnd.pypi.simple.v1%2Bjson", "format=application/vnd.pypi.simple.v1+json"]
)
def test_format_query_overrides_accept(populated, query):
    """?format= wins over Accept, also with the '+' left unencoded (decoded as a space)."""
    reply = populated.get(f"/simple/demo/?{query}", {"Accept": "text/html"})
    assert reply.status == 200
    assert reply.headers["Content-Type"] == JSON_V1
    assert json.loads(reply.body)["name"] == "demo"


def test_format_query_unknown_is_406(populated):
    """An unsupported ?format= value is 406, not a silent fallback."""
    reply = populated.get("/simple/demo/?format=image/png")
    assert reply.status == 406


@pytest.mark.parametrize(
    ("path", "location"),
    [
        ("/simple/Demo/", "/simple/demo/"),
        ("/simple/DEMO", "/simple/demo/"),
        ("/simple/demo", "/simple/demo/"),
        ("/simple/De_Mo.x/", "/simple/de-mo-x/"),
        ("/simple", "/simple/"),
    ],
)
@pytest.mark.parametrize("prefix", ["", "/pypi-mount"])
def test_redirects_to_normalized_slashed_url(populated, path, location, prefix):
    """Non-normalized names and missing slashes get 301 to the canonical URL under the mount."""
    reply = populated.request("GET", path, prefix=prefix)
    assert reply.status == 301
    assert reply.headers["Location"] == prefix + location
    assert reply.body == b""


def test_redirect_keeps_format_query(populated):
    """A redirect of a ?format= request keeps the format, so the browser gets what it asked."""
    reply = populated.get(f"/simple/Demo/?format={JSON_V1.replace('+', '%2B')}")
    assert reply.status == 301
    assert reply.headers["Location"] == "/simple/demo/?format=application%2Fvnd.pypi.simple.v1%2Bjson"


@pytest.mark.parametrize(
    "path",
    ["/simple/nope/", "/simple/demo/extra", "/simple/demo/extra/", "/simple/-bad-/", "/simple/%2e%2e/"],
)
def test_unknown_project_is_404(populated, path):
    """Unknown, invalid or over-long project paths are 404 (uv falls through to the next index)."""
    reply = populated.get(path)
    assert reply.status == 404
    assert reply.headers["Content-Type"] == "text/plain; charset=utf-8"


def test_unknown_project_message(populated):
    """The 404 for a valid but absent name names the project."""
    reply = populated.get("/simple/nope/")
    assert reply.status == 404
    assert reply.body == b"Project 'nope' not found.\n"


@pytest.mark.parametrize("path", ["/simple/", "/simple/demo/"])
@pytest.mark.parametrize("accept", [None, JSON_V1])
def test_etag_and_304(populated, path, accept):
    """A page's ETag answered in If-None-Match gives 304 with no body and the same validators."""
    headers = {"Accept": accept} if accept else {}
    first = populated.get(path, headers)
    etag = first.headers["ETag"]
    assert re.fullmatch(r'"[0-9a-f]+"', etag)
    second = populated.get(path, {**headers, "If-None-Match": etag})
    assert second.status == 304
    assert second.body == b""
    assert second.headers["ETag"] == etag
    assert second.headers["Vary"] == "Accept, Accept-Encoding"
    assert second.headers["Cache-Control"] == "max-age=0, must-revalidate"
    assert populated.get(path, {**headers, "If-None-Match": '"other", ' + etag}).status == 304
    assert populated.get(path, {**headers, "If-None-Match": "*"}).status == 304
    assert populated.get(path, {**headers, "If-None-Match": '"other"'}).status == 200


@pytest.mark.parametrize("path", ["/simple/demo/", "/pypi/demo/json"])
def test_gzip_through_the_adapter(populated, path):
    """Through each adapter a gzip'd page arrives with its Content-Encoding, length and ETag,
    and decompresses to the page; HEAD has the same headers and no body."""
    plain = populated.get(path)
    zipped = populated.get(path, {"Accept-Encoding": "gzip"})
    assert zipped.status == 200
    assert zipped.headers["Content-Encoding"] == "gzip"
    assert zipped.headers["Vary"] == "Accept, Accept-Encoding"
    assert zipped.headers["ETag"] == plain.headers["ETag"][:-1] + '-gz"'
    assert int(zipped.headers["Content-Length"]) == len(zipped.body)
    assert gzip.decompress(zipped.body) == plain.body
    head = populated.request("HEAD", path, {"Accept-Encoding": "gzip"})
    assert (head.status, head.body) == (200, b"")
    assert head.headers["Content-Encoding"] == "gzip"
    assert head.headers["Content-Length"] == zipped.headers["Content-Length"]


def test_etag_differs_between_formats(populated):
    """HTML and JSON renderings of one page have different ETags (a cache must not mix them)."""
    html = populated.get("/simple/demo/").headers["ETag"]
    data = populated.get("/simple/demo/", {"Accept": JSON_V1}).headers["ETag"]
    assert html != data
    assert populated.get("/simple/demo/", {"Accept": JSON_V1, "If-None-Match": html}).status == 200


def test_etag_changes_after_upload(populated, build):
    """A new upload changes the project page's ETag, so a revalidation gets the new page."""
    before = populated.get("/simple/demo/").headers["ETag"]
    assert populated.upload(build.wheel(version="2.0")).status == 200
    reply = populated.get("/simple/demo/", {"If-None-Match": before})
    assert reply.status == 200
    assert reply.headers["ETag"] != before
    assert "demo-2.0-py3-none-any.whl" in reply.body.decode()


@pytest.mark.parametrize("path", ["/simple/", "/simple/demo/"])
def test_cache_control_default(populated, path):
    """Simple pages default to Cache-Control: max-age=0, must-revalidate."""
    assert populated.get(path).headers["Cache-Control"] == "max-age=0, must-revalidate"


def test_cache_control_from_simple_max_age(make_registry, make_client, wheel):
    """pypi.simple_max_age sets max-age on Simple pages."""
    client = make_client(make_registry(settings={"pypi.simple_max_age": "600"}))
    assert client.upload(wheel).status == 200
    for path in ("/simple/", "/simple/demo/"):
        assert client.get(path).headers["Cache-Control"] == "max-age=600, must-revalidate"


@pytest.fixture(scope="module")
def alice_hash():
    """A config password hash of alice's password "secret" (slow to make, so made once)."""
    from pyregistry_core.auth.authenticator import hash_password

    return hash_password("secret")


def test_cache_control_private_with_credentials(make_registry, make_client, wheel, alice_hash):
    """A request carrying valid credentials gets a private page (shared caches must not keep it)."""
    client = make_client(make_registry(settings={"user.alice": alice_hash}))
    assert client.upload(wheel).status == 200
    credentials = "Basic " + base64.b64encode(b"alice:secret").decode()
    reply = client.get("/simple/demo/", {"Authorization": credentials})
    assert reply.status == 200
    assert reply.headers["Cache-Control"] == "max-age=0, must-revalidate, private"
    assert client.get("/simple/demo/").headers["Cache-Control"] == "max-age=0, must-revalidate"


def test_bad_credentials_are_401(make_registry, make_client, wheel):
    """Where users exist, credentials that authenticate nobody get 401 with a Basic
    challenge, not anonymous content."""
    client = make_client(make_registry(settings={"user.alice": bcrypt.using(rounds=4).hash("pw")}))
    assert client.upload(wheel).status == 200
    reply = client.get("/simple/demo/", {"Authorization": "Basic dXNlcjpwYXNz"})
    assert reply.status == 401
    assert reply.headers["WWW-Authenticate"] == 'Basic realm="pypi"'
    assert reply.body == b"Invalid or non-existent authentication information.\n"


def test_credentials_that_match_nobody_are_401_even_where_nobody_can_log_in(populated):
    """With no users and no tokens (serve's embedded default), credentials that match nobody
    still get 401: the day a user or token is added, nothing changes for a client."""
    reply = populated.get("/simple/demo/", {"Authorization": "Basic dXNlcjpwYXNz"})
    assert reply.status == 401
    assert reply.body == b"Invalid or non-existent authentication information.\n"


def test_empty_username_and_password_are_anonymous(populated):
    """An empty user name and password (`Basic Og==`, what `twine -u '' -p ''` sends) is anonymous."""
    reply = populated.get("/simple/demo/", {"Authorization": "Basic Og=="})
    assert reply.status == 200


def test_head_of_page(populated):
    """HEAD of a Simple page has the GET's headers and no body."""
    get = populated.get("/simple/demo/")
    head = populated.request("HEAD", "/simple/demo/")
    assert head.status == 200
    assert head.body == b""
    assert head.headers["Content-Length"] == str(len(get.body))
    assert head.headers["ETag"] == get.headers["ETag"]


@pytest.mark.parametrize("method", ["PUT", "DELETE", "PATCH"])
def test_other_methods_are_405(populated, method):
    """Methods the index does not serve get 405 with an Allow header."""
    reply = populated.request(method, "/simple/demo/")
    assert reply.status == 405
    assert reply.headers["Allow"] == "GET, HEAD"
    assert reply.body == b"Method not allowed.\n"


def test_health(client):
    """/health answers 200 with a JSON body saying storage is fine."""
    reply = client.get("/health")
    assert reply.status == 200
    assert reply.headers["Content-Type"] == "application/json"
    state = json.loads(reply.body)
    assert (state["status"], state["storage"]) == ("ok", "ok")


def test_home_is_html(client):
    """A GET of the mount point itself is an HTML page (a browser's first stop), not a 404."""
    reply = client.get("/")
    assert reply.status == 200
    assert reply.headers["Content-Type"] == "text/html; charset=utf-8"
    assert reply.body.startswith(b"<!DOCTYPE html>")
