"""The page cache: Simple API pages rendered once and shared by every reader who sees the same.

Invariants:
1. A page is cached on the catalog entry it was rendered from, so revalidating the
   entry (``storage/catalog.py``) is what makes a page stale; nothing else expires it.
2. Callers share a page only when they see the same thing: ``/simple/`` by visibility
   key, a project page by the identity of the ``ProjectFiles`` it shows.
3. Every cache is bounded (cleared past a fixed size), whatever callers ask for.
4. The ``cached_*`` lookups answer what the ordinary ones would, or None; they never
   render, read the store or wait (the non-blocking fast path, ``web/fast_path.py``).
5. A project page is rendered from per-file fragments kept across pages
   (``fragments.py``), so a page after an upload renders only the new file's.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable

import attrs

from .. import render
from ..acl import Identity, Permission
from ..fragments import FileFragments
from ..metrics import Metrics
from ..names import NormalizedName
from ..negotiate import SimpleFormat
from ..records import ProjectFiles
from ..storage.catalog import Catalog
from .permissions import Permissions
from .results import Page, UpstreamRedirect
from .views import View, Views

__all__ = ["PageCache"]

_MAX_INDEX_PAGES = 256  # one per format and visibility key
_MAX_PROJECT_PAGES = 8  # per project: formats times recent sources
_MAX_DOCUMENTS = 32  # per project: JSON API documents by release and mount URL
_DOCUMENTS = "documents"  # the key of a project entry's documents, apart from its pages


@attrs.frozen
class PageCache:
    """Renders ``/simple/`` and ``/simple/<project>/`` and keeps what it rendered."""

    permissions: Permissions
    catalog: Catalog
    views: Views
    metrics: Metrics
    fragments: FileFragments = attrs.field(factory=FileFragments)

    def index_page(self, identity: Identity, fmt: SimpleFormat) -> Page:
        """``/simple/`` rendered for the caller, listing only what they may read."""
        self.permissions.require(identity, Permission.READ)
        entry = self.catalog.index()
        key = (fmt, self.permissions.visibility_key(identity))
        page = entry.pages.get(key)
        if not isinstance(page, Page):
            names = entry.names
            if key[1] is not None:
                names = tuple(n for n in names if self.permissions.may(identity, Permission.READ, n))
            page = Page.of(render.index_json(names) if fmt.is_json else render.index_html(names))
            if len(entry.pages) > _MAX_INDEX_PAGES:
                entry.pages.clear()
            entry.pages[key] = page
        return page

    def project_page(
        self, identity: Identity, project: NormalizedName, fmt: SimpleFormat
    ) -> Page | UpstreamRedirect:
        """``/simple/<project>/`` rendered; cached per format and source, shared by readers."""
        view = self.views.view(identity, project)
        if isinstance(view, UpstreamRedirect):
            return view
        cached = self._rendered(view, fmt)
        if cached is not None:
            return cached
        self.metrics.count_cache(hit=False)
        kept = self.fragments.project(project)
        if fmt.is_json:
            body = render.project_json(view.files, kept.entry)
        else:
            body = render.project_html(view.files, kept.anchor)
        page = Page.of(body)
        if len(view.entry.pages) > _MAX_PROJECT_PAGES:
            view.entry.pages.clear()
        view.entry.pages[(fmt, id(view.files))] = (view.files, page)
        return page

    def document(
        self,
        identity: Identity,
        project: NormalizedName,
        key: Hashable,
        build: Callable[[ProjectFiles], tuple[Page, bool]],
    ) -> Page | UpstreamRedirect:
        """A document built from what the caller sees of ``project`` (the JSON API); kept
        per ``key`` and source when ``build`` says it depends on nothing else."""
        view = self.views.view(identity, project)
        if isinstance(view, UpstreamRedirect):
            return view
        cached = self._document(view, key)
        if cached is not None:
            return cached
        page, keep = build(view.files)
        if keep:
            documents = view.entry.pages.setdefault(_DOCUMENTS, {})
            assert isinstance(documents, dict)
            if len(documents) > _MAX_DOCUMENTS:
                documents.clear()
            documents[key] = (view.files, page)
        return page

    def cached_index_page(
        self, identity: Identity, fmt: SimpleFormat, arrived: float | None = None
    ) -> Page | None:
        """``index_page``'s answer when it is rendered already for a snapshot current (for a
        request that ``arrived`` then, if given), else None."""
        self.permissions.require(identity, Permission.READ)
        entry = self.catalog.fresh_index(arrived)
        if entry is None:
            return None
        page = entry.pages.get((fmt, self.permissions.visibility_key(identity)))
        return page if isinstance(page, Page) else None

    def cached_project_page(
        self, identity: Identity, project: NormalizedName, fmt: SimpleFormat, arrived: float | None = None
    ) -> Page | UpstreamRedirect | None:
        """``project_page``'s answer when it needs no I/O and no rendering, else None."""
        view = self.views.cached_view(identity, project, arrived)
        if view is None or isinstance(view, UpstreamRedirect):
            return view
        return self._rendered(view, fmt)

    def cached_document(
        self, identity: Identity, project: NormalizedName, key: Hashable, arrived: float | None = None
    ) -> Page | UpstreamRedirect | None:
        """``document``'s answer when it needs no I/O and no building, else None."""
        view = self.views.cached_view(identity, project, arrived)
        if view is None or isinstance(view, UpstreamRedirect):
            return view
        return self._document(view, key)

    def _document(self, view: View, key: Hashable) -> Page | None:
        documents = view.entry.pages.get(_DOCUMENTS)
        cached = documents.get(key) if isinstance(documents, dict) else None
        if isinstance(cached, tuple) and cached[0] is view.files:
            page: Page = cached[1]
            return page
        return None

    def _rendered(self, view: View, fmt: SimpleFormat) -> Page | None:
        """The page already rendered from exactly ``view.files`` (a hit is counted)."""
        cached = view.entry.pages.get((fmt, id(view.files)))
        if isinstance(cached, tuple) and cached[0] is view.files:
            self.metrics.count_cache(hit=True)
            page: Page = cached[1]
            return page
        return None
