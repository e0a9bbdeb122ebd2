"""Finding things: ``search``, ``similar`` and ``index``."""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

import click

from blacklake_ml.cli.output import emit, human_size, note
from blacklake_ml.cli.state import CliState, json_option, pass_state

if TYPE_CHECKING:
    from blacklake_ml.search.engine import Mode


@click.command("search")
@click.argument("query")
@click.option("--repo", metavar="R", help="Only cards of repository R.")
@click.option("--filter", "filters", multiple=True, metavar="K=V",
              help="Facet filter, repeatable: framework, task, license, license_family, "
                   "language, tags, kind, format, repo, branch, tag; numeric size/parameters "
                   "take K<N or K>N (e.g. parameters<1e9).")
@click.option("-k", "k", type=click.IntRange(1, 1000), default=10, show_default=True,
              help="Number of hits.")
@click.option("--mode", type=click.Choice(["hybrid", "bm25", "dense"]), default="hybrid",
              show_default=True, help="Ranking: both sides fused, or one side only.")
@json_option
@pass_state
def search(state: CliState, query: str, repo: str | None, filters: tuple[str, ...], k: int,
           mode: str) -> None:
    """Search models and datasets by meaning and keywords, best first."""
    hits = state.store().search(query, k=k, repo=repo, filters=list(filters),
                                mode=cast("Mode", mode))
    docs = [h.to_json() for h in hits]
    if not docs:
        note(state, "no good match (try fewer filters or other words)")
    lines = []
    for d in docs:
        why = ", ".join(d["why"].get("matched_terms", []))
        sim = d["why"].get("similarity")
        extra = f"sim {sim:.2f}" if sim is not None else ""
        lines.append((f"{d['score']:.4f}", d["uri"], d["kind"], d["name"],
                      f"matched: {why}" if why else "", extra))
    emit(state, docs, lines)


@click.command("similar")
@click.argument("uri")
@click.option("-n", "limit", type=click.IntRange(1, 1000), default=20, show_default=True,
              help="At most N files.")
@json_option
@pass_state
def similar(state: CliState, uri: str, limit: int) -> None:
    """Stored files sharing chunks with URI (fine-tunes, re-saves, variants), and the
    base_model lineage its model card declares."""
    hits = state.store().similar(uri, limit=limit)
    docs = [h.to_json() for h in hits]
    if not docs:
        note(state, "nothing stored shares chunks with this file")
    lines = [(f"{d['shared_fraction']:.1%}" if d["relation"] in ("identical", "shares-chunks")
              else "-", d["relation"], d["uri"],
              human_size(d["shared_bytes"]) if d["shared_bytes"] else "") for d in docs]
    emit(state, docs, lines)


@click.command("index")
@click.option("--repo", metavar="R", help="Only repository R.")
@click.option("--full", is_flag=True, help="Drop the index and rebuild it from the objects "
              "(extracted facts, vectors and sketches are reused by content).")
@click.option("--embed/--no-embed", default=True, show_default=True,
              help="Also compute missing embeddings now (else the next search does).")
@json_option
@pass_state
def index(state: CliState, repo: str | None, full: bool, embed: bool) -> None:
    """Bring the search index up to date (normally automatic on every commit)."""
    store = state.store()
    doc = store.reindex(repo, full=full, progress=state.progress())
    if embed:
        doc["embedded"] = store.searcher().embed_pending()
    emit(state, doc, [f"{k}: {v}" for k, v in doc.items() if k != "errors"] +
         [f"error: {e}" for e in doc["errors"]])


COMMANDS = [search, similar, index]
