"""Keep the search index in step with the heads of branches and tags.

Indexing is a reconcile, not an event stream: ``search_heads`` says which commit each ref was
last indexed at, and :meth:`Indexer.sync` diffs that commit against the ref's current one, so
only changed paths are re-examined. A crash, a failed hook or a concurrent writer merely leaves
work for the next sync (after the next commit, or before the next search).

Assets: a directory some :class:`~blacklake_ml.extract.base.DirExtractor` recognises (a
Hugging Face model folder, an MLflow model, a SavedModel, an image-folder dataset) is one card
and the files inside it get none; any other file a :class:`FileExtractor` recognises is a card.
"""

from __future__ import annotations

import logging
import posixpath
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import orjson

from blacklake_ml.catalog.search_base import CardDoc, SearchIndex
from blacklake_ml.core.collector import collector_paused
from blacklake_ml.core.objects import TreeEntry
from blacklake_ml.core.progress import NULL_PROGRESS, Progress
from blacklake_ml.extract import registry
from blacklake_ml.extract.base import FileExtractor, Source
from blacklake_ml.extract.local import BytesSource
from blacklake_ml.search.sketch import SKETCH_MIN_SIZE, sketch_rows
from blacklake_ml.search.text import build_card
from blacklake_ml.service.diff import diff_trees
from blacklake_ml.service.sources import WHOLE_BELOW, StoredDirView, StoredSource
from blacklake_ml.service.trees import lookup, walk_files

if TYPE_CHECKING:
    from blacklake_ml.service.repo import Repo
    from blacklake_ml.service.store import Store

_log = logging.getLogger(__name__)

#: file name suffixes worth reading a header for (everything else is never opened)
KNOWN_SUFFIXES = (".onnx", ".pt", ".pth", ".bin", ".ckpt", ".safetensors", ".gguf", ".keras",
                  ".h5", ".pkl", ".pickle", ".joblib", ".skops", ".csv", ".tsv", ".parquet",
                  ".pq", ".tflite")
INDEXED_KINDS = ("branch", "tag")
#: file manifests prefetched per catalog round trip
FILE_BATCH = 2048
#: bytes of small files held in memory at once while their cards are built
READ_BATCH_BYTES = 32 * 1024 * 1024


@dataclass
class SyncReport:
    """What one sync did."""

    refs: int = 0
    upserted: int = 0
    removed: int = 0
    extracted: int = 0
    errors: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """JSON form for ``blacklake index --json``."""
        return {"refs": self.refs, "upserted": self.upserted, "removed": self.removed,
                "extracted": self.extracted, "errors": self.errors}


def _all_ancestors(paths: Iterable[str]) -> set[str]:
    """Every directory above ``paths``, the root ``""`` included (each walked up once)."""
    out: set[str] = set()
    for d in {p.rpartition("/")[0] for p in paths}:
        while d not in out:
            out.add(d)
            if not d:
                break
            d = d.rpartition("/")[0]
    return out


def _known(path: str) -> bool:
    return path.lower().endswith(KNOWN_SUFFIXES)


class Indexer:
    """Reconciles one store's search index with its refs."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.odb = store.odb
        self.index: SearchIndex = store.catalog.search_index()

    # -- entry points ------------------------------------------------------------------------
    def sync(self, repo: Repo, progress: Progress = NULL_PROGRESS) -> SyncReport:
        """Bring every branch and tag of ``repo`` up to date in the index."""
        with collector_paused():
            return self._sync(repo, progress)

    def _sync(self, repo: Repo, progress: Progress) -> SyncReport:
        report = SyncReport()
        refs = [r for r in self.store.catalog.list_refs(repo.id) if r.kind in INDEXED_KINDS]
        live = {r.name: r for r in refs}
        heads = self.index.heads(repo.id)
        for gone in sorted(set(heads) - set(live)):
            self.index.drop_ref(repo.id, gone)
            del heads[gone]
        # Branches first (main first) so tags usually copy an indexed branch at their commit.
        order = sorted(refs, key=lambda r: (r.kind != "branch", r.name != "main", r.name))
        for ref in order:
            old = heads.get(ref.name)
            if old == ref.commit:
                continue
            if old is None:
                base = next((n for n, c in heads.items() if c == ref.commit), None) or \
                    next(iter(heads), None)
                if base is not None:
                    self.index.copy_ref(repo.id, base, ref.name, ref.kind)
                    old = heads[base]
            self._apply(repo, ref.name, ref.kind, old, ref.commit, report, progress)
            self.index.set_head(repo.id, ref.name, ref.commit)
            heads[ref.name] = ref.commit
            report.refs += 1
        return report

    def asset_card(self, repo: Repo, commit: str, path: str, *, ref: str = "",
                   ref_kind: str = "branch") -> CardDoc | None:
        """The card of the asset holding ``path`` at ``commit``, built as :meth:`sync` builds
        cards: the nearest enclosing directory (``path`` itself included) that is an asset,
        else the file itself if it is one; None if neither (or ``path`` does not exist).

        Works at any commit, not only at indexed heads: facts come from the content-keyed
        extraction cache (filled on a miss), so content some ref has indexed costs no read.
        ``ref``/``ref_kind`` only label the card's facets.
        """
        odb = self.odb
        tree = odb.commit(commit).tree
        parts = path.split("/") if path else []
        report = SyncReport()
        for i in range(len(parts), -1, -1):
            p = "/".join(parts[:i])
            e = lookup(odb, tree, p)
            if e is None or not e.is_dir:
                continue
            facts = self._dir_facts(p, e, report)
            if facts is not None:
                meta: dict[str, str] = {}
                for x in odb.tree(e.id):
                    meta.update(x.meta)
                return build_card(p, e.id, e.size, facts, repo=repo.name, ref=ref,
                                  ref_kind=ref_kind, meta=meta)
        e = lookup(odb, tree, path) if path else None
        if e is None or e.is_dir or not _known(path):
            return None
        return self._file_card(repo, ref, ref_kind, path, e, report)

    # -- one ref -------------------------------------------------------------------------------
    def _apply(self, repo: Repo, ref: str, ref_kind: str, old: str | None, new: str,
               report: SyncReport, progress: Progress) -> None:
        odb = self.odb
        old_tree = odb.commit(old).tree if old else None
        new_tree = odb.commit(new).tree
        diff = diff_trees(odb, old_tree, new_tree)
        changed = diff.paths()
        if not changed:
            return
        dirs = sorted(_all_ancestors(changed))
        asset_dirs: dict[str, tuple[TreeEntry, dict[str, Any]]] = {}
        for d in dirs:
            e = lookup(odb, new_tree, d)
            if e is not None and e.is_dir:
                facts = self._dir_facts(d, e, report)
                if facts is not None:
                    asset_dirs[d] = (e, facts)

        def inside_asset(p: str) -> bool:
            return any(a == "" or p.startswith(a + "/") for a in asset_dirs if a != p)

        # Only directories and known-suffix files ever get cards (see _known), and a path
        # the old tree did not have has none (the index is at the old commit): asking about
        # 10,000 added files would be a query for nothing.
        added = set(diff.added)
        had = self.index.card_keys(repo.id, ref, dirs + sorted(
            p for p in changed if p not in added and _known(p)))
        remove = [d for d in dirs if d in had and d not in asset_dirs]
        # A changed file that had a card loses it unless a new card replaces it below
        # (removed, now inside an asset, or no longer recognised by any extractor).
        remove += [p for p in changed if p in had]
        for d in asset_dirs:
            remove += [p for p in self.index.card_paths_under(repo.id, ref, d) if p != d]
        # Files whose enclosing asset directory stopped being one get cards of their own.
        freed: dict[str, TreeEntry] = {}
        for d in (d for d in dirs if d in had and d not in asset_dirs):
            e = lookup(odb, new_tree, d)
            if e is not None and e.is_dir:
                freed.update((p, fe) for p, fe in walk_files(odb, e.id, d))
        files: dict[str, TreeEntry] = {p: e for p, e in freed.items() if not inside_asset(p)}
        for p in changed:
            e = diff.after(p)
            if e is not None and not inside_asset(p):
                files[p] = e
        docs: list[CardDoc] = []
        todo = len(asset_dirs) + len(files)
        progress.start(todo, "indexing")
        for d, (e, facts) in asset_dirs.items():
            meta: dict[str, str] = {}
            for x in odb.tree(e.id):
                meta.update(x.meta)
            docs.append(build_card(d, e.id, e.size, facts, repo=repo.name, ref=ref,
                                   ref_kind=ref_kind, meta=meta))
            progress.advance(1)
        candidates = [(p, e) for p, e in sorted(files.items()) if _known(p)]
        progress.advance(len(files) - len(candidates))
        docs.extend(self._file_cards(repo, ref, ref_kind, candidates, report, progress))
        progress.finish()
        doc_paths = {d.path for d in docs}
        # Skip cards whose content and text did not change (e.g. metadata-only moves).
        docs = [d for d in docs if had.get(d.path) != (d.object_id, d.text_hash)]
        remove = sorted(set(remove) - doc_paths)
        self.index.delete_cards(repo.id, ref, remove)
        self.index.upsert_cards(repo.id, ref, docs)
        report.removed += len(remove)
        report.upserted += len(docs)
        # Every changed file is sketched, card or not (weights inside a model folder are
        # exactly what `similar` compares).
        touched = {p: e for p in changed if (e := diff.after(p)) is not None}
        self._sketch(repo, ref, diff.removed, touched, added)

    def _cached(self, object_id: str, key: str, compute: Any, report: SyncReport
                ) -> dict[str, Any]:
        hit = self.index.cached_facts([object_id], key)
        if object_id in hit:
            return dict(orjson.loads(hit[object_id]))
        facts = compute()
        report.extracted += 1
        if facts.get("error"):
            report.errors.append(f"{facts.get('extractor', key)}: {facts['error']}")
        self.index.cache_facts(key, [(object_id, orjson.dumps(facts, default=str).decode())])
        return facts

    def _dir_facts(self, path: str, e: TreeEntry, report: SyncReport
                   ) -> dict[str, Any] | None:
        """Facts of the directory if it is one asset, else None.

        Names decide a candidate (cheap); extraction decides (an extractor that finds, on
        reading, that the folder is not its kind declines). Both outcomes are cached by tree
        id, so unchanged directories are never re-read.
        """
        # raw rows ([name, "f"/"d", id, size, ...]): no TreeEntry per child of a big folder
        entries = [(r[0], r[1], r[3]) for r in self.odb.tree(e.id).rows()]
        if registry.dir_extractor_for(entries) is None:
            return None
        key = "dir:" + ",".join(f"{x.name}{x.version}" for x in registry.dir_extractors())
        view = StoredDirView(self.odb, e.id, posixpath.basename(path))

        def compute() -> dict[str, Any]:
            facts = registry.extract_dir(view)
            return facts.to_json() if facts is not None else {"not_asset": True}

        facts = self._cached(e.id, key[:128], compute, report)
        return None if facts.get("not_asset") else facts

    def _file_card(self, repo: Repo, ref: str, ref_kind: str, path: str, e: TreeEntry,
                   report: SyncReport) -> CardDoc | None:
        cards = self._file_cards(repo, ref, ref_kind, [(path, e)], report, NULL_PROGRESS)
        return cards[0] if cards else None

    def _file_cards(self, repo: Repo, ref: str, ref_kind: str,
                    files: list[tuple[str, TreeEntry]], report: SyncReport,
                    progress: Progress) -> list[CardDoc]:
        """Cards of the files some file extractor recognises (name and first bytes).

        Batched, because a put of 10,000 files that look like models must not cost a catalog
        round trip -- nor a read -- per file: manifests are prefetched together, small files
        are read together (a few ranged reads of their packs, every chunk verified), cached
        facts are read with one query per extractor and batch and the new ones written with
        one. A file whose bytes are not the format it is named after (``NotRecognised``:
        a random-bytes ``.pkl``) gets its failure recorded as a fact but no card.
        """
        cards: list[CardDoc] = []
        for start in range(0, len(files), FILE_BATCH):
            part = files[start:start + FILE_BATCH]
            self.odb.prefetch_files(e.id for _, e in part)
            small: list[tuple[str, TreeEntry]] = []
            size = 0
            for path, e in part:
                if e.size <= WHOLE_BELOW:
                    small.append((path, e))
                    size += e.size
                    if size >= READ_BATCH_BYTES:
                        cards += self._file_batch(repo, ref, ref_kind, small, report, progress)
                        small, size = [], 0
                else:
                    cards += self._file_batch(repo, ref, ref_kind, [(path, e)], report,
                                              progress)
            if small:
                cards += self._file_batch(repo, ref, ref_kind, small, report, progress)
        cards.sort(key=lambda c: c.path)
        return cards

    def _file_batch(self, repo: Repo, ref: str, ref_kind: str,
                    files: list[tuple[str, TreeEntry]], report: SyncReport,
                    progress: Progress) -> list[CardDoc]:
        """Cards of one batch of :meth:`_file_cards` (small files read together, in memory)."""
        odb = self.odb
        manifests = [odb.file(e.id) for _, e in files]
        contents: list[bytes] | None = None
        if all(m.size <= WHOLE_BELOW for m in manifests):
            # Unverified: extraction only derives card facts, which never stand in for the
            # bytes (a get, a checkout and the safety scanner verify what they read), and
            # these are usually what the put in this process has just hashed and written.
            contents = odb.read_small_files(manifests, verified=False)
        todo: dict[str, list[tuple[str, TreeEntry, Source, list[FileExtractor]]]] = {}
        for i, (path, e) in enumerate(files):
            name = posixpath.basename(path)
            src: Source
            if contents is not None:
                src = BytesSource(name, contents[i])
                head = contents[i][:registry.HEAD_BYTES]
            else:
                src = StoredSource(odb, e.id, name)
                head = src.read(0, registry.HEAD_BYTES)
            matching = registry.file_extractors_matching(name, head)
            if not matching:
                progress.advance(1)
                continue
            ex = matching[0]
            todo.setdefault(f"file:{ex.name}:{ex.version}", []).append((path, e, src, matching))
        cards: list[CardDoc] = []
        for key, group in todo.items():
            # Files this process has just written are new to the store: no facts of them
            # can be cached, so only the others are looked up.
            ids = {e.id for _, e, _, _ in group}
            ids -= odb.published_here(ids)
            hit = self.index.cached_facts(sorted(ids), key) if ids else {}
            fresh: dict[str, str] = {}
            for path, e, src, matching in group:
                raw = hit.get(e.id) or fresh.get(e.id)
                if raw is not None:
                    facts = dict(orjson.loads(raw))
                else:
                    made = registry.extract_file(src, matching=matching)
                    facts = made.to_json() if made else {}
                    report.extracted += 1
                    if facts.get("error"):
                        report.errors.append(f"{facts.get('extractor', key)}: "
                                             f"{facts['error']}")
                    fresh[e.id] = orjson.dumps(facts, default=str).decode()
                progress.advance(1)
                if facts.get("recognised", True) is False:
                    continue  # not the format it is named after: a fact, not an asset
                cards.append(build_card(path, e.id, e.size, facts, repo=repo.name, ref=ref,
                                        ref_kind=ref_kind, meta=e.meta))
            if fresh:
                self.index.cache_facts(key, sorted(fresh.items()))
        return cards

    def _sketch(self, repo: Repo, ref: str, removed: Iterable[str],
                files: dict[str, TreeEntry], added: set[str]) -> None:
        big = {p: e for p, e in files.items() if e.size >= SKETCH_MIN_SIZE}
        # A small file's row is deleted only where the path had one (it was big before);
        # an added path had none.
        small = [p for p, e in files.items() if e.size < SKETCH_MIN_SIZE and p not in added]
        have = self.index.sketched(sorted({e.id for e in big.values()})) if big else set()
        todo = {e.id for e in big.values()} - have
        if todo:
            self.index.put_sketches(sketch_rows(self.odb, sorted(todo)))
        self.index.set_files(repo.id, ref, sorted((p, e.id) for p, e in big.items()),
                             sorted(set(removed) | set(small)))


def make_listener(store: Store) -> Any:
    """A ``Store.ref_listeners`` entry that syncs the changed repository."""
    indexer = Indexer(store)

    def on_refs_changed(repo: Repo) -> None:
        report = indexer.sync(repo)
        # Failures are facts of the files (``ls --json`` "extraction_error", the panel), not
        # warnings: a folder of 10,000 ``.pt`` files that are not checkpoints is not news.
        for err in report.errors[:5]:
            _log.debug("extraction: %s", err)

    return on_refs_changed
