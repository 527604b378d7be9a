"""The one error table (web/statuses.py): refusals carry their message in the reason phrase
as well as the body, because twine prints only the phrase."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from pyregistry_core.errors import AuthenticationRequired, InvalidUpload, PermissionDenied
from pyregistry_core.web.statuses import error_response

REFUSAL = "The user 'bob' isn't allowed to write on project 'demo'."


def test_a_403_carries_its_message_in_the_reason_phrase() -> None:
    """An authenticated caller refused gets 403 whose reason phrase is the message."""
    response = error_response(PermissionDenied(REFUSAL), "pyregistry")
    assert (response.status, response.reason, response.body) == (403, REFUSAL, (REFUSAL + "\n").encode())


def test_a_401_carries_its_message_and_a_realm_without_quotes() -> None:
    """A 401 has the message as its phrase and a Basic challenge whose realm cannot break out."""
    response = error_response(AuthenticationRequired("Authentication required."), 'my "index"')
    assert (response.status, response.reason) == (401, "Authentication required.")
    assert response.header("WWW-Authenticate") == 'Basic realm="my index"'


def test_a_phrase_is_the_first_line_with_anything_unprintable_replaced() -> None:
    """Only the first line reaches the phrase, and a non-ASCII letter becomes '?'."""
    response = error_response(InvalidUpload("Caf\u00e9 is not a valid name.\nSee the docs."), "pyregistry")
    assert response.reason == "Caf? is not a valid name."


@given(st.text(max_size=600))
def test_every_phrase_is_one_line_of_printable_ascii(message: str) -> None:
    """Whatever a message holds, its reason phrase fits a status line: printable ASCII,
    no line break, at most 400 characters."""
    reason = error_response(PermissionDenied(message), "pyregistry").reason
    assert reason is not None
    assert len(reason) <= 400
    assert all(32 <= ord(c) < 127 for c in reason)
