"""Write verbs of the REST API (no tornado here): each calls one ``Repo`` verb.

Conflicts, taken names and lost compare-and-swaps raise the service's errors unchanged; the
error mapping turns them into 409s (with the conflicting paths for merges).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from blacklake_ml.core.names import validate_message
from blacklake_ml.jupyter.views import default_branch
from blacklake_ml.service import lifecycle
from blacklake_ml.service.merge import Strategy
from blacklake_ml.shapes import (
    AliasEventDoc,
    MergeResultDoc,
    RefDoc,
    alias_event_json,
    alias_unchanged_json,
    merge_result_json,
    ref_detail_json,
)

if TYPE_CHECKING:
    from blacklake_ml.api import Store


def create_branch(store: Store, repo: str, name: str, from_ref: str | None
                  ) -> RefDoc:
    """Create branch ``name`` at ``from_ref`` (default: the default branch)."""
    r = store.repo(repo)
    if from_ref is None:
        from_ref = default_branch(r.branches()) or "main"
    return ref_detail_json(r.create_branch(name, from_ref))


def delete_branch(store: Store, repo: str, name: str) -> dict[str, Any]:
    """Delete a branch."""
    store.repo(repo).delete_branch(name)
    return {"deleted": name, "kind": "branch"}


def create_tag(store: Store, repo: str, name: str, ref: str) -> RefDoc:
    """Tag ``ref`` (a semantic-version name creates a version, refusing a second spelling)."""
    return ref_detail_json(store.repo(repo).create_tag(name, ref))


def delete_tag(store: Store, repo: str, name: str) -> dict[str, Any]:
    """Delete a tag."""
    store.repo(repo).delete_tag(name)
    return {"deleted": name, "kind": "tag"}


def set_alias(store: Store, repo: str, name: str, ref: str, expect: str | None,
              reason: str) -> AliasEventDoc:
    """Point alias ``name`` at ``ref`` (compare-and-swap against ``expect`` if given).

    The recorded alias event, or ``action: "unchanged"`` when it already pointed there (the
    ``alias set --json`` shapes).
    """
    lifecycle.validate_alias_name(name)
    why = lifecycle.validate_text(reason, "reason")
    r = store.repo(repo)
    event = r.lifecycle.set_alias(name, ref, expected=expect, reason=why)
    if event is not None:
        return alias_event_json(event)
    commit = r.resolve(name)
    label = r.lifecycle.labeler()(commit, ref)
    return alias_unchanged_json(name, commit, label, why)


def merge(store: Store, repo: str, source: str, target: str, *, message: str | None,
          strategy: Strategy, no_ff: bool) -> MergeResultDoc:
    """Merge ``source`` (any ref) into branch ``target``."""
    # An explicit message must be a real one (the service would silently replace "").
    msg = validate_message(message) if message is not None else f"Merge {source} into {target}"
    r = store.repo(repo)
    source_id = r.resolve(source)  # merge the commit the user saw, even if `source` moves
    return merge_result_json(r.merge(source_id, target, message=msg, strategy=strategy,
                               no_ff=no_ff))


def revert(store: Store, repo: str, commit: str, branch: str, message: str | None
           ) -> MergeResultDoc:
    """Commit the inverse of ``commit``'s change onto ``branch``."""
    if message is not None:
        validate_message(message)
    return merge_result_json(store.repo(repo).revert(commit, branch, message=message))


def cherry_pick(store: Store, repo: str, commit: str, target: str, message: str | None
                ) -> MergeResultDoc:
    """Apply the change ``commit`` made onto branch ``target``."""
    if message is not None:
        validate_message(message)
    return merge_result_json(store.repo(repo).cherry_pick(commit, target, message=message))
