"""``storage.*`` options reach fsspec and s3fs typed: an INI's ``false`` is False, a
number is a number, and a value that is neither is a startup error naming the key."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from s3_server import Bucket

from pyregistry_core import ConfigError, Registry, Settings
from pyregistry_core.storage_options import typed_storage_options


def _ini(path: Path, config: dict[str, str]) -> Path:
    path.write_text("[pyregistry]\n" + "".join(f"{key} = {value}\n" for key, value in config.items()))
    return path


def test_listing_cache_turned_off_from_an_ini_is_off(s3_bucket: Bucket, tmp_path: Path):
    """``storage.use_listings_cache = false`` in an INI file turns s3fs's listing cache
    off (the string "false" is truthy, which turned it on)."""
    config = _ini(
        tmp_path / "pyregistry.ini", s3_bucket.url_config(**{"storage.use_listings_cache": "false"})
    )
    registry = Registry.from_config(config)
    assert registry.storage.fs.dircache.use_listings_cache is False  # type: ignore[attr-defined]


def test_s3_options_are_typed():
    """Booleans and numbers of the pypicloud-style S3 keys arrive typed in the options."""
    settings = Settings.from_mapping(
        {
            "pypi.storage": "s3",
            "storage.bucket": "b",
            "storage.anon": "no",
            "storage.max_concurrency": "4",
            "storage.listings_expiry_time": "2.5",
            "storage.single_writer": "yes",
        }
    )
    options = dict(settings.storage_options)
    assert (options["anon"], options["max_concurrency"], options["listings_expiry_time"]) == (False, 4, 2.5)
    assert options["single_writer"] is True


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        (
            "storage.use_listings_cache",
            "maybe",
            "storage.use_listings_cache = maybe: 'maybe' is not a boolean",
        ),
        (
            "storage.max_concurrency",
            "lots",
            "storage.max_concurrency = lots: invalid literal for int() with base 10: 'lots'",
        ),
    ],
)
def test_a_value_of_the_wrong_type_is_refused(key: str, value: str, message: str):
    """A value that is not of the option's type is a ConfigError naming key and value."""
    with pytest.raises(ConfigError) as error:
        Settings.from_mapping({"storage.url": "s3://bucket/prefix", key: value})
    assert error.value.message == message


@given(st.booleans(), st.integers(min_value=0, max_value=2**20))
def test_typed_values_pass_through(flag: bool, number: int):
    """Values already typed (a mapping config) are kept as they are."""
    typed = typed_storage_options({"anon": flag, "max_paths": number, "other": "x"})
    assert typed == {"anon": flag, "max_paths": number, "other": "x"}
