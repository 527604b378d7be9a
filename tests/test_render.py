"""Simple pages rendered from one model (``pyregistry_core.render``), read back as clients do."""

from __future__ import annotations

import hashlib
import json
import posixpath
import re
from html.parser import HTMLParser
from typing import Any
from urllib.parse import unquote, urldefrag, urljoin, urlsplit

import pytest
from attrs import evolve
from distfiles import core_metadata, wheel_bytes
from hypothesis import given
from hypothesis import strategies as st
from packaging.utils import canonicalize_name, parse_sdist_filename, parse_wheel_filename
from packaging.version import Version
from strategies import file_records, project_names

from benchmarks import previous_render
from pyregistry_core import render
from pyregistry_core.acl import Identity
from pyregistry_core.fragments import FileFragments
from pyregistry_core.negotiate import SimpleFormat
from pyregistry_core.records import FileRecord, ProjectFiles, ProjectStatus
from pyregistry_core.registry.facade import Registry
from pyregistry_core.settings import Settings
from pyregistry_core.upload import UploadForm

PAGE_URL = "https://index.example/prefix/simple/{project}/"
UPLOAD_TIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z")


class SimplePage(HTMLParser):
    """Collects ``<meta>`` tags and ``<a>`` elements (attributes and text) of a page."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.meta: dict[str, str] = {}
        self.anchors: list[tuple[dict[str, str | None], str]] = []
        self.title = ""
        self._text: list[str] | None = None
        self._in_title = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        """Start collecting an anchor's text; record meta tags."""
        values = dict(attrs)
        if tag == "meta" and values.get("name"):
            self.meta[str(values["name"])] = str(values.get("content"))
        elif tag == "a":
            self._text = []
            self.anchors.append((values, ""))
        elif tag == "title":
            self._in_title = True

    def handle_endtag(self, tag: str) -> None:
        """Finish an anchor."""
        if tag == "a" and self._text is not None:
            attrs, _ = self.anchors[-1]
            self.anchors[-1] = (attrs, "".join(self._text))
            self._text = None
        elif tag == "title":
            self._in_title = False

    def handle_data(self, data: str) -> None:
        """Anchor text arrives in pieces."""
        if self._text is not None:
            self._text.append(data)
        if self._in_title:
            self.title += data


def parse_html(body: bytes) -> SimplePage:
    """Parse a page the way a client's HTML parser sees it."""
    page = SimplePage()
    page.feed(body.decode("utf-8"))
    page.close()
    return page


def link_filename(href: str) -> str:
    """The filename pip derives from a link: last path component, percent-decoded."""
    return unquote(posixpath.basename(urlsplit(href).path))


def api_version(text: str) -> tuple[int, int]:
    """ "1.1" → (1, 1)."""
    major, minor = text.split(".")
    return int(major), int(minor)


@st.composite
def projects(draw: st.DrawFn, *, hostile: bool = False) -> ProjectFiles:
    """A project with a few files (unique filenames)."""
    name = draw(project_names(max_size=20))
    records = draw(st.lists(file_records(name, hostile=hostile), max_size=5, unique_by=lambda r: r.filename))
    return ProjectFiles.from_records(canonicalize_name(name), records)


def check_html_links(project: ProjectFiles, body: bytes) -> None:
    """Every HTML anchor carries exactly the record's data, escaped and unescaped right."""
    page = parse_html(body)
    assert api_version(page.meta["pypi:repository-version"]) >= (1, 0)
    assert len(page.anchors) == len(project.files)
    base = PAGE_URL.format(project=project.name)
    for (attrs, text), record in zip(page.anchors, project.files, strict=True):
        href = str(attrs["href"])
        url, fragment = urldefrag(urljoin(base, href))
        assert text == record.filename
        assert link_filename(href) == text
        assert url == f"https://index.example/prefix/{record.url_path}"
        assert fragment == f"sha256={record.sha256}"
        assert attrs.get("data-requires-python") == record.requires_python
        if record.metadata_sha256:
            assert attrs["data-core-metadata"] == f"sha256={record.metadata_sha256}"
            assert attrs["data-dist-info-metadata"] == attrs["data-core-metadata"]
        else:
            assert "data-core-metadata" not in attrs
            assert "data-dist-info-metadata" not in attrs
        if record.yanked:
            assert attrs["data-yanked"] == record.yanked_reason
        else:
            assert "data-yanked" not in attrs
        assert attrs["data-size"] == str(record.size)
        assert attrs["data-upload-time"] == record.upload_time


def check_json_files(project: ProjectFiles, body: bytes) -> dict[str, Any]:
    """The JSON page has PEP 691/700 fields for each record and no PEP 714 legacy key."""
    document = json.loads(body)
    assert api_version(document["meta"]["api-version"]) >= (1, 1)
    assert document["name"] == project.name
    assert len(document["versions"]) == len(set(document["versions"]))
    assert len(document["files"]) == len(project.files)
    base = PAGE_URL.format(project=project.name)
    for entry, record in zip(document["files"], project.files, strict=True):
        assert entry["filename"] == record.filename
        assert urljoin(base, entry["url"]) == f"https://index.example/prefix/{record.url_path}"
        assert entry["hashes"] == {"sha256": record.sha256}
        assert entry["requires-python"] == record.requires_python
        assert entry["size"] == record.size
        assert entry["upload-time"] == record.upload_time
        expected_yank: bool | str = (record.yanked_reason or True) if record.yanked else False
        assert entry["yanked"] == expected_yank
        expected_metadata = {"sha256": record.metadata_sha256} if record.metadata_sha256 else False
        assert entry["core-metadata"] == expected_metadata
        assert "dist-info-metadata" not in entry
        assert "data-dist-info-metadata" not in entry
        assert record.version in document["versions"]
    return dict(document)


@given(projects())
def test_project_html_round_trips(project: ProjectFiles) -> None:
    """Parsing the HTML page gives back every record's filename, hash and attributes."""
    check_html_links(project, render.project_html(project))


@given(projects(hostile=True))
def test_project_html_escapes_hostile_text(project: ProjectFiles) -> None:
    """Filenames, requires-python and yank reasons with <, >, &, quotes stay inert data."""
    body = render.project_html(project)
    check_html_links(project, body)
    page = parse_html(body)
    assert len(page.anchors) == len(project.files)  # no smuggled element


@given(projects(hostile=True))
def test_project_json_round_trips(project: ProjectFiles) -> None:
    """Parsing the JSON page gives back every record, with hashes, size and versions."""
    check_json_files(project, render.project_json(project))


@given(projects())
def test_html_links_parse_as_distributions_of_the_project(project: ProjectFiles) -> None:
    """A pip-like reader finds each link's project name and version in its anchor text."""
    page = parse_html(render.project_html(project))
    for (_attrs, text), record in zip(page.anchors, project.files, strict=True):
        if text.endswith(".whl"):
            name, version, _build, _tags = parse_wheel_filename(text)
        else:
            name, version = parse_sdist_filename(text)
        assert name == project.name
        assert version == Version(record.version)


def _record(**changes: Any) -> FileRecord:
    base: dict[str, Any] = {
        "project": canonicalize_name("demo"),
        "filename": "demo-1.0-py3-none-any.whl",
        "version": "1.0",
        "kind": "bdist_wheel",
        "size": 1234,
        "sha256": "a" * 64,
        "upload_time": "2024-05-06T07:08:09.123456Z",
    }
    base.update(changes)
    return FileRecord(**base)


def test_requires_python_is_html_escaped() -> None:
    """data-requires-python carries "&lt;"/"&gt;" in the bytes and the real value when parsed."""
    record = _record(requires_python=">=3.8,<4")
    project = ProjectFiles.from_records(record.project, [record])
    body = render.project_html(project)
    assert b'data-requires-python="&gt;=3.8,&lt;4"' in body
    attrs, _ = parse_html(body).anchors[0]
    assert attrs["data-requires-python"] == ">=3.8,<4"
    assert json.loads(render.project_json(project))["files"][0]["requires-python"] == ">=3.8,<4"


@pytest.mark.parametrize(
    ("reason", "html_value", "json_value"),
    [
        ("", "", True),
        ('broken <build> & "quotes"', 'broken <build> & "quotes"', 'broken <build> & "quotes"'),
    ],
)
def test_yanked_with_and_without_reason(reason: str, html_value: str, json_value: object) -> None:
    """A yank without reason is data-yanked="" / true; with one, the reason in both formats."""
    record = _record(yanked=True, yanked_reason=reason)
    project = ProjectFiles.from_records(record.project, [record])
    attrs, _ = parse_html(render.project_html(project)).anchors[0]
    assert attrs["data-yanked"] == html_value
    assert json.loads(render.project_json(project))["files"][0]["yanked"] == json_value


def test_metadata_hash_advertised_under_both_html_names_and_once_in_json() -> None:
    """data-core-metadata equals data-dist-info-metadata; JSON has only core-metadata."""
    record = _record(metadata_sha256="b" * 64)
    project = ProjectFiles.from_records(record.project, [record])
    attrs, _ = parse_html(render.project_html(project)).anchors[0]
    assert attrs["data-core-metadata"] == attrs["data-dist-info-metadata"] == "sha256=" + "b" * 64
    entry = json.loads(render.project_json(project))["files"][0]
    assert entry["core-metadata"] == {"sha256": "b" * 64}
    assert "dist-info-metadata" not in entry


@pytest.mark.parametrize(
    "filename",
    [
        "demo 1.0.zip",
        "demo%201.0.zip",
        "demo#1-1.0.tar.gz",
        "demo?x-1.0.tar.gz",
    ],
)
def test_url_special_characters_in_filenames_are_percent_encoded(filename: str) -> None:
    """A filename with a space, %, # or ? still round-trips through a client's URL parsing."""
    record = _record(filename=filename, kind="sdist")
    project = ProjectFiles.from_records(record.project, [record])
    attrs, text = parse_html(render.project_html(project)).anchors[0]
    href, fragment = urldefrag(str(attrs["href"]))
    assert text == filename
    assert link_filename(href) == filename
    assert fragment == "sha256=" + "a" * 64
    entry = json.loads(render.project_json(project))["files"][0]
    assert link_filename(entry["url"]) == filename


def test_index_pages_list_every_name_escaped() -> None:
    """/simple/ in HTML links "<name>/" with the name as text; JSON lists the names."""
    names = ["demo", "a<b&c", 'q"uote']
    page = parse_html(render.index_html(names))
    assert [(a["href"], text) for a, text in page.anchors] == [(f"{n}/", n) for n in names]
    assert page.meta["pypi:repository-version"] == render.API_VERSION
    document = json.loads(render.index_json(names))
    assert document == {"meta": {"api-version": render.API_VERSION}, "projects": [{"name": n} for n in names]}


def test_project_title_is_escaped() -> None:
    """The page title shows the project name as text."""
    project = ProjectFiles.from_records(canonicalize_name("demo"), [_record()])
    assert parse_html(render.project_html(project)).title == "Links for demo"


def test_uploaded_file_renders_pep_700_fields(tmp_path: Any) -> None:
    """A wheel uploaded through the Registry shows size, hashes, metadata hash and a
    ``YYYY-MM-DDTHH:MM:SS.ffffffZ`` upload time in JSON, and the same values in HTML."""
    settings = Settings.from_mapping({"storage.url": "memory://render", "pypi.default_write": "everyone"})
    registry = Registry(settings, wall_clock=lambda: 1_700_000_000.25)
    metadata = core_metadata("demo", "1.0", requires_python=">=3.8,<4")
    data = wheel_bytes("demo", "1.0", metadata=metadata)
    staged = tmp_path / "staged"
    staged.write_bytes(data)
    form = UploadForm(
        fields={
            ":action": ("file_upload",),
            "protocol_version": ("1",),
            "name": ("demo",),
            "version": ("1.0",),
            "filetype": ("bdist_wheel",),
            "pyversion": ("py3",),
            "sha256_digest": (hashlib.sha256(data).hexdigest(),),
        },
        filename="demo-1.0-py3-none-any.whl",
        content_type="application/octet-stream",
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        blake2_256=hashlib.blake2b(data, digest_size=32).hexdigest(),
        md5=hashlib.md5(data).hexdigest(),  # noqa: S324 - the API's checksum
    )
    registry.upload(Identity(), form, str(staged))
    project = registry.project_files(Identity(), canonicalize_name("demo"))
    json_page = registry.project_page(Identity(), project.name, SimpleFormat.JSON_V1).body
    document = check_json_files(project, json_page)
    entry = document["files"][0]
    assert UPLOAD_TIME.fullmatch(entry["upload-time"])
    assert entry["upload-time"] == "2023-11-14T22:13:20.250000Z"
    assert entry["size"] == len(data)
    assert entry["hashes"] == {"sha256": hashlib.sha256(data).hexdigest()}
    assert entry["core-metadata"] == {"sha256": hashlib.sha256(metadata).hexdigest()}
    assert entry["requires-python"] == ">=3.8,<4"
    assert document["versions"] == ["1.0"]
    html_page = registry.project_page(Identity(), project.name, SimpleFormat.TEXT_HTML).body
    check_html_links(project, html_page)


def _upstream_record(**changes: Any) -> FileRecord:
    """An upstream file listed but not stored (redirect mode): size and time may be unknown."""
    base: dict[str, Any] = {
        "filename": "demo-1.0.tar.gz",
        "kind": "sdist",
        "size": None,
        "sha256": "-",
        "upload_time": None,
        "origin": "upstream",
        "external_url": "https://files.example/packages/ab/demo-1.0.tar.gz",
    }
    base.update(changes)
    return _record(**base)


def test_external_files_link_to_their_upstream_url() -> None:
    """An upstream file links to its upstream URL; an unknown hash adds no fragment, hashes {}."""
    record = _upstream_record()
    project = ProjectFiles.from_records(record.project, [record])
    attrs, text = parse_html(render.project_html(project)).anchors[0]
    assert attrs["href"] == record.external_url
    assert text == link_filename(str(attrs["href"])) == "demo-1.0.tar.gz"
    entry = json.loads(render.project_json(project))["files"][0]
    assert entry["url"] == record.external_url
    assert entry["hashes"] == {}


def test_json_file_size_is_present_whenever_api_version_is_1_1() -> None:
    """PEP 700: from api-version 1.1 every file has "size", even an upstream file of unknown size."""
    record = _upstream_record(sha256="c" * 64, size=None)
    project = ProjectFiles.from_records(record.project, [record])
    document = json.loads(render.project_json(project))
    if api_version(document["meta"]["api-version"]) >= (1, 1):
        assert all(isinstance(entry.get("size"), int) for entry in document["files"]), document


_TEXT = st.text(st.characters(exclude_categories=("Cs",)), max_size=12)


@st.composite
def odd_records(draw: st.DrawFn, project: str) -> FileRecord:
    """A record with any text in its free-form fields, unknown sizes and times, or an
    upstream file's external URL and no hash."""
    record = draw(file_records(project, hostile=True))
    changes: dict[str, Any] = {
        "filename": record.filename + draw(_TEXT),
        "size": draw(st.one_of(st.none(), st.integers(0, 2**40))),
        "upload_time": draw(st.one_of(st.none(), _TEXT)),
        "requires_python": draw(st.one_of(st.none(), _TEXT)),
        "metadata_sha256": draw(st.one_of(st.none(), st.just(""), _TEXT)),
    }
    if record.yanked:
        changes["yanked_reason"] = draw(_TEXT)
    if draw(st.booleans()):
        changes.update(sha256="-", external_url="https://files.example/" + draw(_TEXT))
    return evolve(record, **changes)


@st.composite
def odd_projects(draw: st.DrawFn) -> ProjectFiles:
    """A project of odd records, in any PEP 792 status."""
    name = draw(project_names(max_size=20))
    records = draw(st.lists(odd_records(name), max_size=6, unique_by=lambda r: r.filename))
    status = ProjectStatus(draw(st.sampled_from(ProjectStatus.STATES)), draw(st.one_of(st.just(""), _TEXT)))
    return ProjectFiles.from_records(canonicalize_name(name), records, status)


_PUBLIC_URLS = st.sampled_from([None, "https://pypi.example/", "http://127.0.0.1:8080/a/"])


@given(odd_projects(), _PUBLIC_URLS, st.data())
def test_fragment_pages_equal_the_template_renderer(
    project: ProjectFiles, public_url: str | None, data: st.DataObject
) -> None:
    """Pages rendered from kept per-file fragments are byte-identical to the whole-page
    template renderer (with or without a public URL for provenance), on first render and
    again after a file changed (yanked)."""
    kept = FileFragments(public_url=public_url).project(project.name)
    for _ in range(2):
        html, json_page = previous_render.project_html, previous_render.project_json
        assert render.project_html(project, kept.anchor) == html(project, public_url)
        assert render.project_json(project, kept.entry) == json_page(project, public_url)
        assert render.project_html(project) == html(project)
        assert render.project_json(project) == json_page(project)
        if not project.files:
            break
        index = data.draw(st.integers(0, len(project.files) - 1))
        changed = evolve(project.files[index], yanked=True, yanked_reason=data.draw(_TEXT))
        files = (*project.files[:index], changed, *project.files[index + 1 :])
        project = evolve(project, files=files)


def test_fragments_are_rendered_once_per_record() -> None:
    """A second page of the same (equal, re-read) records reuses every kept fragment."""
    records = [_record(filename=f"demo-1.{i}-py3-none-any.whl", version=f"1.{i}") for i in range(3)]
    kept = FileFragments().project(canonicalize_name("demo"))
    project = ProjectFiles.from_records(canonicalize_name("demo"), records)
    first = [kept.anchor(r) for r in project.files]
    reread = [FileRecord.from_json(r.to_json()) for r in project.files]
    assert all(a is not b for a, b in zip(reread, project.files, strict=True))
    assert all(kept.anchor(r) is fragment for r, fragment in zip(reread, first, strict=True))
