"""The management API (``/api/package/…``) through each adapter: listings, download,
delete, yank/unyank, PEP 792 status, who may do each, and bad requests.

``tests/test_access_http.py`` already runs every read endpoint and delete/yank/status on
a project with explicit entries under six callers through WSGI; here the same calls go
through both adapters with ``pypi.allow_delete_groups`` narrowed (delete needs that
group *and* write; yank and status need write only), plus the behaviour each endpoint
promises to a caller who may use it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

import pytest
from access_helpers import basic, fast_hash

from pyregistry_core import Registry

# The adapters conftest's types (conftest modules are not importable): a Client drives
# one adapter in-process, a Dist is a distribution built in memory, Builders builds them.
Client = Any
Dist = Any
Builders = Any
RegistryFactory = Callable[..., Registry]

SIMPLE_JSON = "application/vnd.pypi.simple.v1+json"
BURNT = "This filename was previously used by a file that has since been deleted. Use a different version.\n"
NOT_OBJECT = "The request body must be a JSON object.\n"

MakeClient = Callable[[Registry], Client]


def as_json(reply: Any) -> Any:
    """The body parsed as JSON (asserting a JSON content type)."""
    assert reply.headers["Content-Type"].startswith("application/json"), reply.headers
    return json.loads(reply.body)


def post_json(
    client: Client,
    path: str,
    document: object = None,
    *,
    raw: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> Any:
    """POST a JSON body (or ``raw`` bytes) to ``path``."""
    body = raw if raw is not None else (b"" if document is None else json.dumps(document).encode())
    return client.request("POST", path, {"Content-Type": "application/json", **(headers or {})}, body)


def simple_json(client: Client, project: str) -> dict[str, Any]:
    """filename → PEP 691 ``yanked`` of the project's page."""
    reply = client.get(f"/simple/{project}/", {"Accept": SIMPLE_JSON})
    assert reply.status == 200, (reply.status, reply.body)
    return {f["filename"]: f["yanked"] for f in json.loads(reply.body)["files"]}


def simple_html(client: Client, project: str) -> dict[str, str | None]:
    """filename → ``data-yanked`` of its anchor on the HTML page (None: not yanked)."""
    reply = client.get(f"/simple/{project}/", {"Accept": "text/html"})
    assert reply.status == 200, (reply.status, reply.body)
    found: dict[str, str | None] = {}
    for attributes, filename in re.findall(r"<a ([^>]*)>([^<]+)</a>", reply.body.decode()):
        match = re.search(r'data-yanked="([^"]*)"', attributes)
        found[filename] = match.group(1) if match else None
    return found


def publish(client: Client, build: Builders, *dists: Dist, headers: dict[str, str] | None = None) -> None:
    """Upload ``dists`` as twine encodes them (asserting 200)."""
    for dist in dists:
        body, content_type = build.encode_upload(dist)
        reply = client.request("POST", "/", {"Content-Type": content_type, **(headers or {})}, body)
        assert reply.status == 200, (reply.status, reply.body)


@pytest.fixture
def open_client(make_registry: RegistryFactory, make_client: MakeClient) -> Client:
    """A registry where anyone may read, upload and delete."""
    return make_client(make_registry(settings={"pypi.allow_delete_groups": "everyone"}))


@pytest.fixture
def demo(open_client: Client, build: Builders) -> dict[str, Dist]:
    """demo 1.0 (wheel + sdist), 1.1 (wheel), 2.0b1 (wheel) published; keyed by filename."""
    dists = [
        build.wheel("demo", "1.0"),
        build.sdist("demo", "1.0"),
        build.wheel("demo", "1.1"),
        build.wheel("demo", "2.0b1"),
    ]
    publish(open_client, build, *dists)
    return {d.filename: d for d in dists}


# -- listings ---------------------------------------------------------------------------


def test_list_projects_with_stable_unstable_and_last_modified(
    open_client: Client, demo: dict[str, Dist], build: Builders
) -> None:
    """GET /api/package/ gives each project's newest final and newest overall version and last upload time."""
    publish(open_client, build, build.wheel("zeta", "0.1a1"))
    reply = open_client.get("/api/package/")
    assert reply.status == 200
    listed = as_json(reply)["packages"]
    times = {}
    for project in ("demo", "zeta"):
        files = as_json(open_client.get(f"/api/package/{project}/?verbose"))["packages"]
        times[project] = max(f["last_modified"] for f in files)
    assert listed == [
        {"name": "demo", "stable": "1.1", "unstable": "2.0b1", "last_modified": times["demo"]},
        {"name": "zeta", "stable": None, "unstable": "0.1a1", "last_modified": times["zeta"]},
    ]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z", times["demo"])


def test_project_files_and_verbose(open_client: Client, demo: dict[str, Dist]) -> None:
    """GET /api/package/<p>/ lists each file with a working URL; ?verbose adds size, hash, yank, status."""
    plain = as_json(open_client.get("/api/package/demo/"))
    assert list(plain) == ["packages"]
    assert sorted(f["filename"] for f in plain["packages"]) == sorted(demo)
    for entry in plain["packages"]:
        dist = demo[entry["filename"]]
        assert set(entry) == {"name", "filename", "version", "last_modified", "url"}
        assert (entry["name"], entry["version"]) == ("demo", dist.version)
        assert entry["url"] == f"http://testserver{dist.url_path}"
        assert open_client.get(dist.url_path).body == dist.data

    verbose = as_json(open_client.get("/api/package/demo/?verbose"))
    assert verbose["status"] == {"status": "active", "reason": ""}
    for entry in verbose["packages"]:
        dist = demo[entry["filename"]]
        assert (entry["size"], entry["sha256"], entry["packagetype"]) == (
            len(dist.data),
            dist.sha256,
            dist.filetype,
        )
        assert (entry["yanked"], entry["yanked_reason"], entry["origin"]) == (False, None, "upload")
        assert entry["requires_python"] == ">=3.8"


def test_unnormalized_project_name_redirects(
    open_client: Client, demo: dict[str, Dist], build: Builders
) -> None:
    """GET /api/package/<other spelling>/ is a 301 to the normalized URL, under the mount prefix too."""
    publish(open_client, build, build.wheel("Demo_Pkg", "1.0"))
    for prefix in ("", "/registry"):
        reply = open_client.get("/api/package/Demo_Pkg/", prefix=prefix)
        assert (reply.status, reply.headers["Location"]) == (301, f"{prefix}/api/package/demo-pkg/")
    assert open_client.get("/api/package/demo-pkg/").status == 200


def test_download_through_the_api(open_client: Client, demo: dict[str, Dist]) -> None:
    """GET /api/package/<p>/<filename> serves exactly the uploaded bytes; an unknown filename is 404."""
    for filename, dist in demo.items():
        reply = open_client.get(f"/api/package/demo/{filename}")
        assert (reply.status, reply.body) == (200, dist.data)
    missing = open_client.get("/api/package/demo/demo-9.9-py3-none-any.whl")
    assert missing.status == 404


# -- yank and unyank -----------------------------------------------------------------------


def test_yank_and_unyank_a_file_show_at_once(open_client: Client, demo: dict[str, Dist]) -> None:
    """A yank with a reason shows at once on cached Simple pages and the JSON API; unyank undoes it."""
    target = "demo-1.1-py3-none-any.whl"
    assert set(simple_json(open_client, "demo").values()) == {False}  # warm the caches
    assert set(simple_html(open_client, "demo").values()) == {None}

    reply = post_json(open_client, f"/api/package/demo/{target}/yank", {"reason": "broken build"})
    assert (reply.status, as_json(reply)) == (200, {"yanked": [target], "reason": "broken build"})
    expected_json: dict[str, Any] = dict.fromkeys(demo, False)
    expected_json[target] = "broken build"
    assert simple_json(open_client, "demo") == expected_json
    expected_html: dict[str, str | None] = dict.fromkeys(demo)
    expected_html[target] = "broken build"
    assert simple_html(open_client, "demo") == expected_html
    release = as_json(open_client.get("/pypi/demo/1.1/json"))["urls"]
    assert [(u["yanked"], u["yanked_reason"]) for u in release] == [(True, "broken build")]
    assert open_client.get(demo[target].url_path).status == 200  # PEP 592: still downloadable

    reply = post_json(open_client, f"/api/package/demo/{target}/unyank")
    assert (reply.status, as_json(reply)) == (200, {"unyanked": [target], "reason": None})
    assert simple_json(open_client, "demo") == dict.fromkeys(demo, False)
    assert simple_html(open_client, "demo") == dict.fromkeys(demo)


def test_yank_a_release_without_a_reason(open_client: Client, demo: dict[str, Dist]) -> None:
    """Yanking a version with no body yanks its files: JSON ``true``, HTML ``data-yanked=""``."""
    reply = open_client.request("POST", "/api/package/demo/1.0.0/yank", {"Content-Type": "application/json"})
    release = sorted(f for f, d in demo.items() if d.version == "1.0")
    assert reply.status == 200, reply.body
    assert sorted(as_json(reply)["yanked"]) == release
    assert as_json(reply)["reason"] is None
    assert simple_json(open_client, "demo") == {f: f in release for f in demo}
    assert simple_html(open_client, "demo") == {f: "" if f in release else None for f in demo}


# -- delete --------------------------------------------------------------------------------


def test_delete_a_release_and_a_file(open_client: Client, demo: dict[str, Dist], build: Builders) -> None:
    """DELETE of a version removes its files, of a filename one file; the names stay burnt; again is 404."""
    release = sorted(f for f, d in demo.items() if d.version == "1.0")
    reply = open_client.request("DELETE", "/api/package/demo/1.0")
    assert reply.status == 200
    assert sorted(as_json(reply)["deleted"]) == release
    reply = open_client.request("DELETE", "/api/package/demo/demo-1.1-py3-none-any.whl")
    assert (reply.status, as_json(reply)) == (200, {"deleted": ["demo-1.1-py3-none-any.whl"]})
    assert simple_json(open_client, "demo") == {"demo-2.0b1-py3-none-any.whl": False}
    for filename in (*release, "demo-1.1-py3-none-any.whl"):
        dist = demo[filename]
        assert open_client.get(dist.url_path).status == 404
        assert open_client.get(f"/api/package/demo/{filename}").status == 404
        body, content_type = build.encode_upload(dist)
        again = open_client.request("POST", "/", {"Content-Type": content_type}, body)
        assert (again.status, again.body.decode()) == (400, BURNT)
    gone = open_client.request("DELETE", "/api/package/demo/1.0")
    assert (gone.status, gone.body.decode()) == (404, "File '1.0' not found in project 'demo'.\n")


def test_json_api_of_a_project_whose_files_are_all_deleted(
    open_client: Client, demo: dict[str, Dist]
) -> None:
    """Once every file is deleted, /pypi/<p>/json is a 404 (no release to describe), never a 500."""
    for version in ("1.0", "1.1", "2.0b1"):
        assert open_client.request("DELETE", f"/api/package/demo/{version}").status == 200
    reply = open_client.get("/pypi/demo/json")
    assert reply.status == 404, reply.body


# -- status (PEP 792) ------------------------------------------------------------------------


def test_status_archived_then_active(open_client: Client, demo: dict[str, Dist], build: Builders) -> None:
    """POST …/status archived shows on Simple and ?verbose and refuses uploads; active accepts them again."""
    reply = post_json(open_client, "/api/package/Demo/status", {"status": "archived", "reason": "moved"})
    assert (reply.status, as_json(reply)) == (200, {"name": "demo", "status": "archived", "reason": "moved"})
    page = json.loads(open_client.get("/simple/demo/", {"Accept": SIMPLE_JSON}).body)
    assert page["project-status"] == {"status": "archived", "reason": "moved"}
    assert as_json(open_client.get("/api/package/demo/?verbose"))["status"] == {
        "status": "archived",
        "reason": "moved",
    }
    body, content_type = build.encode_upload(build.wheel("demo", "3.0"))
    refused = open_client.request("POST", "/", {"Content-Type": content_type}, body)
    assert (refused.status, refused.body.decode()) == (
        400,
        "Project 'demo' is archived; it accepts no uploads (PEP 792).\n",
    )
    assert open_client.get(demo["demo-1.0.tar.gz"].url_path).status == 200  # archived files stay served

    reply = post_json(open_client, "/api/package/demo/status", {"status": "active"})
    assert (reply.status, as_json(reply)) == (200, {"name": "demo", "status": "active", "reason": ""})
    publish(open_client, build, build.wheel("demo", "3.0"))


def test_status_quarantined_hides_the_project(open_client: Client, demo: dict[str, Dist]) -> None:
    """Quarantine drops the project from /simple/ and /api/package/ and lists none of its files."""
    assert post_json(open_client, "/api/package/demo/status", {"status": "quarantined"}).status == 200
    index = json.loads(open_client.get("/simple/", {"Accept": SIMPLE_JSON}).body)
    assert index["projects"] == []
    assert as_json(open_client.get("/api/package/")) == {"packages": []}
    assert simple_json(open_client, "demo") == {}
    assert as_json(open_client.get("/api/package/demo/")) == {"packages": []}


def test_quarantined_files_are_not_served(open_client: Client, demo: dict[str, Dist]) -> None:
    """PEP 792: no quarantined file is offered: its file, metadata and API download URLs are 404."""
    assert post_json(open_client, "/api/package/demo/status", {"status": "quarantined"}).status == 200
    dist = demo["demo-1.0-py3-none-any.whl"]
    paths = (dist.url_path, dist.url_path + ".metadata", f"/api/package/demo/{dist.filename}")
    statuses = {path: open_client.get(path).status for path in paths}
    assert statuses == dict.fromkeys(paths, 404)


# -- bad requests ----------------------------------------------------------------------------

BAD_BODIES = {
    "truncated": (b'{"reason": "x"', NOT_OBJECT),
    "list": (b'["reason"]', NOT_OBJECT),
    "string": (b'"reason"', NOT_OBJECT),
    "null": (b"null", NOT_OBJECT),
    "not-utf8": (b'{"reason": "\xff\xfe"}', NOT_OBJECT),
    "deeply-nested": (b"[" * 50_000, NOT_OBJECT),
    "nested-value": (b'{"reason": ' + b"[" * 50_000, NOT_OBJECT),
    "too-large": (b'{"reason": "' + b"x" * 70_000 + b'"}', "Request body too large.\n"),
}


@pytest.mark.parametrize("body", sorted(BAD_BODIES))
@pytest.mark.parametrize("endpoint", ["yank", "status"])
def test_bad_json_bodies_are_400(
    open_client: Client, demo: dict[str, Dist], endpoint: str, body: str
) -> None:
    """A yank/status body that is not a small JSON object is a 400 with a message, never a 500."""
    path = "/api/package/demo/1.0/yank" if endpoint == "yank" else "/api/package/demo/status"
    raw, message = BAD_BODIES[body]
    reply = post_json(open_client, path, raw=raw)
    assert (reply.status, reply.body.decode()) == (400, message)
    assert simple_json(open_client, "demo") == dict.fromkeys(demo, False)


@pytest.mark.parametrize("value", ["gone", 5, None, ["archived"], ""])
def test_unknown_status_is_400(open_client: Client, demo: dict[str, Dist], value: object) -> None:
    """A status outside PEP 792's four is a 400 naming the allowed ones."""
    reply = post_json(open_client, "/api/package/demo/status", {"status": value})
    assert reply.status == 400
    assert reply.body.decode().endswith("; use one of active, archived, quarantined, deprecated.\n")
    assert as_json(open_client.get("/api/package/demo/?verbose"))["status"]["status"] == "active"


UNKNOWN_TARGETS = {
    "delete-version": ("DELETE", "/api/package/demo/9.9", 404, "File '9.9' not found in project 'demo'.\n"),
    "yank-version": ("POST", "/api/package/demo/9.9/yank", 404, "File '9.9' not found in project 'demo'.\n"),
    "unyank-file": (
        "POST",
        "/api/package/demo/demo-9.9.tar.gz/unyank",
        404,
        "File 'demo-9.9.tar.gz' not found in project 'demo'.\n",
    ),
    "delete-absent-project": (
        "DELETE",
        "/api/package/absent/1.0",
        404,
        "File '1.0' not found in project 'absent'.\n",
    ),
    "status-absent-project": ("POST", "/api/package/absent/status", 404, "Project 'absent' not found.\n"),
    "list-absent-project": ("GET", "/api/package/absent/", 404, "Project 'absent' not found.\n"),
    "invalid-name": ("GET", "/api/package/-bad-/", 404, "Not found.\n"),
    "other-api": ("GET", "/api/user/", 404, "Not found.\n"),
    "too-deep": ("POST", "/api/package/demo/1.0/yank/now", 404, "Not found.\n"),
    "unknown-action": ("POST", "/api/package/demo/1.0/hide", 404, "Not found.\n"),
}


@pytest.mark.parametrize("case", sorted(UNKNOWN_TARGETS))
def test_unknown_targets_are_404(open_client: Client, demo: dict[str, Dist], case: str) -> None:
    """An unknown project, file, version, action or route is a 404 naming what is missing; nothing changes."""
    method, path, status, message = UNKNOWN_TARGETS[case]
    body = b'{"status": "archived"}' if method == "POST" else b""
    reply = open_client.request(method, path, {"Content-Type": "application/json"}, body)
    assert (reply.status, reply.body.decode()) == (status, message)
    assert simple_json(open_client, "demo") == dict.fromkeys(demo, False)
    assert as_json(open_client.get("/api/package/demo/?verbose"))["status"]["status"] == "active"


WRONG_METHODS = {
    "post-index": ("POST", "/api/package/", {"GET", "HEAD"}),
    "delete-project": ("DELETE", "/api/package/demo/", {"GET", "HEAD"}),
    "post-file": ("POST", "/api/package/demo/demo-1.0.tar.gz", {"GET", "HEAD", "DELETE"}),
    "get-yank": ("GET", "/api/package/demo/1.0/yank", {"POST"}),
    "delete-unyank": ("DELETE", "/api/package/demo/1.0/unyank", {"POST"}),
}


@pytest.mark.parametrize("case", sorted(WRONG_METHODS))
def test_wrong_method_is_405_with_allow(open_client: Client, demo: dict[str, Dist], case: str) -> None:
    """A route asked with a method it lacks is a 405 whose Allow lists the methods it has (RFC 9110)."""
    method, path, allowed = WRONG_METHODS[case]
    reply = open_client.request(method, path)
    allow = reply.headers.get("Allow")
    assert (reply.status, allow is not None) == (405, True), (reply.status, reply.headers)
    assert {m.strip() for m in allow.split(",")} == allowed
    assert simple_json(open_client, "demo") == dict.fromkeys(demo, False)


# -- who may do what --------------------------------------------------------------------------

PASSWORDS = {
    "nobody": "nobody-pw",
    "reader": "reader-pw",
    "writer": "writer-pw",
    "cleaner": "cleaner-pw",
    "admin": "admin-pw",
}
CALLERS = ("anonymous", *PASSWORDS)
ACL = {
    **{f"user.{user}": fast_hash(password) for user, password in PASSWORDS.items()},
    "auth.admins": "admin",
    "group.cleaners": "cleaner",
    # Delete needs this group *and* write on the project.
    "pypi.allow_delete_groups": "cleaners",
    "pypi.default_read": "everyone",
    "pypi.default_write": "authenticated",
    "package.tool.user.reader": "r",
    "package.tool.user.writer": "rw",
    "package.tool.group.cleaners": "rw",
}
# caller → who may (read, write = yank/unyank/status, delete) the project "tool"
RIGHTS = {
    "anonymous": (False, False, False),
    "nobody": (False, False, False),
    "reader": (True, False, False),
    "writer": (True, True, False),
    "cleaner": (True, True, True),
    "admin": (True, True, True),
}


def caller_headers(caller: str) -> dict[str, str]:
    """The Authorization header of ``caller`` (none when anonymous)."""
    return {} if caller == "anonymous" else {"Authorization": basic(caller, PASSWORDS[caller])}


@pytest.fixture
def guarded(make_registry: RegistryFactory, make_client: MakeClient, build: Builders) -> Client:
    """A registry with per-package rights on ``tool`` (1.0 … 1.5 published by the admin)."""
    client = make_client(make_registry(settings=ACL))
    publish(
        client, build, *(build.wheel("tool", f"1.{i}") for i in range(6)), headers=caller_headers("admin")
    )
    return client


@pytest.mark.parametrize("caller", CALLERS)
def test_each_operation_under_each_caller(guarded: Client, caller: str) -> None:
    """Reads need r, yank/status w, delete w and allow_delete_groups; else 401 (anonymous) or 403."""
    auth = caller_headers(caller)
    may_read, may_write, may_delete = RIGHTS[caller]
    refused = 401 if caller == "anonymous" else 403
    wheel = "tool-1.0-py3-none-any.whl"
    requests = {
        "project": ("GET", "/api/package/tool/", None),
        "verbose": ("GET", "/api/package/tool/?verbose", None),
        "download": ("GET", f"/api/package/tool/{wheel}", None),
        "yank": ("POST", "/api/package/tool/1.1/yank", b'{"reason": "r"}'),
        "unyank": ("POST", "/api/package/tool/1.1/unyank", b""),
        "status": ("POST", "/api/package/tool/status", b'{"status": "deprecated"}'),
        "delete-version": ("DELETE", "/api/package/tool/1.2", None),
        "delete-file": ("DELETE", "/api/package/tool/tool-1.3-py3-none-any.whl", None),
    }
    actual, expected = {}, {}
    for name, (method, path, body) in requests.items():
        headers = {**auth, "Content-Type": "application/json"} if body is not None else auth
        reply = guarded.request(method, path, headers, body or b"")
        challenge = reply.headers.get("WWW-Authenticate")
        actual[name] = (reply.status, challenge)
        allowed = may_delete if name.startswith("delete") else may_write if method == "POST" else may_read
        status = 200 if allowed else refused
        expected[name] = (status, 'Basic realm="pypi"' if status == 401 else None)
    assert actual == expected
    # A refused change changed nothing; an allowed one is what the listing shows.
    listing = as_json(guarded.get("/api/package/tool/?verbose", caller_headers("admin")))
    files = {f["filename"]: f["yanked"] for f in listing["packages"]}
    deleted = {"tool-1.2-py3-none-any.whl", "tool-1.3-py3-none-any.whl"} if may_delete else set()
    assert set(files) == {f"tool-1.{i}-py3-none-any.whl" for i in range(6)} - deleted
    assert set(files.values()) == {False}
    assert listing["status"]["status"] == ("deprecated" if may_write else "active")


def test_delete_group_without_write_may_not_delete(
    make_registry: RegistryFactory, make_client: MakeClient, build: Builders
) -> None:
    """A member of allow_delete_groups without write on the project gets 403 on DELETE (delete needs both)."""
    acl = {k: v for k, v in ACL.items() if k != "package.tool.group.cleaners"}
    settings = {**acl, "package.tool.user.cleaner": "rw", "group.cleaners": "cleaner reader"}
    client = make_client(make_registry(settings=settings))
    publish(client, build, build.wheel("tool", "1.0"), headers=caller_headers("admin"))
    reply = client.request("DELETE", "/api/package/tool/1.0", caller_headers("reader"))
    assert (reply.status, reply.body.decode()) == (
        403,
        "The user 'reader' isn't allowed to delete on project 'tool'.\n",
    )
    assert client.get("/api/package/tool/tool-1.0-py3-none-any.whl", caller_headers("reader")).status == 200
