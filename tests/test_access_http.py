"""Access control over HTTP: every endpoint under every kind of caller (DESIGN.md → Visibility).

Two deployments, each with two stored projects: ``open-pkg`` (no explicit entries: the
defaults apply) and ``secret-pkg`` (explicit entries, written in the config under three
spellings of its name). Callers: anonymous, ``nobody`` (a user without entries),
``reader`` (``r``), ``writer`` (``w`` only: write does not imply read), ``member`` (of
group ``team``, which has ``rw``) and ``admin``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

import pyregistry_asgi
import pytest
from access_helpers import AccessClient, Caller, basic, call_asgi, fast_hash, make_registry, wheel
from werkzeug.test import TestResponse

from pyregistry_core import Identity, Registry

SIMPLE_JSON = "application/vnd.pypi.simple.v1+json"

ANONYMOUS = Caller("anonymous")
NOBODY = Caller("nobody", "nobody", "nobody-pw")
READER = Caller("reader", "reader", "reader-pw")
WRITER = Caller("writer", "writer", "writer-pw")
MEMBER = Caller("member", "member", "member-pw")
ADMIN = Caller("admin", "admin", "admin-pw")
CALLERS = {c.label: c for c in (ANONYMOUS, NOBODY, READER, WRITER, MEMBER, ADMIN)}

DEPLOYMENTS = {
    # Personal publishing server: anyone installs, only logged-in users upload.
    "personal": {"pypi.default_read": "everyone", "pypi.default_write": "authenticated"},
    # Organisation's private registry: nothing readable without credentials.
    "organisation": {"pypi.default_read": "authenticated", "pypi.default_write": "authenticated"},
}
_ACL = {
    **{f"user.{c.user}": fast_hash(c.password) for c in CALLERS.values() if c.user},
    "group.team": "member",
    "auth.admins": "admin",
    "pypi.fallback": "none",
    # One project, three spellings in the config: the entries merge on the normalized name.
    "package.Secret_Pkg.user.reader": "r",
    "package.SECRET.PKG.user.writer": "w",
    "package.secret-pkg.group.team": "rw",
}
OPEN, SECRET = "open-pkg", "secret-pkg"
SECRET_SPELLINGS = ("Secret_Pkg", "secret.pkg", "SECRET-PKG", "sEcReT__pKg")


def may_read(deployment: str, caller: str, project: str) -> bool:
    """The DESIGN.md answer: who may read ``project`` (stored or absent)."""
    if project == SECRET:
        return caller in ("reader", "member", "admin")
    return deployment == "personal" or caller != "anonymous"


def may_write(caller: str, project: str) -> bool:
    """Who may upload to (and, being authenticated, delete from) ``project``."""
    if project == SECRET:
        return caller in ("writer", "member", "admin")
    return caller != "anonymous"


def refused_status(caller: str) -> int:
    """401 for anonymous (pip prompts on 401), 403 for an authenticated caller."""
    return 401 if caller == "anonymous" else 403


@pytest.fixture(params=sorted(DEPLOYMENTS))
def deployment(request: pytest.FixtureRequest) -> str:
    """Which deployment the test runs against."""
    return str(request.param)


@pytest.fixture
def site(deployment: str) -> AccessClient:
    """The deployment's registry behind the WSGI adapter, holding open-pkg and secret-pkg 1.0."""
    client = AccessClient(make_registry({**_ACL, **DEPLOYMENTS[deployment]}))
    for project in (OPEN, SECRET):
        reply = client.upload(wheel(project), ADMIN)
        assert reply.status_code == 200, reply.get_data()
    return client


def _file_url(project: str) -> str:
    dist = wheel(project)
    return f"/files/{project}/{dist.sha256}/{dist.filename}"


READ_ENDPOINTS: dict[str, Callable[[str], tuple[str, dict[str, str]]]] = {
    "simple-html": lambda p: (f"/simple/{p}/", {}),
    "simple-json": lambda p: (f"/simple/{p}/", {"Accept": SIMPLE_JSON}),
    "file": lambda p: (_file_url(p), {}),
    "metadata": lambda p: (_file_url(p) + ".metadata", {}),
    "json-api": lambda p: (f"/pypi/{p}/json", {}),
    "json-api-release": lambda p: (f"/pypi/{p}/1.0/json", {}),
    "api-package": lambda p: (f"/api/package/{p}/", {}),
    "api-download": lambda p: (f"/api/package/{p}/{wheel(p).filename}", {}),
}


def _assert_refused(reply: TestResponse, caller: str, realm: str = "pypi") -> None:
    """The exact refusal DESIGN.md asks for: 401 + Basic challenge, or 403; never content."""
    assert _outcome(reply) == str(refused_status(caller)), (reply.status_code, reply.get_data())
    if reply.status_code == 401:
        assert reply.headers["WWW-Authenticate"] == f'Basic realm="{realm}"'


def _outcome(reply: TestResponse, content: bytes | str | None = None) -> str:
    """The status code as text, with a note when the response breaks a Visibility rule.

    A 401 must carry the Basic challenge; a 401/403 no challenge for 403, no Location
    and no content; a 200 must hold ``content`` (bytes: the whole body, str: a part).
    """
    status = reply.status_code
    notes = []
    if status == 401 and not reply.headers.get("WWW-Authenticate", "").startswith("Basic realm="):
        notes.append("no challenge")
    if status == 403 and "WWW-Authenticate" in reply.headers:
        notes.append("challenge on 403")
    if status in (401, 403) and "Location" in reply.headers:
        notes.append("Location")
    body = reply.get_data()
    if status == 200 and isinstance(content, bytes) and body != content:
        notes.append("wrong content")
    if status == 200 and isinstance(content, str) and content not in body.decode("utf-8", "replace"):
        notes.append(f"{content} missing")
    return f"{status} ({', '.join(notes)})" if notes else str(status)


def _allowed_or_refused(allowed: bool, caller: str, ok: str = "200") -> str:
    return ok if allowed else str(refused_status(caller))


@pytest.fixture(params=sorted(CALLERS))
def caller(request: pytest.FixtureRequest) -> str:
    """Which caller sends the requests."""
    return str(request.param)


def _expected_content(endpoint: str, project: str) -> bytes | str:
    dist = wheel(project)
    if endpoint in ("file", "api-download"):
        return dist.data
    if endpoint == "metadata":
        return f"Metadata-Version: 2.1\nName: {project}\n"
    return dist.filename


def test_read_endpoints(site: AccessClient, deployment: str, caller: str) -> None:
    """Each read endpoint serves exactly the callers the Visibility table allows, and refuses the rest."""
    actual, expected = {}, {}
    for project in (OPEN, SECRET):
        for endpoint, target in READ_ENDPOINTS.items():
            path, headers = target(project)
            reply = site.get(path, CALLERS[caller], headers)
            actual[project, endpoint] = _outcome(reply, _expected_content(endpoint, project))
            expected[project, endpoint] = _allowed_or_refused(may_read(deployment, caller, project), caller)
    assert actual == expected


def test_index_lists_only_readable_projects(site: AccessClient, deployment: str, caller: str) -> None:
    """/simple/ (HTML and JSON) and /api/package/ list exactly the projects the caller may read."""
    readable = sorted(p for p in (OPEN, SECRET) if may_read(deployment, caller, p))
    who = CALLERS[caller]
    replies = {
        "json": site.get("/simple/", who, {"Accept": SIMPLE_JSON}),
        "html": site.get("/simple/", who),
        "api": site.get("/api/package/", who),
    }
    if deployment == "organisation" and caller == "anonymous":
        for reply in replies.values():
            _assert_refused(reply, caller)
        return
    assert {k: r.status_code for k, r in replies.items()} == {"json": 200, "html": 200, "api": 200}
    assert sorted(p["name"] for p in replies["json"].get_json()["projects"]) == readable
    assert sorted(p["name"] for p in replies["api"].get_json()["packages"]) == readable
    html = replies["html"].get_data(as_text=True)
    assert [p for p in (OPEN, SECRET) if f'href="{p}/"' in html] == readable


ABSENT_ENDPOINTS = {
    "simple": "/simple/absent-pkg/",
    "file": "/files/absent-pkg/" + "0" * 64 + "/absent_pkg-1.0-py3-none-any.whl",
    "metadata": "/files/absent-pkg/" + "0" * 64 + "/absent_pkg-1.0-py3-none-any.whl.metadata",
    "json-api": "/pypi/absent-pkg/json",
    "api-package": "/api/package/absent-pkg/",
    "api-download": "/api/package/absent-pkg/absent_pkg-1.0-py3-none-any.whl",
}


def test_absent_name(site: AccessClient, deployment: str, caller: str) -> None:
    """An absent name is 404 only for a caller with the default read (fallback none); else 401."""
    actual = {e: _outcome(site.get(path, CALLERS[caller])) for e, path in ABSENT_ENDPOINTS.items()}
    status = _allowed_or_refused(may_read(deployment, caller, "absent-pkg"), caller, ok="404")
    assert actual == dict.fromkeys(ABSENT_ENDPOINTS, status)


def test_absent_name_without_default_read_is_403() -> None:
    """A user outside pypi.default_read gets 403 for an absent name, a user inside it 404."""
    site = AccessClient(make_registry({**_ACL, "pypi.default_read": "team"}))
    for who, status in ((NOBODY, "403"), (MEMBER, "404"), (ANONYMOUS, "401")):
        actual = {e: _outcome(site.get(path, who)) for e, path in ABSENT_ENDPOINTS.items()}
        assert actual == dict.fromkeys(ABSENT_ENDPOINTS, status), who.label


def test_upload(site: AccessClient, caller: str) -> None:
    """An upload succeeds exactly for callers with write on the project (w needs no r), under any spelling."""
    actual, expected = {}, {}
    uploads = [
        (OPEN, OPEN),
        (SECRET, SECRET),
        ("new-pkg", "new-pkg"),
        *((SECRET, s) for s in SECRET_SPELLINGS),
    ]
    for index, (project, spelling) in enumerate(uploads):
        # The form and the filename both spell the name this way (old wheels spell Foo_Bar).
        dist = wheel(spelling, f"2.{index}", file_name=re.sub(r"[-_.]+", "_", spelling))
        reply = site.upload(dist, CALLERS[caller])
        actual[spelling] = _outcome(reply, "OK")
        expected[spelling] = _allowed_or_refused(may_write(caller, project), caller)
        if reply.status_code == 200:
            listed = site.get(f"/simple/{project}/", ADMIN, {"Accept": SIMPLE_JSON}).get_json()["files"]
            assert dist.filename in [f["filename"] for f in listed]
    assert actual == expected


def test_delete(site: AccessClient, caller: str) -> None:
    """DELETE /api/package/<p>/<file> works for callers with write (any spelling of p), else 401/403."""
    actual, expected = {}, {}
    for index, spelling in enumerate((SECRET, *SECRET_SPELLINGS)):
        dist = wheel(SECRET, f"5.{index}")
        assert site.upload(dist, ADMIN).status_code == 200
        reply = site.delete(f"/api/package/{spelling}/{dist.filename}", CALLERS[caller])
        actual[spelling] = _outcome(reply)
        expected[spelling] = _allowed_or_refused(may_write(caller, SECRET), caller)
        gone = site.get(f"/files/{SECRET}/{dist.sha256}/{dist.filename}", ADMIN).status_code == 404
        assert gone == (reply.status_code == 200)
        if reply.status_code == 200:
            assert reply.get_json() == {"deleted": [dist.filename]}
    assert actual == expected


VARIANT_ENDPOINTS: dict[str, Callable[[str], tuple[str, dict[str, str]]]] = {
    "simple-html": lambda p: (f"/simple/{p}/", {}),
    "simple-json": lambda p: (f"/simple/{p}/", {"Accept": SIMPLE_JSON}),
    "simple-no-slash": lambda p: (f"/simple/{p}", {}),
    "json-api": lambda p: (f"/pypi/{p}/json", {}),
    "json-api-release": lambda p: (f"/pypi/{p}/1.0/json", {}),
    "api-package": lambda p: (f"/api/package/{p}/", {}),
    "api-download": lambda p: (f"/api/package/{p}/{wheel(SECRET).filename}", {}),
}


def test_spelling_variants_stay_restricted(site: AccessClient, deployment: str, caller: str) -> None:
    """Another spelling of secret-pkg meets secret-pkg's rules: refused, or at most a 301 to its own URL."""
    actual, expected = {}, {}
    allowed = may_read(deployment, caller, SECRET)
    for spelling in SECRET_SPELLINGS:
        for endpoint, target in VARIANT_ENDPOINTS.items():
            path, headers = target(spelling)
            reply = site.get(path, CALLERS[caller], headers)
            outcome = _outcome(reply)
            if reply.status_code == 301:
                # PEP 503 allows redirecting to the normalized URL; it must be this server's.
                location = reply.headers["Location"]
                canonical = location.startswith(
                    ("/simple/secret-pkg/", "/pypi/secret-pkg/", "/api/package/secret-pkg/")
                )
                outcome = (
                    "301 -> " + _outcome(site.get(location, CALLERS[caller], headers))
                    if canonical
                    else location
                )
            actual[spelling, endpoint] = outcome.removeprefix("301 -> ")
            expected[spelling, endpoint] = _allowed_or_refused(allowed, caller)
    assert actual == expected


def test_file_url_under_another_spelling_is_not_served(site: AccessClient, caller: str) -> None:
    """A file URL whose project part is not normalized is a 404 for every caller alike, readers included."""
    dist = wheel(SECRET)
    actual = {}
    for spelling in SECRET_SPELLINGS:
        for suffix in ("", ".metadata"):
            reply = site.get(f"/files/{spelling}/{dist.sha256}/{dist.filename}{suffix}", CALLERS[caller])
            actual[spelling, suffix] = _outcome(reply)
    assert actual == dict.fromkeys(actual, "404")


_OTHER_PROJECT_URLS = (
    "/files/open-pkg/{sha}/{filename}",
    "/files/open-pkg/{sha}/{filename}.metadata",
    "/files/open-pkg/-/{filename}",
    "/api/package/open-pkg/{filename}",
    "/api/package/open-pkg/1.0",
)


def test_file_never_reachable_through_another_project(
    site: AccessClient, deployment: str, caller: str
) -> None:
    """secret-pkg's file asked for under open-pkg's URLs is a 404 for everyone who may read open-pkg."""
    secret = wheel(SECRET)
    actual = {}
    for template in _OTHER_PROJECT_URLS:
        reply = site.get(template.format(sha=secret.sha256, filename=secret.filename), CALLERS[caller])
        assert secret.data not in reply.get_data()
        actual[template] = _outcome(reply)
    status = _allowed_or_refused(may_read(deployment, caller, OPEN), caller, ok="404")
    assert actual == dict.fromkeys(_OTHER_PROJECT_URLS, status)


def test_conditional_and_range_requests_never_bypass_the_check(
    site: AccessClient, deployment: str, caller: str
) -> None:
    """A caller who may not read gets 401/403 even with the right ETag or a Range, never 304 or 206."""
    dist = wheel(SECRET)
    page_etag = site.get(f"/simple/{SECRET}/", ADMIN).headers["ETag"]
    metadata_etag = site.get(_file_url(SECRET) + ".metadata", ADMIN).headers["ETag"]
    requests = {
        "page": (f"/simple/{SECRET}/", {"If-None-Match": page_etag}),
        "file": (_file_url(SECRET), {"If-None-Match": f'"{dist.sha256}"'}),
        "metadata": (_file_url(SECRET) + ".metadata", {"If-None-Match": metadata_etag}),
        "range": (_file_url(SECRET), {"Range": "bytes=0-3"}),
        "head": (_file_url(SECRET), {}),
    }
    actual = {}
    for name, (path, headers) in requests.items():
        if name == "head":
            reply = site.head(path, CALLERS[caller])
        else:
            reply = site.get(path, CALLERS[caller], headers)
        actual[name] = reply.status_code
    allowed = may_read(deployment, caller, SECRET)
    expected = {"page": 304, "file": 304, "metadata": 304, "range": 206, "head": 200}
    refused = refused_status(caller)
    assert actual == (expected if allowed else dict.fromkeys(expected, refused))


def test_yank_and_status_need_write(site: AccessClient, caller: str) -> None:
    """Yank, un-yank and status changes through /api/package/ need write on the project (any spelling)."""
    filename = wheel(SECRET).filename
    requests = {
        "yank": (f"/api/package/{SECRET}/{filename}/yank", {"reason": "broken"}),
        "unyank": (f"/api/package/Secret_Pkg/{filename}/unyank", {}),
        "status": ("/api/package/SECRET.PKG/status", {"status": "deprecated", "reason": "use open-pkg"}),
    }
    actual = {
        name: _outcome(site.post_json(path, body, CALLERS[caller])) for name, (path, body) in requests.items()
    }
    status = _allowed_or_refused(may_write(caller, SECRET), caller)
    assert actual == dict.fromkeys(requests, status)


def test_realm_from_config() -> None:
    """The 401 challenge names pypi.realm."""
    site = AccessClient(
        make_registry({**_ACL, "pypi.default_read": "authenticated", "pypi.realm": "ACME packages"})
    )
    _assert_refused(site.get("/simple/"), "anonymous", realm="ACME packages")
    _assert_refused(site.get(f"/simple/{SECRET}/"), "anonymous", realm="ACME packages")


# -- caching headers ------------------------------------------------------------------------

CREDENTIAL_DEPENDENT: dict[str, Callable[[], str]] = {
    "index": lambda: "/simple/",
    "index-json": lambda: "/simple/?format=application/vnd.pypi.simple.v1%2Bjson",
    "project": lambda: f"/simple/{SECRET}/",
    "file": lambda: _file_url(SECRET),
    "metadata": lambda: _file_url(SECRET) + ".metadata",
    "json-api": lambda: f"/pypi/{SECRET}/json",
    "api-list": lambda: "/api/package/",
    "api-package": lambda: f"/api/package/{SECRET}/",
}


def test_credentialed_responses_are_private_and_vary(site: AccessClient) -> None:
    """Every response that depends on credentials carries Vary: Authorization and Cache-Control private."""
    actual = {}
    for endpoint, target in CREDENTIAL_DEPENDENT.items():
        reply = site.get(target(), READER)
        assert reply.status_code == 200, endpoint
        vary = {v.strip().lower() for v in reply.headers.get("Vary", "").split(",")}
        directives = {d.strip() for d in reply.headers.get("Cache-Control", "").split(",")}
        actual[endpoint] = {
            "Vary: Authorization": "authorization" in vary,
            "private": "private" in directives,
        }
    assert actual == {e: {"Vary: Authorization": True, "private": True} for e in CREDENTIAL_DEPENDENT}


@pytest.mark.parametrize("accept", ["text/html", SIMPLE_JSON])
def test_callers_with_different_rights_get_different_index_pages(site: AccessClient, accept: str) -> None:
    """After a reader's /simple/ is cached, a user without rights gets their own page, not the reader's."""
    headers = {"Accept": accept}
    first = site.get("/simple/", READER, headers)
    second = site.get("/simple/", NOBODY, headers)
    again = site.get("/simple/", READER, headers)
    assert SECRET in first.get_data(as_text=True)
    assert SECRET not in second.get_data(as_text=True)
    assert OPEN in second.get_data(as_text=True)
    assert again.get_data() == first.get_data()
    assert first.headers["ETag"] != second.headers["ETag"]
    # The reader's ETag is not a valid validator of the other caller's page.
    revalidated = site.get("/simple/", NOBODY, {**headers, "If-None-Match": first.headers["ETag"]})
    assert revalidated.status_code == 200
    assert SECRET not in revalidated.get_data(as_text=True)


def test_token_narrowed_index_is_not_shared_with_its_user(site: AccessClient) -> None:
    """A token limited to open-pkg sees only open-pkg in /simple/; its user, before and after, sees both."""
    _token, secret = site.registry.tokens.create("reader", [OPEN], "read")
    token = Caller("token", "__token__", secret)
    assert SECRET in site.get("/simple/", READER).get_data(as_text=True)
    narrowed = site.get("/simple/", token).get_data(as_text=True)
    assert OPEN in narrowed
    assert SECRET not in narrowed
    assert SECRET in site.get("/simple/", READER).get_data(as_text=True)


# -- identity from the embedding app ----------------------------------------------------------


def _identify_wsgi(environ: dict[str, Any]) -> Identity | None:
    user = environ.get("HTTP_X_REMOTE_USER")
    if user is None:
        return None
    return Identity(user=user, groups=tuple(environ.get("HTTP_X_REMOTE_GROUPS", "").split()))


def _org_registry() -> Registry:
    return make_registry({**_ACL, **DEPLOYMENTS["organisation"]})


def _seed(registry: Registry) -> None:
    """Store secret-pkg 1.0 (through a plain WSGI app, as the admin)."""
    assert AccessClient(registry).upload(wheel(SECRET), ADMIN).status_code == 200


def test_wsgi_identify_supplies_the_identity() -> None:
    """A WSGI identify callable decides who calls; None falls back to Basic credentials."""
    registry = _org_registry()
    _seed(registry)
    site = AccessClient(registry, identify=_identify_wsgi)
    path = f"/simple/{SECRET}/"
    assert site.get(path, headers={"X-Remote-User": "reader"}).status_code == 200
    # A user the config does not know, in a group it does: the group's entries apply.
    assert site.get(path, headers={"X-Remote-User": "sso-user", "X-Remote-Groups": "team"}).status_code == 200
    _assert_refused(site.get(path, headers={"X-Remote-User": "nobody"}), "nobody")
    _assert_refused(site.get(path), "anonymous")
    assert site.get(path, READER).status_code == 200  # identify said None: Basic applies
    verified = registry.authenticator.verifications
    # An identity from the host app is used as it is: the header is not verified at all.
    reply = site.get(path, headers={"X-Remote-User": "reader", "Authorization": basic("reader", "wrong")})
    assert reply.status_code == 200
    assert registry.authenticator.verifications == verified


def _identify_scope(scope: dict[str, Any]) -> Identity | None:
    headers = dict(scope["headers"])
    user = headers.get(b"x-remote-user")
    if user is None:
        return None
    return Identity(user=user.decode(), groups=tuple(headers.get(b"x-remote-groups", b"").decode().split()))


async def _identify_scope_async(scope: dict[str, Any]) -> Identity | None:
    return _identify_scope(scope)


@pytest.mark.parametrize("identify", [_identify_scope, _identify_scope_async], ids=["sync", "async"])
def test_asgi_identify_supplies_the_identity(identify: Callable[..., Any]) -> None:
    """An ASGI identify callable, plain or async, decides who calls; None falls back to Basic."""
    registry = _org_registry()
    _seed(registry)
    app = pyregistry_asgi.make_app(registry, identify=identify)
    path = f"/simple/{SECRET}/"
    assert call_asgi(app, path, {"X-Remote-User": "reader"}).status == 200
    assert call_asgi(app, path, {"X-Remote-User": "sso-user", "X-Remote-Groups": "team"}).status == 200
    assert call_asgi(app, path, {"X-Remote-User": "nobody"}).status == 403
    anonymous = call_asgi(app, path)
    assert (anonymous.status, anonymous.headers["www-authenticate"]) == (401, 'Basic realm="pypi"')
    assert call_asgi(app, path, READER.headers).status == 200
    index = call_asgi(app, "/simple/", {"X-Remote-User": "nobody", "Accept": SIMPLE_JSON})
    assert [p["name"] for p in json.loads(index.body)["projects"]] == []
