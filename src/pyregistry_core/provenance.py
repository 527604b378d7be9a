"""PEP 740 provenance objects: their shape, and the binding of each attestation to a file.

A provenance object is ``{"version": 1, "attestation_bundles": [{"publisher": {"kind":
…}, "attestations": [...]}, …]}``; each attestation carries a DSSE envelope whose
``statement`` is a base64 in-toto v1 Statement with exactly one subject.

Rule (the digest binding): an object is accepted for a file only when every
attestation's subject names that file and its sha256. Signatures are NOT verified here
(Sigstore needs a trust root this network cannot fetch), so an accepted object is
evidence the upstream published, never proof of who built the file.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from .errors import ProvenanceRejected

__all__ = [
    "MAX_PROVENANCE_SIZE",
    "ProvenanceRejected",
    "check_attestation",
    "check_provenance",
    "check_upload_attestations",
]

MAX_PROVENANCE_SIZE = 2**20
_MAX_BUNDLES = 64
_MAX_ATTESTATIONS = 64
_STATEMENT_TYPE = "https://in-toto.io/Statement/v1"


def check_provenance(data: bytes, filename: str, sha256: str) -> dict[str, Any]:
    """The parsed object when its shape is PEP 740's and every attestation names
    ``filename`` with ``sha256``; raises ``ProvenanceRejected`` saying why not."""
    if len(data) > MAX_PROVENANCE_SIZE:
        raise ProvenanceRejected("larger than 1 MiB")
    try:
        document = json.loads(data)
    except (ValueError, RecursionError) as exc:
        raise ProvenanceRejected("not JSON") from exc
    if not isinstance(document, dict) or document.get("version") != 1:
        raise ProvenanceRejected("not a version 1 provenance object")
    bundles = document.get("attestation_bundles")
    if not isinstance(bundles, list) or not 0 < len(bundles) <= _MAX_BUNDLES:
        raise ProvenanceRejected("attestation_bundles is not a non-empty list")
    for bundle in bundles:
        publisher = bundle.get("publisher") if isinstance(bundle, dict) else None
        if not isinstance(publisher, dict) or not isinstance(publisher.get("kind"), str):
            raise ProvenanceRejected("a bundle has no publisher kind")
        attestations = bundle.get("attestations")
        if not isinstance(attestations, list) or not 0 < len(attestations) <= _MAX_ATTESTATIONS:
            raise ProvenanceRejected("a bundle has no attestations")
        for attestation in attestations:
            check_attestation(attestation, filename, sha256)
    return document


def check_upload_attestations(text: str, filename: str, sha256: str) -> None:
    """An upload's ``attestations`` form field (twine/uv ``--attestations``): a JSON array
    of one or more attestations, each naming the uploaded file and its sha256."""
    try:
        attestations = json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise ProvenanceRejected("not JSON") from exc
    if not isinstance(attestations, list) or not 0 < len(attestations) <= _MAX_ATTESTATIONS:
        raise ProvenanceRejected("not a non-empty JSON array of attestations")
    for attestation in attestations:
        check_attestation(attestation, filename, sha256)


def check_attestation(attestation: object, filename: str, sha256: str) -> None:
    """One attestation's shape and its statement's single subject (the digest binding)."""
    if not isinstance(attestation, dict) or attestation.get("version") != 1:
        raise ProvenanceRejected("an attestation is not version 1")
    envelope = attestation.get("envelope")
    if not isinstance(envelope, dict) or not isinstance(envelope.get("signature"), str):
        raise ProvenanceRejected("an attestation has no signed envelope")
    if not isinstance(attestation.get("verification_material"), dict):
        raise ProvenanceRejected("an attestation has no verification material")
    statement = _statement(envelope.get("statement"))
    subjects = statement.get("subject")
    if statement.get("_type") != _STATEMENT_TYPE or not isinstance(subjects, list) or len(subjects) != 1:
        raise ProvenanceRejected("a statement is not an in-toto v1 Statement with one subject")
    subject = subjects[0]
    digest = subject.get("digest") if isinstance(subject, dict) else None
    if not isinstance(digest, dict) or digest.get("sha256") != sha256:
        raise ProvenanceRejected("an attestation names another sha256")
    if subject.get("name") != filename:
        raise ProvenanceRejected("an attestation names another file")


def _statement(value: object) -> dict[str, Any]:
    if not isinstance(value, str):
        raise ProvenanceRejected("an envelope has no statement")
    try:
        statement = json.loads(base64.b64decode(value, validate=True))
    except (binascii.Error, ValueError, RecursionError) as exc:
        raise ProvenanceRejected("a statement is not base64 JSON") from exc
    if not isinstance(statement, dict):
        raise ProvenanceRejected("a statement is not a JSON object")
    return statement
