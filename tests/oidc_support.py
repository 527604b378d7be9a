"""A CI platform's identity tokens for tests: signing keys, claims, a local OIDC provider, a CA.

``SigningKey`` makes JWTs as GitHub Actions or GitLab CI would (RS256/ES256 with a
``kid``); ``OidcProvider`` serves its OpenID configuration, JWKS and GitHub's token
endpoint over HTTPS on loopback; ``make_tls`` writes a throw-away CA and a server
certificate for 127.0.0.1/localhost, which clients trust through ``SSL_CERT_FILE``.
"""

from __future__ import annotations

import datetime
import http.server
import ipaddress
import json
import ssl
import threading
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import attrs
import jwt
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

GITHUB = "https://token.actions.githubusercontent.com"
GITLAB = "https://gitlab.com"


class SigningKey:
    """A private key with a ``kid``, publishing its public half as a JWK."""

    def __init__(self, algorithm: str = "ES256", kid: str | None = None) -> None:
        self.algorithm = algorithm
        self.kid = kid or uuid.uuid4().hex[:12]
        self.private: Any = (
            ec.generate_private_key(ec.SECP256R1())
            if algorithm == "ES256"
            else rsa.generate_private_key(public_exponent=65537, key_size=2048)
        )

    def jwk(self) -> dict[str, Any]:
        """The public key as a JWK with ``kid`` and ``alg``."""
        algorithm = jwt.get_algorithm_by_name(self.algorithm)
        document: dict[str, Any] = json.loads(algorithm.to_jwk(self.private.public_key()))
        return {**document, "kid": self.kid, "alg": self.algorithm, "use": "sig"}

    def sign(self, claims: Mapping[str, Any], headers: Mapping[str, Any] | None = None) -> str:
        """A JWT of ``claims`` signed with this key."""
        return jwt.encode(
            dict(claims), self.private, algorithm=self.algorithm, headers={"kid": self.kid, **(headers or {})}
        )


def jwks(*keys: SigningKey) -> dict[str, Any]:
    """A JWKS document of the keys' public halves."""
    return {"keys": [key.jwk() for key in keys]}


def github_claims(
    now: float,
    audience: str,
    *,
    repository: str = "acme/tool",
    workflow: str = "release.yml",
    environment: str | None = "pypi",
    issuer: str = GITHUB,
    lifetime: float = 300,
    ref: str = "refs/tags/v1.0",
) -> dict[str, Any]:
    """The claims GitHub Actions puts in a job's identity token."""
    claims: dict[str, Any] = {
        "iss": issuer,
        "aud": audience,
        "iat": int(now),
        "nbf": int(now),
        "exp": int(now + lifetime),
        "jti": uuid.uuid4().hex,
        "sub": f"repo:{repository}:environment:{environment}"
        if environment
        else f"repo:{repository}:ref:{ref}",
        "repository": repository,
        "repository_owner": repository.split("/", maxsplit=1)[0],
        "repository_owner_id": "4242",
        "repository_id": "777",
        "job_workflow_ref": f"{repository}/.github/workflows/{workflow}@{ref}",
        "workflow_ref": f"{repository}/.github/workflows/{workflow}@{ref}",
        "ref": ref,
        "sha": "0123456789abcdef0123456789abcdef01234567",
        "runner_environment": "github-hosted",
    }
    if environment:
        claims["environment"] = environment
    return claims


def gitlab_claims(
    now: float,
    audience: str,
    *,
    project: str = "group/sub/proj",
    ci_config: str = ".gitlab-ci.yml",
    environment: str | None = "production",
    issuer: str = GITLAB,
    ref: str = "refs/tags/v1.0",
) -> dict[str, Any]:
    """The claims GitLab CI puts in a job's ``id_tokens`` token."""
    host = urlsplit(issuer).netloc
    claims: dict[str, Any] = {
        "iss": issuer,
        "aud": audience,
        "iat": int(now),
        "nbf": int(now),
        "exp": int(now + 300),
        "jti": uuid.uuid4().hex,
        "sub": f"project_path:{project}:ref_type:tag:ref:v1.0",
        "project_path": project,
        "namespace_path": project.rsplit("/", 1)[0],
        "namespace_id": "11",
        "project_id": "22",
        "ci_config_ref_uri": f"{host}/{project}//{ci_config}@{ref}",
        "ref": ref,
        "ref_path": ref,
        "sha": "0123456789abcdef0123456789abcdef01234567",
    }
    if environment:
        claims["environment"] = environment
    return claims


@attrs.frozen
class Tls:
    """Paths of a throw-away CA and a loopback server certificate."""

    ca: Path
    cert: Path
    key: Path

    def server_context(self) -> ssl.SSLContext:
        """An SSL context serving the certificate."""
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.cert, self.key)
        return context


def make_tls(directory: Path) -> Tls:
    """A new CA and a certificate it signs for 127.0.0.1 and localhost."""
    now = datetime.datetime.now(datetime.timezone.utc)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "pyregistry test CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=2))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=2))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    tls = Tls(directory / "ca.pem", directory / "server.pem", directory / "server-key.pem")
    tls.ca.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    tls.cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    tls.key.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return tls


class OidcProvider:
    """A CI platform's OIDC side on loopback over HTTPS: discovery, JWKS, and GitHub's
    token endpoint (``GET /token?audience=…`` with ``Authorization: bearer <request token>``)."""

    REQUEST_TOKEN = "ci-request-token"

    def __init__(self, tls: Tls, key: SigningKey) -> None:
        self.key = key
        self.claims: dict[str, Any] = {}  # what the next token says, bar aud/iat/exp/jti
        self.issued: list[str] = []
        provider = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *_args: Any) -> None:
                pass

            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                if parts.path == "/.well-known/openid-configuration":
                    self._json({"issuer": provider.url, "jwks_uri": f"{provider.url}/.well-known/jwks"})
                elif parts.path == "/.well-known/jwks":
                    self._json(jwks(provider.key))
                elif parts.path == "/token":
                    if self.headers.get("Authorization", "").lower() != f"bearer {provider.REQUEST_TOKEN}":
                        self._json({"message": "bad request token"}, 401)
                        return
                    audience = parse_qs(parts.query).get("audience", [""])[0]
                    self._json({"value": provider.token(audience)})
                else:
                    self._json({"message": "not found"}, 404)

            def _json(self, document: object, status: int = 200) -> None:
                body = json.dumps(document).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.socket = tls.server_context().wrap_socket(self._server.socket, server_side=True)
        self.url = f"https://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def token(self, audience: str) -> str:
        """A fresh signed token for ``audience`` with the current claims."""
        import time

        now = time.time()
        claims = {
            **self.claims,
            "iss": self.url,
            "aud": audience,
            "iat": int(now),
            "nbf": int(now),
            "exp": int(now + 300),
            "jti": uuid.uuid4().hex,
        }
        token = self.key.sign(claims)
        self.issued.append(token)
        return token

    @contextmanager
    def running(self) -> Iterator[OidcProvider]:
        """Serve until the block ends."""
        self._thread.start()
        try:
            yield self
        finally:
            self._server.shutdown()
            self._server.server_close()
