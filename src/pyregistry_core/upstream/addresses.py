"""Which addresses the upstream client may connect to, checked on the address it connects to.

Invariants:
1. A host name is resolved once per connection, and the socket connects to one of the
   addresses that resolution gave and this policy allowed: no second lookup that DNS
   rebinding could answer differently. TLS still verifies (and SNI still names) the host.
2. Only public addresses (``ip.is_global``, which excludes loopback, private, link-local,
   100.64.0.0/10 shared space, reserved and IPv4-mapped forms of those) are allowed,
   except, when the configured upstream is itself internal (a LAN upstream), its own
   host and the addresses it resolved to: a redirect or file URL never reaches
   another internal address.
"""

from __future__ import annotations

import ipaddress
import socket
import threading
from typing import Any

import urllib3
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import ConnectTimeoutError, NameResolutionError, NewConnectionError
from urllib3.util import connection as _connection

__all__ = ["AddressGuard", "AddressRefused", "guarded_pool_manager", "is_public"]

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


def is_public(address: IPAddress) -> bool:
    """Whether ``address`` is a public unicast address (IPv4-mapped forms judged as IPv4)."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_global and not address.is_multicast


class AddressRefused(NewConnectionError):
    """A connection to a non-public address was refused before it was made."""

    def __init__(self, conn: HTTPConnection, host: str) -> None:
        super().__init__(conn, f"{host} resolves to no address this client may connect to")
        self.host = host


class AddressGuard:
    """The policy of one upstream client: public addresses, plus its own host if internal."""

    def __init__(self, upstream_host: str) -> None:
        self._upstream_host = upstream_host.lower()
        self._lock = threading.Lock()
        self._internal_addresses: frozenset[IPAddress] | None = None
        self._upstream_addresses()  # decided at startup when the name resolves then

    def _upstream_addresses(self) -> frozenset[IPAddress]:
        """The internal addresses of the configured upstream (decided once; empty: public)."""
        with self._lock:
            if self._internal_addresses is None:
                try:
                    infos = socket.getaddrinfo(self._upstream_host, None, type=socket.SOCK_STREAM)
                except OSError:
                    return frozenset()  # not yet known: decide on a later connection
                addresses = frozenset(_ip(str(info[4][0])) for info in infos)
                internal = any(not is_public(a) for a in addresses)
                self._internal_addresses = addresses if internal else frozenset()
            return self._internal_addresses

    def allows(self, host: str, address: IPAddress) -> bool:
        """Whether connecting to ``address`` (resolved from ``host``) is allowed."""
        if is_public(address):
            return True
        internal = self._upstream_addresses()
        return bool(internal) and (address in internal or host.lower().strip("[]") == self._upstream_host)

    def connect(self, conn: HTTPConnection) -> socket.socket:
        """Resolve ``conn``'s host once and connect to the first allowed address that answers."""
        host = conn._dns_host
        try:
            infos = socket.getaddrinfo(host, conn.port, type=socket.SOCK_STREAM)
        except socket.gaierror as exc:
            raise NameResolutionError(conn.host, conn, exc) from exc
        allowed = [info for info in infos if self.allows(conn.host, _ip(str(info[4][0])))]
        if not allowed:
            raise AddressRefused(conn, conn.host)
        error: OSError | None = None
        for info in allowed:
            try:
                # An address literal: create_connection looks nothing up again.
                sock = _connection.create_connection(
                    (str(info[4][0]), conn.port),
                    conn.timeout,
                    source_address=conn.source_address,
                    socket_options=conn.socket_options,
                )
            except TimeoutError as exc:
                raise ConnectTimeoutError(conn, f"Connection to {conn.host} timed out.") from exc
            except OSError as exc:
                error = exc
                continue
            if not self.allows(conn.host, _ip(sock.getpeername()[0])):  # belt and braces
                sock.close()
                raise AddressRefused(conn, conn.host)
            return sock
        raise NewConnectionError(conn, f"Failed to establish a new connection: {error}")


def _ip(text: str) -> IPAddress:
    return ipaddress.ip_address(text.split("%", 1)[0])  # drop an IPv6 scope id


def guarded_pool_manager(guard: AddressGuard, **kwargs: Any) -> urllib3.PoolManager:
    """A urllib3 pool manager whose every connection goes through ``guard``."""

    class GuardedHTTPConnection(HTTPConnection):
        def _new_conn(self) -> socket.socket:
            return guard.connect(self)

    class GuardedHTTPSConnection(HTTPSConnection):
        def _new_conn(self) -> socket.socket:
            return guard.connect(self)

    class GuardedHTTPPool(HTTPConnectionPool):
        ConnectionCls = GuardedHTTPConnection

    class GuardedHTTPSPool(HTTPSConnectionPool):
        ConnectionCls = GuardedHTTPSConnection

    manager = urllib3.PoolManager(**kwargs)
    manager.pool_classes_by_scheme = {"http": GuardedHTTPPool, "https": GuardedHTTPSPool}
    return manager
