"""Secrets never show: not in a repr of the settings, a log line, or an error message."""

from __future__ import annotations

import logging
import traceback
from pathlib import Path

import pytest
from pyregistry_server.cli import main
from s3_server import Bucket

from pyregistry_core import Registry, Settings
from pyregistry_core.errors import RegistryError
from pyregistry_core.settings import Secret, mask_url, reveal_secrets

SECRET_KEY = "S3CR3T-secret-key-do-not-print"
SESSION_TOKEN = "T0K3N-session-token-do-not-print"
UPSTREAM_TOKEN = "ghp-upstream-token-do-not-print"
PASSWORD_HASH = "$argon2id$v=19$m=65536,t=3,p=4$c2FsdHNhbHQ$do-not-print-hash"
SECRETS = (SECRET_KEY, SESSION_TOKEN, UPSTREAM_TOKEN, PASSWORD_HASH)


def _config(**extra: str) -> dict[str, str]:
    return {
        "storage.url": "s3://no-such-bucket-here/registry",
        "storage.access_key": "testing-access-key",
        "storage.secret_key": SECRET_KEY,
        "storage.session_token": SESSION_TOKEN,
        "storage.region_name": "us-east-1",
        "pypi.fallback": "cache",
        "pypi.fallback_base_url": f"https://{UPSTREAM_TOKEN}@index.example/",
        "user.alice": PASSWORD_HASH,
        **extra,
    }


def _assert_hidden(text: str) -> None:
    for secret in SECRETS:
        assert secret not in text


def test_settings_repr_hides_every_secret():
    """repr and str of Settings show neither S3 credentials, an upstream token, nor a password hash."""
    settings = Settings.from_mapping(_config())
    _assert_hidden(repr(settings))
    _assert_hidden(str(settings))
    assert "Secret('**********')" in repr(settings.storage_options)


def test_secrets_are_revealed_only_for_the_store():
    """The store gets the real values back; the settings keep them wrapped."""
    settings = Settings.from_mapping(_config())
    assert isinstance(settings.storage_options["secret"], Secret)
    options = reveal_secrets(settings.storage_options)
    assert (options["secret"], options["token"], options["key"]) == (
        SECRET_KEY,
        SESSION_TOKEN,
        "testing-access-key",
    )


@pytest.mark.parametrize(
    ("url", "masked"),
    [
        ("https://token@index.example/simple/", "https://***@index.example/simple/"),
        ("https://user:pw@index.example:8443/", "https://user:***@index.example:8443/"),
        ("https://user:@index.example/", "https://user:***@index.example/"),
        ("https://index.example/simple/", "https://index.example/simple/"),
        # URLs urllib cannot read (an upstream's Location, say) are masked all the same.
        ("http://user:pw@[::1/simple/", "http://user:***@[::1/simple/"),
        ("http://token@[x]/", "http://***@[x]/"),
        ("http://[::1/simple/", "http://[::1/simple/"),
    ],
)
def test_mask_url_masks_a_username_given_alone(url, masked):
    """A token passed as the URL's username alone is masked like a password."""
    assert mask_url(url) == masked


def test_failing_s3_startup_leaks_no_secret(s3_bucket: Bucket, tmp_path: Path, caplog, capsys):
    """A registry whose bucket is missing fails to start, and neither the error, its chain,
    nor any pyregistry log line (or ``pyregistry check``'s output) carries a secret."""
    caplog.set_level(logging.INFO)
    caplog.set_level(logging.DEBUG, logger="pyregistry")
    caplog.set_level(logging.DEBUG, logger="pyregistry_core")
    config = _config(**{"storage.endpoint_url": s3_bucket.server.endpoint_url})
    with pytest.raises(RegistryError) as error:
        Registry.from_config(config)
    _assert_hidden(str(error.value))
    _assert_hidden("".join(traceback.format_exception(error.value)))
    _assert_hidden(caplog.text)
    ini = tmp_path / "pyregistry.ini"
    ini.write_text("[pyregistry]\n" + "".join(f"{k} = {v}\n" for k, v in config.items()))
    assert main(["check", "--config", str(ini)]) != 0
    captured = capsys.readouterr()
    _assert_hidden(captured.out + captured.err + caplog.text)
