"""The JSON response shapes: one module for ``--json``, the REST API and the widgets.

Every document BlackLake hands to a program — ``blacklake … --json``, the Jupyter server
extension's REST API (``docs/rest-api.md``), the notebook widgets' synced traits — is built
from the functions here, and described by the ``TypedDict`` classes here. The TypeScript
interfaces of the JupyterLab panel (``extension/src/types.ts``) are generated from these
classes by ``scripts/gen_types_ts.py`` (``tests/test_types_ts.py`` fails when they differ),
so a shape changes in one place.

Also here: the one timestamp format (:func:`format_time`, RFC 3339 UTC with microseconds,
e.g. ``2026-11-26T10:00:00.000000Z``) that commits, refs and lifecycle records are shown in.

Conventions for the generator: a ``FooDoc`` class becomes ``interface IFoo``; ``NotRequired``
fields become optional (``?``); a ``#:`` comment above a field becomes its doc comment; a
class named in :data:`TS_INDEX_SIGNATURE` also accepts other keys (REST documents that grow).
``JSONValue`` and ``Meta`` stand for any JSON value and a JSON object.

This module sits just above ``core``/``catalog`` in the layers (the service uses it too), so
it imports nothing but the standard library at run time; row types are for type checking.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, timezone
from typing import TYPE_CHECKING, Any, Generic, Literal, Protocol, TypeVar, cast

from typing_extensions import NotRequired, TypedDict

from blacklake_ml.core.uri import BlacklakeURI

if TYPE_CHECKING:
    from blacklake_ml.catalog import (
        AliasEvent,
        CommitRow,
        DeploymentRow,
        DeprecationRow,
        RefRow,
        RepoRow,
    )
    from blacklake_ml.catalog.lineage_base import NodeRow
    from blacklake_ml.catalog.search_base import CardDoc
    from blacklake_ml.core.objects import TreeEntry

# -- time -------------------------------------------------------------------------------------
TIME_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"


def format_time(when: datetime | float) -> str:
    """``when`` (an aware datetime, or epoch seconds) as RFC 3339 UTC with microseconds —
    the one timestamp format of every shape (commit times, ref and lifecycle records)."""
    if not isinstance(when, datetime):
        when = datetime.fromtimestamp(when, timezone.utc)
    return when.astimezone(timezone.utc).strftime(TIME_FORMAT)


def now_iso() -> str:
    """The current time in :func:`format_time`'s form."""
    return format_time(datetime.now(timezone.utc))


def today_utc() -> date:
    """Today's date in UTC (sunset dates are compared against it)."""
    return datetime.now(timezone.utc).date()


def past_sunset(row: DeprecationRow, today: date | None = None) -> bool:
    """True once the sunset date has passed (the sunset day itself is not past)."""
    return row.sunset is not None and date.fromisoformat(row.sunset) < (today or today_utc())


# -- JSON types -----------------------------------------------------------------------------------
#: any JSON value (TypeScript: ``JSONValue``)
JSONValue = Any
#: a JSON object (metadata, facts; TypeScript: ``Meta``)
Meta = dict[str, Any]
RefKind = Literal["branch", "tag", "alias"]
EntryKind = Literal["file", "dir"]
#: The model scanner's verdict on a file's content (see safety.ts).
SafetyVerdict = Literal["safe", "unsafe", "unknown"]

T = TypeVar("T")

#: shapes that may carry keys beyond those declared (TypeScript index signature)
TS_INDEX_SIGNATURE = ("DeploymentDoc", "WhyDoc", "LineageNodeDoc", "LineageEdgeDoc",
                      "AliasEventDoc")


class PageDoc(TypedDict, Generic[T]):
    """`{items, offset, limit}` plus `total` and/or `has_more`."""

    items: list[T]
    offset: int
    limit: int
    total: NotRequired[int]
    has_more: NotRequired[bool]


class ErrorDoc(TypedDict):
    """An error answer of the REST API (``reason``: the error class name)."""

    message: str
    reason: str


class StatusCountsDoc(TypedDict):
    repos: int
    cards: int


class StatusDoc(TypedDict):
    ok: bool
    extension: str
    version: str
    api_version: int
    store: dict[str, JSONValue] | None
    dense_search: bool | None
    counts: StatusCountsDoc | None
    empty: bool | None
    error: NotRequired[ErrorDoc]


class RepoDoc(TypedDict):
    """A repository (``repo list --json``)."""

    name: str
    description: str
    created: NotRequired[str | None]
    max_bytes: NotRequired[int | None]
    max_files: NotRequired[int | None]


class RefDoc(TypedDict):
    """A branch, tag or alias (``branch list --json``: the first three fields)."""

    name: str
    kind: RefKind
    commit: str
    updated: NotRequired[str | None]
    #: for aliases: the version the alias names
    label: NotRequired[str | None]


class DeploymentDoc(TypedDict):
    """A deployment record (``deploy list --json``)."""

    env: NotRequired[str]
    environment: NotRequired[str]
    seq: NotRequired[int]
    ref: NotRequired[str]
    commit: NotRequired[str]
    label: NotRequired[str | None]
    action: NotRequired[str]
    by: NotRequired[str | None]
    at: NotRequired[str | None]
    note: NotRequired[str | None]


class RepoHeadDoc(TypedDict):
    branch: str
    commit: str
    size: int | None
    files: int | None
    time: str | None


class RepoStatsDoc(TypedDict):
    commits: int
    branches: int
    tags: int
    aliases: int
    head: RepoHeadDoc | None


class RepoDetailDoc(RepoDoc):
    default_branch: str | None
    branches: list[RefDoc]
    tags: list[RefDoc]
    aliases: list[RefDoc]
    versions: NotRequired[JSONValue]
    deployments: NotRequired[list[DeploymentDoc]]
    deprecations: NotRequired[list[JSONValue]]
    stats: NotRequired[RepoStatsDoc]


class SafetyDoc(TypedDict):
    """The verdict fields of file rows, file details and search hits. Optional: older servers
    do not send them, and folders have none; a missing verdict is shown as unknown, never
    safe."""

    safety: NotRequired[SafetyVerdict]
    #: why the file is unsafe or not verified (may be empty)
    safety_reasons: NotRequired[list[str]]


class EntryDoc(SafetyDoc):
    """A directory listing row of the REST API (an ``ls`` row plus name and file count)."""

    path: str
    name: str
    kind: EntryKind
    size: int
    id: str
    meta: Meta
    nfiles: NotRequired[int]
    #: whether the search index has a model/dataset card here (null: ref not indexed)
    asset: NotRequired[bool | None]


class TreePageDoc(PageDoc[EntryDoc]):
    repo: str
    ref: str
    commit: str
    path: str


class AssetCardDoc(TypedDict):
    """An asset card: where it is, what it is, and every extracted fact."""

    path: str
    uri: str
    kind: str
    name: str
    size: int
    parameters: int | None
    facts: Meta


class ReadmeDoc(TypedDict):
    path: str
    text: str
    truncated: bool


class FileInfoDoc(SafetyDoc):
    """Everything the file (or asset directory) view shows."""

    path: str
    name: str
    kind: EntryKind
    size: int
    id: str
    meta: Meta
    nfiles: NotRequired[int]
    repo: str
    ref: str
    commit: str
    uri: str
    asset: AssetCardDoc | None
    readme: ReadmeDoc | None
    deprecation: Meta | None
    sha256: str | None
    md5: NotRequired[str | None]
    text: bool
    content: str | None
    content_truncated: bool
    #: the format the scanner recognised (files only)
    safety_format: NotRequired[str]
    #: why a file that looks like a model could not be read as one
    extraction_error: NotRequired[str | None]


class RefLabelDoc(TypedDict):
    name: str
    kind: RefKind | str


class CommitDoc(TypedDict):
    """A commit (``log --json``; the REST log adds the refs pointing at it)."""

    id: str
    parents: list[str]
    author: str
    time: str
    message: str
    meta: Meta
    size: NotRequired[int]
    files: NotRequired[int]
    refs: NotRequired[list[RefLabelDoc]]


class LogPageDoc(PageDoc[CommitDoc]):
    repo: str
    ref: str
    commit: str
    path: str


class DiffEntryDoc(TypedDict):
    """A file entry: an ``ls --json`` row, and an added or removed file of a diff."""

    path: str
    kind: EntryKind
    size: int
    id: str
    meta: Meta


class DiffBeforeDoc(TypedDict):
    size: int
    id: str
    meta: Meta


class ModifiedEntryDoc(DiffEntryDoc):
    changes: list[str]
    before: DiffBeforeDoc
    size_delta: int
    asset: NotRequired[str | None]
    facts_diff: NotRequired[dict[str, tuple[JSONValue, JSONValue]] | None]
    text_diff: NotRequired[str | None]


class TreeDiffDoc(TypedDict):
    """``diff --json``: what changed, each list sorted by path."""

    added: list[DiffEntryDoc]
    removed: list[DiffEntryDoc]
    modified: list[ModifiedEntryDoc]


class DiffSideDoc(TypedDict):
    ref: str
    commit: str


class DiffCountsDoc(TypedDict):
    added: int
    removed: int
    modified: int


class DiffDoc(TreeDiffDoc):
    repo: str
    a: DiffSideDoc
    b: DiffSideDoc
    path: str
    offset: int
    limit: int
    total: int
    has_more: bool
    counts: DiffCountsDoc


class WhyDoc(TypedDict):
    matched_terms: NotRequired[list[str]]
    keyword_evidence: NotRequired[float]
    similarity: NotRequired[float]
    bm25_rank: NotRequired[int]
    dense_rank: NotRequired[int]
    facets: NotRequired[dict[str, JSONValue]]


class SearchHitDoc(SafetyDoc):
    uri: str
    score: float
    why: WhyDoc
    repo: str
    ref: str
    path: str
    kind: str
    name: str
    size: int
    parameters: int | None
    refs: list[str]
    facts: Meta


class FacetCountDoc(TypedDict):
    value: str
    count: int


class SearchResultDoc(PageDoc[SearchHitDoc]):
    query: str
    mode: str
    facets: NotRequired[dict[str, list[FacetCountDoc]]]


class SimilarHitDoc(TypedDict):
    uri: str
    relation: str
    shared_fraction: float
    shared_bytes: int
    their_fraction: float
    jaccard_estimate: float
    size: int


class SimilarResultDoc(PageDoc[SimilarHitDoc]):
    uri: str


class LineageNodeDoc(TypedDict):
    id: str
    kind: str
    label: str
    uri: NotRequired[str]
    center: NotRequired[bool]


class LineageEdgeDoc(TypedDict):
    source: str
    target: str
    kind: str


class LineageDoc(TypedDict):
    uri: str
    center: str
    depth: int
    nodes: list[LineageNodeDoc]
    edges: list[LineageEdgeDoc]
    truncated: NotRequired[bool]


class MergeResultDoc(TypedDict):
    """What a merge, revert or cherry-pick did."""

    commit: str
    created: bool
    fast_forward: bool
    parents: list[str]


# ``from`` is a keyword: the functional form
AliasEventDoc = TypedDict("AliasEventDoc", {
    "alias": str,
    "seq": NotRequired["int | None"],
    "action": str,
    "from": "str | None",
    "to": "str | None",
    "from_label": NotRequired["str | None"],
    "to_label": NotRequired["str | None"],
    "by": NotRequired["str | None"],
    "at": NotRequired["str | None"],
    "reason": NotRequired["str | None"],
})


class VersionDoc(TypedDict):
    """A version (``version create --json``; ``version list`` adds the rest)."""

    name: str
    version: str
    commit: str
    prerelease: NotRequired[bool]
    created: str
    aliases: NotRequired[list[str]]
    deployed_to: NotRequired[list[str]]
    deprecated: NotRequired[DeprecationDoc | None]


class AliasDoc(TypedDict):
    """An alias (``alias list --json``)."""

    name: str
    commit: str
    label: str | None
    updated: str


class DeprecationDoc(TypedDict):
    """A deprecation (``commit`` null: the whole repository)."""

    commit: str | None
    label: str | None
    reason: str
    sunset: str | None
    past_sunset: bool
    by: str
    at: str


# -- building them --------------------------------------------------------------------------------
class _Version(Protocol):
    @property
    def name(self) -> str: ...
    @property
    def version(self) -> object: ...
    @property
    def commit(self) -> str: ...
    @property
    def prerelease(self) -> bool: ...
    @property
    def created(self) -> float: ...


class _MergeResult(Protocol):
    @property
    def commit(self) -> str: ...
    @property
    def created(self) -> bool: ...
    @property
    def fast_forward(self) -> bool: ...
    @property
    def parents(self) -> tuple[str, ...]: ...


def repo_json(row: RepoRow) -> RepoDoc:
    """A repository (a catalog ``RepoRow``)."""
    return {"name": row.name, "description": row.description,
            "created": format_time(row.created), "max_bytes": row.max_bytes,
            "max_files": row.max_files}


def ref_json(ref: RefRow) -> RefDoc:
    """The ``branch list`` / ``tag list`` shape of a ref."""
    return {"name": ref.name, "kind": cast(RefKind, ref.kind), "commit": ref.commit}


def ref_detail_json(ref: RefRow, label: str | None = None) -> RefDoc:
    """:func:`ref_json` plus when it last moved and, for aliases, the version it names."""
    doc = ref_json(ref)
    doc["updated"] = format_time(ref.updated)
    if ref.kind == "alias":
        doc["label"] = label
    return doc


def commit_json(row: CommitRow) -> CommitDoc:
    """The ``log --json`` shape of a commit."""
    return {"id": row.id, "parents": list(row.parents), "author": row.author,
            "time": row.time, "message": row.message, "meta": dict(row.meta),
            "size": row.size, "files": row.nfiles}


def entry_json(path: str, e: TreeEntry) -> DiffEntryDoc:
    """One entry at ``path`` (as ``ls`` prints it)."""
    return {"path": path, "kind": cast(EntryKind, e.kind), "size": e.size, "id": e.id,
            "meta": dict(e.meta)}


def tree_entry_json(path: str, e: TreeEntry) -> EntryDoc:
    """A directory listing row of the REST API: :func:`entry_json` plus ``name`` (empty for
    the root) and ``nfiles``."""
    return {"path": path, "kind": cast(EntryKind, e.kind), "size": e.size, "id": e.id,
            "meta": dict(e.meta), "name": e.name if path else "", "nfiles": e.nfiles}


def modified_json(path: str, a: TreeEntry, b: TreeEntry) -> ModifiedEntryDoc:
    """A file changed from ``a`` to ``b``: the new entry, what changed and what it was."""
    changes = []
    if a.id != b.id:
        changes.append("content")
    if dict(a.meta) != dict(b.meta):
        changes.append("meta")
    return {"path": path, "kind": cast(EntryKind, b.kind), "size": b.size, "id": b.id,
            "meta": dict(b.meta), "changes": changes,
            "before": {"size": a.size, "id": a.id, "meta": dict(a.meta)},
            "size_delta": b.size - a.size}


def tree_diff_json(added: Mapping[str, TreeEntry], removed: Mapping[str, TreeEntry],
                   modified: Mapping[str, tuple[TreeEntry, TreeEntry]]) -> TreeDiffDoc:
    """``{"added": [...], "removed": [...], "modified": [...]}`` sorted by path."""
    return {"added": [entry_json(p, e) for p, e in sorted(added.items())],
            "removed": [entry_json(p, e) for p, e in sorted(removed.items())],
            "modified": [modified_json(p, a, b) for p, (a, b) in sorted(modified.items())]}


def merge_result_json(result: _MergeResult) -> MergeResultDoc:
    """What a merge, revert or cherry-pick did."""
    return {"commit": result.commit, "created": result.created,
            "fast_forward": result.fast_forward, "parents": list(result.parents)}


def card_json(doc: CardDoc, repo: str, ref: str) -> AssetCardDoc:
    """An asset card: where it is, what it is, and every extracted fact."""
    return {"path": doc.path, "uri": str(BlacklakeURI(repo, ref, doc.path)),
            "kind": doc.kind, "name": doc.name, "size": doc.size,
            "parameters": doc.parameters, "facts": dict(doc.facts)}


def version_json(tag: _Version) -> VersionDoc:
    """A version as ``{"name", "version", "commit", "prerelease", "created"}``."""
    return {"name": tag.name, "version": str(tag.version), "commit": tag.commit,
            "prerelease": tag.prerelease, "created": format_time(tag.created)}


def new_version_json(row: RefRow, version: object) -> VersionDoc:
    """The version tag ``row`` just created (``version create --json``)."""
    return {"name": row.name, "version": str(version), "commit": row.commit,
            "created": format_time(row.updated)}


def alias_json(row: RefRow, label: str | None) -> AliasDoc:
    """An alias and the version it names (``alias list --json``)."""
    return {"name": row.name, "commit": row.commit, "label": label,
            "updated": format_time(row.updated)}


def alias_event_json(e: AliasEvent) -> AliasEventDoc:
    """An alias history entry."""
    return {"alias": e.alias, "seq": e.seq, "action": e.action, "from": e.from_commit,
            "to": e.to_commit, "from_label": e.from_label, "to_label": e.to_label,
            "by": e.by, "at": format_time(e.at), "reason": e.reason}


def alias_unchanged_json(name: str, commit: str, label: str | None, reason: str
                         ) -> AliasEventDoc:
    """``alias set`` when the alias already pointed there (no event recorded)."""
    return {"alias": name, "seq": None, "action": "unchanged", "from": commit, "to": commit,
            "from_label": label, "to_label": label, "by": None, "at": None, "reason": reason}


def deployment_json(d: DeploymentRow) -> DeploymentDoc:
    """A deployment record."""
    return {"environment": d.environment, "seq": d.seq, "commit": d.commit,
            "label": d.label, "action": d.action, "by": d.by, "at": format_time(d.at),
            "note": d.note}


def deprecation_json(row: DeprecationRow) -> DeprecationDoc:
    """A deprecation (``commit`` null: the whole repository)."""
    return {"commit": row.commit, "label": row.label, "reason": row.reason,
            "sunset": row.sunset, "past_sunset": past_sunset(row), "by": row.by,
            "at": format_time(row.at)}


def lineage_node_json(r: NodeRow, *, center: bool = False) -> LineageNodeDoc:
    """A recorded lineage node (its non-null columns; ``ref`` is its commit)."""
    doc: dict[str, Any] = {"id": r.key, "kind": r.kind, "label": r.label}
    for k in ("uri", "repo", "path", "commit", "object_id", "system"):
        v = getattr(r, k)
        if v is not None:
            doc[k] = v
    if r.commit is not None:
        doc["ref"] = r.commit
    if r.facets:
        doc["facets"] = dict(r.facets)
    if center:
        doc["center"] = True
    return cast(LineageNodeDoc, doc)


__all__ = [
    "TIME_FORMAT", "TS_INDEX_SIGNATURE", "AliasDoc", "AliasEventDoc", "AssetCardDoc",
    "CommitDoc", "DeploymentDoc", "DeprecationDoc", "DiffBeforeDoc", "DiffCountsDoc",
    "DiffDoc", "DiffEntryDoc", "DiffSideDoc", "EntryDoc", "EntryKind", "ErrorDoc",
    "FacetCountDoc", "FileInfoDoc", "JSONValue", "LineageDoc", "LineageEdgeDoc",
    "LineageNodeDoc", "LogPageDoc", "MergeResultDoc", "Meta", "ModifiedEntryDoc", "PageDoc",
    "ReadmeDoc", "RefDoc", "RefKind", "RefLabelDoc", "RepoDetailDoc", "RepoDoc",
    "RepoHeadDoc", "RepoStatsDoc", "SafetyDoc", "SafetyVerdict", "SearchHitDoc",
    "SearchResultDoc", "SimilarHitDoc", "SimilarResultDoc", "StatusCountsDoc", "StatusDoc",
    "TreeDiffDoc", "TreePageDoc", "VersionDoc", "WhyDoc", "alias_event_json", "alias_json",
    "alias_unchanged_json", "card_json", "commit_json", "deployment_json", "deprecation_json",
    "entry_json", "format_time", "lineage_node_json", "merge_result_json", "modified_json",
    "new_version_json", "now_iso", "past_sunset", "ref_detail_json", "ref_json",
    "repo_json", "today_utc", "tree_diff_json", "tree_entry_json", "version_json",
]
