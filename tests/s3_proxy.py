"""A loopback HTTP proxy in front of a test S3 server that changes what passes through.

It turns moto into the S3 servers pyregistry meets in the wild without faking the
client side: ``strip_request_headers`` drops headers before they reach the server
(``If-None-Match``: a store that ignores conditional writes), and ``rewrite_412``
replaces the body of every 412 answer (SeaweedFS and Ceph RGW do not name the failed
condition, as AWS and moto do), and ``refuse_presigned`` answers every request signed in
its query string (a presigned URL) with that status, as a store does to an expired or
revoked signature. Requests are forwarded one by one over a fresh
connection, bodies read whole: it serves tests, not load.
"""

from __future__ import annotations

import http.client
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

from s3_server import HOST, Bucket, S3Server

# What SeaweedFS 4.48 answers to a failed If-None-Match: * (no <Condition> element).
SEAWEEDFS_412 = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>PreconditionFailed</Code>'
    b"<Message>At least one of the pre-conditions you specified did not hold</Message>"
    b"<Resource>/bucket/key</Resource></Error>"
)
# A 412 with no body at all: botocore knows only the status (Ceph RGW 16 says "None").
EMPTY_412 = b""


class S3Proxy(S3Server):
    """A proxy on a free loopback port forwarding to ``upstream``; usable as an S3Server."""

    def __init__(
        self,
        upstream: S3Server,
        *,
        strip_request_headers: tuple[str, ...] = (),
        rewrite_412: bytes | None = None,
        refuse_presigned: int | None = None,
    ) -> None:
        self.upstream = upstream
        target = urlsplit(upstream.endpoint_url)
        strip = {h.lower() for h in strip_request_headers}

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _forward(self) -> None:
                if refuse_presigned is not None and "X-Amz-Signature=" in self.path:
                    self.send_response(refuse_presigned)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                headers = {k: v for k, v in self.headers.items() if k.lower() not in strip}
                connection = http.client.HTTPConnection(target.hostname, target.port, timeout=60)
                try:
                    connection.request(self.command, self.path, body=body, headers=headers)
                    response = connection.getresponse()
                    data = response.read()
                    reply_headers = response.getheaders()
                    status = response.status
                finally:
                    connection.close()
                if status == 412 and rewrite_412 is not None:
                    data = rewrite_412
                self.send_response(status)
                for name, value in reply_headers:
                    if name.lower() not in ("content-length", "transfer-encoding", "connection"):
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(data)

            do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _forward

            def log_message(self, format: str, *args: Any) -> None:
                """Quiet: the server behind logs what matters."""

        self._httpd = ThreadingHTTPServer((HOST, 0), Handler)
        self._httpd.daemon_threads = True
        self.port = int(self._httpd.server_address[1])
        self.endpoint_url = f"http://{HOST}:{self.port}"
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop serving (the server behind keeps running)."""
        self._httpd.shutdown()
        self._httpd.server_close()

    def bucket(self, behind: Bucket) -> Bucket:
        """The same bucket, reached through this proxy."""
        return Bucket(self, behind.name, behind.prefix)


@contextmanager
def s3_proxy(upstream: S3Server, **options: Any) -> Iterator[S3Proxy]:
    """An ``S3Proxy`` for the duration of a block."""
    with S3Proxy(upstream, **options) as proxy:
        yield proxy
