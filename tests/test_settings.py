"""Configuration from INI files and mappings (``pyregistry_core.settings``)."""

from __future__ import annotations

from pathlib import Path

import pytest

from pyregistry_core.errors import ConfigError
from pyregistry_core.settings import KEYS, Secret, Settings, parse_bool, parse_size

UPSTREAM = "https://upstream.example/pypi"
NEEDS_BASE_URL = (
    "pypi.fallback = redirect needs pypi.fallback_base_url (the upstream index root); there is "
    "no built-in upstream, so no name leaks to a public index"
)


def write_ini(directory: Path, text: str) -> Path:
    """Write a config file and return its path."""
    path = directory / "pyregistry.ini"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("104857600", 104_857_600),
        ("100MiB", 104_857_600),
        ("100MB", 100_000_000),
        ("100mib", 104_857_600),
        (" 5 KiB ", 5120),
        ("1kb", 1000),
        ("3GiB", 3 * 2**30),
        ("2TB", 2 * 10**12),
        ("10B", 10),
        (7, 7),
    ],
)
def test_sizes(value: str | int, expected: int) -> None:
    """Sizes accept plain bytes and decimal or binary units, in any case."""
    assert parse_size(value) == expected


@pytest.mark.parametrize("value", ["", "lots", "1.5MB", "-1", "100M", "10 XB", "MB"])
def test_bad_sizes(value: str) -> None:
    """Anything else is a ConfigError with examples."""
    with pytest.raises(ConfigError) as info:
        parse_size(value)
    assert info.value.message == f"{value!r} is not a size (examples: 104857600, 100MiB, 100MB)"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("true", True),
        ("Yes", True),
        (" ON ", True),
        ("1", True),
        ("t", True),
        ("y", True),
        ("false", False),
        ("No", False),
        ("off", False),
        ("0", False),
        ("", False),
        (True, True),
        (False, False),
    ],
)
def test_bools(value: str | bool, expected: bool) -> None:
    """Booleans read pypicloud's spellings."""
    assert parse_bool(value) is expected


@pytest.mark.parametrize("value", ["maybe", "2", "truthy"])
def test_bad_bools(value: str) -> None:
    """Unknown spellings are errors, not False."""
    with pytest.raises(ConfigError) as info:
        parse_bool(value)
    assert info.value.message == f"{value!r} is not a boolean"


def test_mapping_starts_from_embedded_defaults(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An empty mapping gives fallback none, read for everyone, write for authenticated, ./packages."""
    monkeypatch.chdir(tmp_path)
    settings = Settings.from_mapping({})
    assert settings.fallback == "none"
    assert settings.default_read == ("everyone",)
    assert settings.default_write == ("authenticated",)
    assert settings.storage_url == str(tmp_path / "packages")
    assert settings.max_upload_size == 100 * 2**20
    assert settings.simple_max_age == 0
    assert settings.unknown_keys == ()


def test_every_documented_default_parses() -> None:
    """Each key's documented default is a value the settings accept."""
    mapping = {key: info.default for key, info in KEYS.items() if info.default is not None}
    assert Settings.from_mapping(mapping).unknown_keys == ()


def test_pyregistry_section_uses_embedded_defaults(tmp_path: Path) -> None:
    """A [pyregistry] section starts from pyregistry's defaults; relative dirs resolve to the file."""
    path = write_ini(tmp_path, "[pyregistry]\nstorage.dir = pkgs\n")
    settings = Settings.from_ini(path)
    assert settings.fallback == "none"
    assert settings.default_read == ("everyone",)
    assert settings.default_write == ("authenticated",)
    assert settings.storage_url == str(tmp_path / "pkgs")


def test_app_main_section_uses_pypicloud_defaults(tmp_path: Path) -> None:
    """An [app:main] section starts from pypicloud's defaults (redirect, authenticated read)."""
    path = write_ini(tmp_path, f"[app:main]\nuse = egg:pypicloud\npypi.fallback_base_url = {UPSTREAM}/\n")
    settings = Settings.from_ini(path)
    assert settings.fallback == "redirect"
    assert settings.fallback_base_url == UPSTREAM
    assert settings.default_read == ("authenticated",)
    assert settings.default_write == ()
    assert settings.package_max_age == 0


def test_app_main_without_base_url_fails_naming_the_key(tmp_path: Path) -> None:
    """pypicloud's implicit upstream is refused: the error names pypi.fallback_base_url."""
    path = write_ini(tmp_path, "[app:main]\nuse = egg:pypicloud\n")
    with pytest.raises(ConfigError) as info:
        Settings.from_ini(path)
    assert info.value.message == NEEDS_BASE_URL


@pytest.mark.parametrize("mode", ["redirect", "cache", "mirror"])
def test_upstream_modes_need_a_base_url(mode: str) -> None:
    """Every upstream mode without pypi.fallback_base_url is a startup error naming the key."""
    with pytest.raises(ConfigError) as info:
        Settings.from_mapping({"pypi.fallback": mode})
    assert "needs pypi.fallback_base_url" in info.value.message


def test_old_fallback_url_key_gives_the_base_url() -> None:
    """pypicloud's pypi.fallback_url (…/simple) still configures the upstream root."""
    settings = Settings.from_mapping({"pypi.fallback": "cache", "pypi.fallback_url": f"{UPSTREAM}/simple/"})
    assert settings.fallback_base_url == UPSTREAM


def test_mirror_is_cache_that_always_shows_upstream() -> None:
    """fallback = mirror means cache mode with always_show_upstream."""
    settings = Settings.from_mapping({"pypi.fallback": "mirror", "pypi.fallback_base_url": UPSTREAM})
    assert (settings.fallback, settings.always_show_upstream) == ("cache", True)


def test_unknown_fallback_mode_is_refused() -> None:
    """A fallback mode pypicloud does not have is an error."""
    with pytest.raises(ConfigError) as info:
        Settings.from_mapping({"pypi.fallback": "proxy"})
    assert info.value.message == "pypi.fallback must be none, redirect, cache or mirror, not 'proxy'"


def test_here_is_the_config_directory(tmp_path: Path) -> None:
    """%(here)s expands to the config file's directory."""
    path = write_ini(tmp_path, "[pyregistry]\nstorage.dir = %(here)s/data\nauth.htpasswd = %(here)s/users\n")
    settings = Settings.from_ini(path)
    assert settings.storage_url == str(tmp_path / "data")
    assert settings.htpasswd == str(tmp_path / "users")


def test_relative_htpasswd_is_relative_to_the_config(tmp_path: Path) -> None:
    """A relative auth.htpasswd resolves against the config file's directory."""
    settings = Settings.from_ini(write_ini(tmp_path, "[pyregistry]\nauth.htpasswd = users.htpasswd\n"))
    assert settings.htpasswd == str(tmp_path / "users.htpasswd")


@pytest.mark.parametrize("backend", ["ldap", "sql", "remote", "aws_secrets_manager"])
def test_other_auth_backends_are_refused(backend: str) -> None:
    """pypi.auth other than config is a startup error saying it is not supported."""
    with pytest.raises(ConfigError) as info:
        Settings.from_mapping({"pypi.auth": backend})
    assert info.value.message.startswith(f"pypi.auth = {backend} is not supported")


def test_environment_is_ignored_unless_passed(monkeypatch: pytest.MonkeyPatch) -> None:
    """Nothing reads os.environ unless the caller passes environ=."""
    monkeypatch.setenv("PPC_PYPI_DEFAULT_READ", "authenticated")
    monkeypatch.setenv("PYREGISTRY_PYPI_MAX_UPLOAD_SIZE", "1MiB")
    settings = Settings.from_mapping({})
    assert settings.default_read == ("everyone",)
    assert settings.max_upload_size == 100 * 2**20


def test_environment_overrides_when_passed() -> None:
    """PPC_<KEY> and PYREGISTRY_<KEY> override the mapping when environ= is given."""
    environ = {
        "PPC_PYPI_DEFAULT_READ": "authenticated",
        "PYREGISTRY_PYPI_MAX_UPLOAD_SIZE": "1MiB",
        "PYREGISTRY_PYPI_FALLBACK": "redirect",
        "PPC_PYPI_FALLBACK_BASE_URL": UPSTREAM,
        "PPC_NOT_A_KEY": "x",
        "HOME": "/nowhere",
    }
    settings = Settings.from_mapping({"pypi.default_read": "everyone"}, environ=environ)
    assert settings.default_read == ("authenticated",)
    assert settings.max_upload_size == 2**20
    assert (settings.fallback, settings.fallback_base_url) == ("redirect", UPSTREAM)
    assert settings.unknown_keys == ()


def test_environment_overrides_ini_files(tmp_path: Path) -> None:
    """from_ini applies environ= over the file's values."""
    path = write_ini(tmp_path, "[pyregistry]\npypi.simple_max_age = 60\n")
    settings = Settings.from_ini(path, environ={"PYREGISTRY_PYPI_SIMPLE_MAX_AGE": "5"})
    assert settings.simple_max_age == 5


def test_unknown_keys_in_our_namespaces_are_refused() -> None:
    """Unknown keys in pyregistry's namespaces are one error naming each key and the closest known one."""
    with pytest.raises(ConfigError) as info:
        Settings.from_mapping({"pypi.frobnicate": "1", "pypi.default_raed": "everyone"})
    assert info.value.message == (
        "unknown key pypi.frobnicate; unknown key pypi.default_raed (did you mean pypi.default_read?)"
    )


@pytest.mark.parametrize(
    ("key", "message"),
    [
        ("users.alice", "unknown key users.alice (did you mean user.alice?)"),
        ("pypy.default_read", "unknown key pypy.default_read (did you mean pypi.default_read?)"),
        ("auth.admin", "unknown key auth.admin (did you mean auth.admins?)"),
        ("grup.devs", "unknown key grup.devs (did you mean group.devs?)"),
        ("storage.bukcet", "unknown key storage.bukcet (did you mean storage.bucket?)"),
        ("publishr.demo.1", "unknown key publishr.demo.1 (did you mean publisher.demo.1?)"),
    ],
)
def test_misspelled_keys_and_namespaces_are_refused(key: str, message: str) -> None:
    """A typo in a key or in its namespace ("users.alice") is an error, never silently ignored."""
    with pytest.raises(ConfigError) as info:
        Settings.from_mapping({key: "x"})
    assert info.value.message == message


def test_foreign_keys_are_noted_not_refused() -> None:
    """Keys outside pyregistry's namespaces (another app's, in a shared [app:main]) get a warning line."""
    settings = Settings.from_mapping({"debug": "true", "retry.attempts": "3"})
    assert settings.notes() == [
        "ignoring debug: not a pyregistry key",
        "ignoring retry.attempts: not a pyregistry key",
    ]


def test_ignored_pypicloud_keys_are_noted_not_refused() -> None:
    """pypicloud's keys pyregistry does not need are accepted, with one note each saying why."""
    keys = {
        "pypi.db": "sql",
        "db.url": "sqlite://",
        "use": "egg:pypicloud",
        "pyramid.reload_templates": "true",
        "session.secret": "s",
        "auth.scheme": "sha512_crypt",
        "storage.redirect_urls": "true",
    }
    settings = Settings.from_mapping(keys)
    assert settings.unknown_keys == ()
    assert settings.notes() == [
        "ignoring pypicloud setting pypi.db: pyregistry needs no cache database: storage is the database",
        "ignoring pypicloud setting db.url: pyregistry needs no cache database: storage is the database",
        "ignoring pypicloud setting use: the Pyramid app factory",
        "ignoring pypicloud setting pyramid.reload_templates: Pyramid's own settings",
        "ignoring pypicloud setting session.secret: pypicloud's web session",
        "ignoring pypicloud setting auth.scheme: new password hashes are argon2 (pyregistry hash-password)",
        "ignoring pypicloud setting storage.redirect_urls: downloads are streamed, never redirected to "
        "signed URLs",
    ]


def test_storage_options_only_where_the_store_takes_them() -> None:
    """Other storage.* keys are options of S3 or an fsspec URL; with a directory they are a typo."""
    with pytest.raises(ConfigError) as info:
        Settings.from_mapping({"storage.dri": "/srv/packages"})
    assert info.value.message == "unknown key storage.dri (did you mean storage.dir?)"
    settings = Settings.from_mapping({"storage.url": "memory://x", "storage.auto_mkdir": "true"})
    assert settings.storage_options == {"auto_mkdir": True}


@pytest.mark.parametrize("value", ["", "read", "rwx", "x", "admin"])
def test_permissions_other_than_r_w_rw_are_refused(value: str) -> None:
    """package.*.user/group entries take r, w or rw; anything else is an error naming the key."""
    with pytest.raises(ConfigError) as info:
        Settings.from_mapping({"package.demo.user.alice": value})
    assert info.value.message == f"package.demo.user.alice = {value!r}: permissions are r, w or rw"


def test_undefined_groups_are_reported() -> None:
    """A who-may list or package entry naming a group no group.* key defines is a problem."""
    settings = Settings.from_mapping(
        {
            "group.developers": "alice",
            "pypi.default_write": "develpers admin user:ci group:developers",
            "pypi.default_read": "authenticated",
            "package.demo.group.ops": "r",
        }
    )
    assert settings.undefined_principals() == [
        "pypi.default_write names group 'develpers', which no group.<name> key defines (did you mean "
        "developers?); use everyone, authenticated, admin, user:<name> or a defined group",
        "package.demo.group.ops names group 'ops', which no group.<name> key defines; use everyone, "
        "authenticated, admin, user:<name> or a defined group",
    ]


def test_numbers_are_validated() -> None:
    """A non-numeric number setting is an error naming the key."""
    with pytest.raises(ConfigError) as info:
        Settings.from_mapping({"pypi.index_ttl": "soon"})
    assert info.value.message == "pypi.index_ttl must be a number, not 'soon'"


def test_users_are_secrets() -> None:
    """user.<name> values are wrapped so repr never shows them."""
    settings = Settings.from_mapping({"user.alice": "$2b$hash"})  # parsed; the authenticator checks it
    assert settings.users["alice"] == Secret("$2b$hash")
    assert "$2b$hash" not in repr(settings)


def test_groups_and_package_entries() -> None:
    """group.<g> lists members; package.<p>.user/group.<x> become ACL entries."""
    settings = Settings.from_mapping(
        {
            "group.devs": "alice bob, carol",
            "package.Foo_Bar.user.alice": "rw",
            "package.foo.group.devs": " r ",
        }
    )
    assert settings.groups == {"devs": ("alice", "bob", "carol")}
    assert settings.package_acl == {"Foo_Bar": {"user:alice": "rw"}, "foo": {"group:devs": "r"}}


def test_malformed_package_entry_is_refused() -> None:
    """A package.* key without .user. or .group. is an error naming the key."""
    with pytest.raises(ConfigError) as info:
        Settings.from_mapping({"package.foo.admin": "rw"})
    assert info.value.message == (
        "package.foo.admin: expected package.<name>.user.<u> or package.<name>.group.<g>"
    )


def test_missing_file_and_missing_section_are_errors(tmp_path: Path) -> None:
    """A config that cannot be read, or has neither section, is a ConfigError."""
    with pytest.raises(ConfigError, match="cannot read config"):
        Settings.from_ini(tmp_path / "absent.ini")
    path = write_ini(tmp_path, "[server:main]\nport = 1\n")
    with pytest.raises(ConfigError) as info:
        Settings.from_ini(path)
    assert info.value.message == f"{str(path)!r} has no [pyregistry] or [app:main] section"


def test_pyregistry_section_wins_over_app_main(tmp_path: Path) -> None:
    """With both sections, [pyregistry] is read."""
    path = write_ini(tmp_path, "[app:main]\npypi.fallback = redirect\n[pyregistry]\npypi.realm = mine\n")
    settings = Settings.from_ini(path)
    assert (settings.realm, settings.fallback) == ("mine", "none")


def test_memory_storage_backend() -> None:
    """pypi.storage = memory gives a memory:// URL."""
    assert Settings.from_mapping({"pypi.storage": "memory"}).storage_url.startswith("memory://")


def test_storage_url_is_used_as_is() -> None:
    """storage.url is any fsspec URL and wins over storage.dir."""
    settings = Settings.from_mapping({"storage.url": "memory://x", "storage.dir": "/ignored"})
    assert settings.storage_url == "memory://x"


def test_registry_from_config_refuses_unknown_keys() -> None:
    """Registry.from_config refuses a misspelled key as serve does: a typo never opens an index."""
    from pyregistry_core import Registry

    with pytest.raises(ConfigError) as info:
        Registry.from_config({"storage.url": "memory://strict", "pypi.default_raed": "authenticated"})
    assert info.value.message == "unknown key pypi.default_raed (did you mean pypi.default_read?)"


def test_registry_from_config_warns_of_groups_it_cannot_see(caplog: pytest.LogCaptureFixture) -> None:
    """Embedded, a group no group.* key defines may come from identify=: one warning line, no error."""
    from pyregistry_core import Registry

    with caplog.at_level("WARNING", logger="pyregistry_core.registry.facade"):
        Registry.from_config({"storage.url": "memory://groups", "pypi.default_write": "developers"})
    assert [r.getMessage() for r in caplog.records] == [
        "pypi.default_write names group 'developers', which no group.<name> key defines; use everyone, "
        "authenticated, admin, user:<name> or a defined group (fine if the app's identify= supplies "
        "that group)"
    ]
