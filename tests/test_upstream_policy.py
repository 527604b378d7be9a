"""The supply-chain policy at the proxy: release cooldown (failing closed), exemptions,
allow and deny lists — as pure functions, and through a cache-mode registry with an
injected clock and a real local upstream index."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path

import pytest
from cache_mode import START, FakeClock
from hypothesis import given
from hypothesis import strategies as st
from test_mirror import (  # fixtures and helpers of the mirrored-project suite
    RegistryFactory,
    get,
    listed,
    make_registry,
)
from upstream_app import JSON_TYPE, UpstreamIndex

from pyregistry_core import ConfigError, Registry, Settings
from pyregistry_core.records import FileRecord
from pyregistry_core.upstream_policy import (
    NamePatterns,
    UpstreamPolicy,
    format_duration,
    parse_duration,
    parse_upload_time,
)

__all__ = ["make_registry"]  # a fixture used by name below

DAY = 86400.0


def _ago(seconds: float) -> str:
    """A PEP 700 upload-time ``seconds`` before the registries' clock starts."""
    moment = datetime.fromtimestamp(START - seconds, tz=timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _record(filename: str, upload_time: str | None) -> FileRecord:
    return FileRecord(
        project="demo",  # type: ignore[arg-type]
        filename=filename,
        version=filename.split("-")[1],
        kind="bdist_wheel",
        size=1,
        sha256="0" * 64,
        upload_time=upload_time,
    )


# -- pure functions -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("7d", 604800.0), ("72h", 259200.0), ("3600", 3600.0), ("90m", 5400.0), ("2w", 1209600.0), ("0", 0.0)],
)
def test_durations_parse_in_every_documented_unit(text: str, seconds: float) -> None:
    """``pypi.upstream_min_age`` takes seconds, minutes, hours, days and weeks."""
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["7 days", "-3d", "d", "1y", ""])
def test_a_bad_duration_is_a_config_error_naming_the_value(text: str) -> None:
    """A value that is not a duration refuses to start instead of turning the cooldown off."""
    with pytest.raises(ConfigError) as caught:
        Settings.from_mapping({"pypi.upstream_min_age": text})
    assert repr(text) in caught.value.message


@given(st.integers(min_value=1, max_value=10**8))
def test_format_duration_round_trips(seconds: int) -> None:
    """What /health prints parses back to the same duration."""
    assert parse_duration(format_duration(seconds)) == seconds


def test_upload_times_parse_as_pep_700_utc() -> None:
    """``Z`` and offsets are read as UTC instants; anything else is unusable (None)."""
    assert parse_upload_time("2024-01-02T03:04:05.123456Z") == 1704164645.123456
    assert parse_upload_time("2024-01-02T04:04:05+01:00") == 1704164645.0
    for bad in (None, "", "yesterday", "2024-13-01T00:00:00Z"):
        assert parse_upload_time(bad) is None


def test_name_patterns_match_normalized_names_and_globs() -> None:
    """Names and globs are normalized like project names before matching."""
    patterns = NamePatterns.parse(["Foo_Bar", "Django-*", "acme.?"])
    assert patterns.matches("foo-bar")
    assert patterns.matches("django-rest-framework")
    assert patterns.matches("acme-x")
    assert not patterns.matches("django")
    assert not patterns.matches("foo-bar-baz")


def test_cooldown_holds_back_young_and_undated_files_and_says_when() -> None:
    """Files younger than the minimum age, and files without an upload-time, are held."""
    policy = UpstreamPolicy(min_age=7 * DAY)
    files = [
        _record("demo-1.0-py3-none-any.whl", _ago(30 * DAY)),
        _record("demo-2.0-py3-none-any.whl", _ago(2 * DAY)),
        _record("demo-3.0-py3-none-any.whl", None),
    ]
    split = policy.hold_back("demo", files, START)
    assert [r.filename for r in split.visible] == ["demo-1.0-py3-none-any.whl"]
    assert [(h.filename, h.visible_from) for h in split.held] == [
        ("demo-2.0-py3-none-any.whl", START + 5 * DAY),
        ("demo-3.0-py3-none-any.whl", None),
    ]
    assert split.valid_until == START + 5 * DAY
    assert policy.why(split.held[0]) == (
        "release cooldown pypi.upstream_min_age = 7d, available from 2023-11-19T22:13:20Z"
    )
    assert "no upload-time" in policy.why(split.held[1])


def test_missing_upload_time_may_be_allowed_and_exempt_names_are_never_held() -> None:
    """``_missing = allow`` lets undated files in; exempt names skip the cooldown."""
    undated = [_record("demo-3.0-py3-none-any.whl", None)]
    assert UpstreamPolicy(min_age=DAY, allow_missing_time=True).hold_back("demo", undated, START).held == ()
    exempt = UpstreamPolicy(min_age=DAY, exempt=NamePatterns.parse(["dem*"]))
    young = [_record("demo-2.0-py3-none-any.whl", _ago(60))]
    assert exempt.hold_back("demo", young, START).held == ()


def test_allow_and_deny_lists_decide_which_names_reach_the_upstream() -> None:
    """A denied name never may; with an allow list only the names on it may."""
    deny = UpstreamPolicy(deny=NamePatterns.parse(["internal-*"]))
    assert not deny.may_fetch("internal-tool")
    assert deny.may_fetch("requests")
    allow = UpstreamPolicy(
        allow=NamePatterns.parse(["requests", "urllib3"]), deny=NamePatterns.parse(["urllib3"])
    )
    assert allow.may_fetch("requests")
    assert not allow.may_fetch("urllib3")  # deny wins
    assert not allow.may_fetch("numpy")


def test_disallow_fallback_is_a_deny_list() -> None:
    """pypicloud's ``pypi.disallow_fallback`` keeps working, now as part of the deny list."""
    settings = Settings.from_mapping(
        {"pypi.disallow_fallback": "Secret_Tool", "pypi.upstream_deny": "corp-*"}
    )
    assert settings.upstream_policy.deny.describe() == ["secret-tool", "corp-*"]


def test_min_age_missing_takes_only_allow_or_deny() -> None:
    """Any other value is refused rather than guessed."""
    with pytest.raises(ConfigError) as caught:
        Settings.from_mapping({"pypi.upstream_min_age_missing": "yes"})
    assert caught.value.message == "pypi.upstream_min_age_missing must be allow or deny, not 'yes'"


# -- through a registry ---------------------------------------------------------------------


@pytest.fixture
def upstream() -> Iterator[UpstreamIndex]:
    """ufo-core 1.0 (30 days old), 2.0 (2 days), 3.0 (1 hour), as wheels."""
    with UpstreamIndex() as index:
        index.add("ufo-core", "1.0", kinds=("wheel",), upload_time=_ago(30 * DAY))
        index.add("ufo-core", "2.0", kinds=("wheel",), upload_time=_ago(2 * DAY))
        index.add("ufo-core", "3.0", kinds=("wheel",), upload_time=_ago(3600))
        index.add("corp-secret", "1.0", kinds=("wheel",))
        yield index


COOLDOWN = {"pypi.upstream_min_age": "7d"}
W1, W2, W3 = (f"ufo_core-{v}-py3-none-any.whl" for v in ("1.0", "2.0", "3.0"))


def _download(registry: Registry, upstream: UpstreamIndex, filename: str) -> tuple[int, str]:
    hosted = upstream.file(filename)
    reply = get(registry, f"/files/ufo-core/{hosted.sha256}/{filename}")
    return reply.status, reply.text if reply.status != 200 else ""


def test_young_upstream_files_are_neither_listed_nor_fetched(
    make_registry: RegistryFactory, upstream: UpstreamIndex
) -> None:
    """Only the 30-day-old release is listed; a direct URL of a young file is a 404 naming the policy."""
    registry = make_registry(COOLDOWN)
    assert sorted(listed(registry, "ufo-core")) == [W1]
    status, text = _download(registry, upstream, W2)
    assert status == 404
    assert text == (
        f"File '{W2}' of project 'ufo-core' is held back: release cooldown "
        "pypi.upstream_min_age = 7d, available from 2023-11-19T22:13:20Z.\n"
    )
    assert upstream.downloads(W2) == 0
    assert _download(registry, upstream, W1)[0] == 200


def test_without_the_policy_every_release_is_listed(make_registry: RegistryFactory) -> None:
    """The default is off: the newest upstream release is offered at once."""
    assert sorted(listed(make_registry(), "ufo-core")) == [W1, W2, W3]


def test_a_release_appears_by_itself_once_old_enough(
    make_registry: RegistryFactory, clock: FakeClock, upstream: UpstreamIndex
) -> None:
    """Moving the clock past the age shows 2.0 with no restart, and its ETag changes."""
    registry = make_registry(COOLDOWN)
    before = get(registry, "/simple/ufo-core/", accept=JSON_TYPE)
    clock.advance(5 * DAY + 1)
    after = get(registry, "/simple/ufo-core/", accept=JSON_TYPE)
    assert sorted(f["filename"] for f in after.json()["files"]) == [W1, W2]
    assert before.headers["etag"] != after.headers["etag"]
    assert _download(registry, upstream, W2)[0] == 200


def test_exempt_names_get_their_newest_release(make_registry: RegistryFactory) -> None:
    """``pypi.upstream_min_age_exempt`` is for urgent security releases."""
    registry = make_registry({**COOLDOWN, "pypi.upstream_min_age_exempt": "UFO_*"})
    assert sorted(listed(registry, "ufo-core")) == [W1, W2, W3]


def test_files_without_upload_time_fail_closed_unless_allowed(
    make_registry: RegistryFactory, upstream: UpstreamIndex
) -> None:
    """No upload-time: held back by default, listed with ``_missing = allow``."""
    upstream.file(W1).upload_time = None  # type: ignore[assignment]
    assert listed(make_registry(COOLDOWN), "ufo-core") == {}
    allowing = make_registry({**COOLDOWN, "pypi.upstream_min_age_missing": "allow"})
    assert sorted(listed(allowing, "ufo-core")) == [W1]


def test_files_cached_before_the_policy_stay_served(
    make_registry: RegistryFactory, upstream: UpstreamIndex, tmp_path: Path
) -> None:
    """Turning the cooldown on never takes away what the proxy already holds."""
    before = make_registry()
    assert _download(before, upstream, W3)[0] == 200
    after = make_registry(COOLDOWN)
    assert sorted(listed(after, "ufo-core")) == [W1, W3]
    assert _download(after, upstream, W3)[0] == 200
    assert upstream.downloads(W3) == 1


def test_the_json_api_says_which_versions_are_held_back_and_why(make_registry: RegistryFactory) -> None:
    """A person reading /pypi/<p>/json sees why 2.0 and 3.0 are missing."""
    document = get(make_registry(COOLDOWN), "/pypi/ufo-core/json").json()
    assert list(document["releases"]) == ["1.0"]
    assert document["info"]["version"] == "1.0"
    assert sorted(document["held_back"]) == ["2.0", "3.0"]
    assert document["held_back"]["3.0"] == [
        {
            "filename": W3,
            "reason": "release cooldown pypi.upstream_min_age = 7d, available from 2023-11-21T21:13:20Z",
        }
    ]


def test_uploads_are_never_held_back(make_registry: RegistryFactory) -> None:
    """Private files are not subject to the cooldown, however new."""
    from test_mirror import ROOT_USER, upload
    from upstream_app import wheel_file

    registry = make_registry(COOLDOWN)
    hosted = wheel_file("private-tool", "0.1")
    assert upload(registry, hosted, ROOT_USER).status == 200
    assert list(listed(registry, "private-tool")) == [hosted.filename]


@pytest.mark.parametrize("setting", [{"pypi.upstream_deny": "corp-*"}, {"pypi.upstream_allow": "ufo-core"}])
def test_a_refused_name_is_never_sent_upstream(
    make_registry: RegistryFactory, upstream: UpstreamIndex, setting: dict[str, str]
) -> None:
    """A denied (or not allowed) name behaves as absent in ``none`` mode: 404, zero upstream requests."""
    registry = make_registry(setting)
    assert get(registry, "/simple/corp-secret/").status == 404
    assert get(registry, "/pypi/corp-secret/json").status == 404
    assert upstream.mentions("corp-secret") == []
    assert get(registry, "/simple/ufo-core/").status == 200


def _policy_count(registry: Registry, decision: str) -> float:
    """The ``pyregistry_upstream_policy_total`` sample of ``decision`` (0 when absent)."""
    sample = f'pyregistry_upstream_policy_total{{decision="{decision}"}} '
    lines = get(registry, "/metrics").text.splitlines()
    return next((float(line[len(sample) :]) for line in lines if line.startswith(sample)), 0.0)


@pytest.mark.parametrize("setting", [{"pypi.upstream_deny": "corp-*"}, {"pypi.upstream_allow": "ufo-core"}])
def test_refused_names_are_counted_as_denied(
    make_registry: RegistryFactory, upstream: UpstreamIndex, setting: dict[str, str]
) -> None:
    """Prometheus counts each request the allow/deny lists kept from the upstream, and
    only those (an allowed name is not counted)."""
    registry = make_registry({**setting, "pypi.metrics": "true"})
    assert get(registry, "/simple/ufo-core/").status == 200
    assert _policy_count(registry, "denied") == 0
    assert get(registry, "/simple/corp-secret/").status == 404
    assert get(registry, "/pypi/corp-secret/json").status == 404
    assert _policy_count(registry, "denied") == 2


def test_health_shows_the_active_policy(make_registry: RegistryFactory) -> None:
    """/health says what the proxy enforces."""
    registry = make_registry(
        {**COOLDOWN, "pypi.upstream_min_age_exempt": "ufo-*", "pypi.upstream_deny": "corp-*"}
    )
    policy = get(registry, "/health").json()["upstream"]["policy"]
    assert policy == {
        "min_age": "7d",
        "min_age_missing": "deny",
        "min_age_exempt": ["ufo-*"],
        "allow": None,
        "deny": ["corp-*"],
    }
