"""A page on another site cannot drive a browser's credentials to change the index."""

from __future__ import annotations

import json

import pytest

FOREIGN = "Cross-site request refused: Origin 'http://evil.example' is not this index.\n"
JSON_ONLY = "The management API takes JSON: send Content-Type: application/json.\n"


@pytest.mark.parametrize(
    ("headers", "status", "message"),
    [
        ({"Origin": "http://evil.example"}, 403, FOREIGN),
        ({"Origin": "null"}, 403, "Cross-site request refused: Origin 'null' is not this index.\n"),
        ({"Origin": "http://testserver:8080"}, 403, FOREIGN.replace("evil.example", "testserver:8080")),
        ({"Sec-Fetch-Site": "cross-site"}, 403, "Cross-site request refused (Sec-Fetch-Site: cross-site).\n"),
        ({"Origin": "http://testserver"}, 200, "OK\n"),
        ({"Origin": "https://testserver"}, 200, "OK\n"),  # TLS ended at a proxy in front
        ({"Origin": "http://TestServer:80", "Sec-Fetch-Site": "same-origin"}, 200, "OK\n"),
        ({}, 200, "OK\n"),  # twine and uv send neither header
        # Unreadable authorities: refused as foreign, never a 500.
        (
            {"Origin": "http://[::1"},
            403,
            "Cross-site request refused: Origin 'http://[::1' is not this index.\n",
        ),
        (
            {"Origin": "http://testserver", "Host": "[::1"},
            403,
            "Cross-site request refused: Origin 'http://testserver' is not this index.\n",
        ),
    ],
)
def test_uploads_from_another_origin_are_refused(client, wheel, build, headers, status, message):
    """An upload a browser marks as foreign is 403 and stores nothing; same-origin and clients pass."""
    body, content_type = build.encode_upload(wheel)
    reply = client.request("POST", "/", {"Content-Type": content_type, **headers}, body)
    assert (reply.status, reply.body.decode()) == (status, message)
    assert client.get("/simple/demo/").status == (200 if status == 200 else 404)


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/api/package/demo/1.0/yank"),
        ("POST", "/api/package/demo/status"),
        ("DELETE", "/api/package/demo/1.0"),
    ],
)
def test_management_changes_from_another_origin_are_refused(client, wheel, method, path):
    """Yank, status and delete from another origin are 403 and change nothing."""
    assert client.upload(wheel).status == 200
    reply = client.request(
        method,
        path,
        {"Origin": "http://evil.example", "Content-Type": "application/json"},
        b'{"status": "archived"}' if path.endswith("status") else b"",
    )
    assert (reply.status, reply.body.decode()) == (403, FOREIGN)
    listing = json.loads(client.get("/api/package/demo/?verbose").body)
    assert [f["yanked"] for f in listing["packages"]] == [False]
    assert listing["status"]["status"] == "active"


def test_reads_from_another_origin_are_not_refused(client, wheel):
    """Reading is not a change: a page elsewhere may link to the index."""
    assert client.upload(wheel).status == 200
    assert (
        client.get("/simple/demo/", {"Origin": "http://evil.example", "Sec-Fetch-Site": "cross-site"}).status
        == 200
    )


@pytest.mark.parametrize(
    "content_type",
    [None, "text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x"],
)
@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/api/package/demo/1.0/yank", b'{"reason": "broken"}'),
        ("/api/package/demo/1.0/unyank", b""),
        ("/api/package/demo/status", b'{"status": "archived"}'),
    ],
)
def test_management_posts_take_json_only(client, wheel, content_type, path, body):
    """A management POST that is not declared JSON (what an HTML form sends) is 415 and changes nothing."""
    assert client.upload(wheel).status == 200
    reply = client.request("POST", path, {"Content-Type": content_type}, body)
    assert (reply.status, reply.body.decode()) == (415, JSON_ONLY)
    listing = json.loads(client.get("/api/package/demo/?verbose").body)
    assert [f["yanked"] for f in listing["packages"]] == [False]
    assert listing["status"]["status"] == "active"


def test_management_post_with_json_charset_is_accepted(client, wheel):
    """``application/json; charset=utf-8`` is JSON."""
    assert client.upload(wheel).status == 200
    reply = client.request(
        "POST", "/api/package/demo/1.0/yank", {"Content-Type": "application/json; charset=utf-8"}, b"{}"
    )
    assert reply.status == 200, reply.body
