"""Model lifecycle: semantic versions, aliases, deployments and deprecations.

A *model* is a repository and its *versions* are tags named by semantic versions (see
:mod:`blacklake_ml.core.semver`). On top of them:

* **Aliases** (``champion``, ``staging``) are refs of kind ``alias``: they resolve like any
  ref (``blacklake://repo/champion/model.pt``), gc keeps what they point at, and they move
  only by compare-and-swap, each move recorded in the alias's event log in the same catalog
  transaction.
* **Deployments** record which commit runs in which environment, since when and by whom;
  the latest record of an environment is what runs there. Deployed commits are gc roots.
* **Deprecations** mark one commit or the whole repository, with a reason and an optional
  sunset date; loading a deprecated model warns (:class:`DeprecatedModelWarning`).

Rollback and roll-forward (aliases and deployments alike) are an undo/redo stack derived by
replaying the event log (:func:`replay`):

* moving (``set``/``deploy``) to a different commit pushes the current one on the undo
  stack and clears the redo stack;
* ``rollback`` moves to the top of the undo stack and pushes the current one on the redo
  stack, so rolling back twice goes two targets back;
* ``roll-forward`` undoes the last rollback: it moves to the top of the redo stack and pushes
  the current one on the undo stack. After a new move there is nothing to roll forward to;
* deleting an alias clears both stacks (a re-created alias starts afresh; its old events
  stay in the log).

A rollback is computed from the log, so it is applied only if the log has not grown since it
was read (``after_seq``); a concurrent change makes it fail with :class:`RefConflict`
rather than undo something the caller never saw.
"""

from __future__ import annotations

import re
import sys
import time
import warnings
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from typing import TYPE_CHECKING, Any

from blacklake_ml.catalog import AliasEvent, DeploymentRow, DeprecationRow, RefRow
from blacklake_ml.core import semver
from blacklake_ml.core.names import HEX_RE, validate_ref_name
from blacklake_ml.core.retry import LOST, MAX_ATTEMPTS, Lost, retry_cas
from blacklake_ml.errors import (
    DeprecatedModelWarning,
    EnvironmentNotFound,
    InvalidInput,
    InvalidName,
    NoHistory,
    NotFound,
    RefConflict,
    RefExists,
    RefMoved,
    RefNotFound,
)

if TYPE_CHECKING:
    from blacklake_ml.service.repo import Repo

MAX_REASON_CHARS = 1024
MAX_ACTOR_CHARS = 256
#: How long a Repo handle trusts what it read about a commit's deprecation (seconds). Loads
#: stay at one catalog query per commit per interval; a deprecation made elsewhere shows up
#: after at most this long (one made through the same handle shows up at once).
DEPRECATION_TTL = 5.0
_CACHE_LIMIT = 1024
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_DATE_RE = re.compile(r"\d{4}-\d{2}-\d{2}")


# -- validation -----------------------------------------------------------------------------
def validate_text(text: str, what: str, *, required: bool = False,
                  limit: int = MAX_REASON_CHARS) -> str:
    """A stripped one-line reason/note: no control characters, at most ``limit`` chars."""
    if not isinstance(text, str):
        raise InvalidInput(f"{what} must be a string")
    out = text.strip()
    if required and not out:
        raise InvalidInput(f"{what} is empty: pass one with -m")
    if _CONTROL.search(out):
        raise InvalidInput(f"{what} must be one line without control characters")
    if len(out) > limit:
        raise InvalidInput(f"{what} is longer than {limit} characters")
    return out


def actor(repo: Repo, by: str | None) -> str:
    """Who does it: ``by``, else the configured author."""
    who = by if by is not None else (repo.store.config.author or "unknown")
    return validate_text(who, "the author (by)", required=True, limit=MAX_ACTOR_CHARS)


def parse_sunset(value: str | date | None) -> str | None:
    """A sunset date as ``YYYY-MM-DD`` (a :class:`~datetime.date` or that string), or None."""
    if value is None:
        return None
    if isinstance(value, datetime):
        value = value.date()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, str) and _DATE_RE.fullmatch(value):
        try:
            return date.fromisoformat(value).isoformat()
        except ValueError:
            pass
    raise InvalidInput(f"invalid sunset date {value!r}: use YYYY-MM-DD, e.g. 2027-01-31")


def validate_environment(env: str) -> str:
    """An environment name follows the branch-name rules."""
    return validate_ref_name(env, "environment")


def validate_alias_name(name: str) -> str:
    """Alias names follow the branch-name rules and must not look like a version."""
    validate_ref_name(name, "alias")
    if semver.is_version(name):
        raise InvalidName(f"invalid alias name {name!r}: it looks like a version (versions "
                          "are tags: use 'version create')")
    return name


def iso(ts: float) -> str:
    """An epoch time as RFC 3339 UTC (the shape commits use)."""
    return datetime.fromtimestamp(ts, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def today_utc() -> date:
    """Today's date in UTC (sunset dates are compared against it)."""
    return datetime.now(timezone.utc).date()


# -- versions -------------------------------------------------------------------------------
@dataclass(frozen=True)
class VersionTag:
    """A version of a model: a tag whose name is a semantic version."""

    name: str
    version: semver.Version
    commit: str
    created: float

    @property
    def prerelease(self) -> bool:
        """True for ``1.0.0-rc.1`` and the like."""
        return self.version.is_prerelease


def _version_tags(tags: Iterable[RefRow]) -> list[VersionTag]:
    out = []
    for ref in tags:
        try:
            v = semver.parse(ref.name)
        except InvalidInput:
            continue  # an ordinary tag
        out.append(VersionTag(ref.name, v, ref.commit, ref.updated))
    return sorted(out, key=lambda t: (t.version, t.name))


def versions(repo: Repo) -> list[VersionTag]:
    """Every version of the repository, lowest precedence first."""
    return _version_tags(repo.store.catalog.list_refs(repo.id, "tag"))


def create_version(repo: Repo, version: str, ref: str = "main") -> RefRow:
    """Tag ``ref`` as ``version``; refuses a version that exists under any spelling."""
    v = semver.parse(version)
    validate_ref_name(version, "version")  # also the ref-name length limit
    commit = repo._existing_commit(ref)
    spellings = [str(v), f"v{v}"]
    row = repo.store.catalog.create_tag_exclusive(repo.id, version, commit, spellings)
    repo.store.refs_changed(repo)
    return row


def resolve_version(repo: Repo, spec: str, *, prerelease: bool = False) -> VersionTag:
    """The version ``spec`` selects: ``latest`` (highest release), ``newest`` (highest,
    prereleases included) or the highest match of a range (``^1.2``, ``>=1,<2``, ``1.x``)."""
    if not isinstance(spec, str):
        raise InvalidInput("version spec must be a string")
    all_versions = versions(repo)
    if spec == "latest":
        found = [t for t in all_versions if not t.prerelease or prerelease]
    elif spec == "newest":
        found = all_versions
    else:
        rng = semver.parse_range(spec)
        found = [t for t in all_versions if rng.matches(t.version, prerelease=prerelease)]
    if not found:
        what = "no versions" if not all_versions else f"no version matching {spec!r}"
        raise RefNotFound(f"{what} in repository {repo.name!r}")
    return found[-1]


def labeler(repo: Repo) -> Callable[[str, str | None], str | None]:
    """``label(commit, ref)``: the version name for ``commit`` (one query for the tags).

    ``ref`` wins when it is a version naming that commit; otherwise the highest version at
    the commit, or None.
    """
    tags = _version_tags(repo.store.catalog.list_refs(repo.id, "tag"))
    by_commit: dict[str, str] = {}
    names = {t.name: t.commit for t in tags}
    for t in tags:  # ascending: the highest version ends up winning
        by_commit[t.commit] = t.name

    def label(commit: str, ref: str | None = None) -> str | None:
        if ref is not None and names.get(ref) == commit:
            return ref
        return by_commit.get(commit)

    return label


# -- undo/redo timelines --------------------------------------------------------------------
@dataclass(frozen=True)
class Target:
    """Where an alias or environment pointed: a commit and its version label then."""

    commit: str
    label: str | None


@dataclass
class Timeline:
    """The state :func:`replay` derives: current target, undo and redo stacks (top last)."""

    current: Target | None = None
    undo: list[Target] = field(default_factory=list)
    redo: list[Target] = field(default_factory=list)


def replay(steps: Iterable[tuple[str, str | None, str | None]]) -> Timeline:
    """Replay ``(action, to_commit, to_label)`` steps, oldest first (module docstring)."""
    tl = Timeline()
    for action, commit, label in steps:
        new = Target(commit, label) if commit is not None else None
        if action == "delete" or new is None:
            tl = Timeline()
        elif action == "rollback" and tl.undo:
            tl.undo.pop()
            if tl.current is not None:
                tl.redo.append(tl.current)
            tl.current = new
        elif action == "rollforward" and tl.redo:
            tl.redo.pop()
            if tl.current is not None:
                tl.undo.append(tl.current)
            tl.current = new
        else:  # create, move, deploy
            if tl.current is not None and tl.current.commit != new.commit:
                tl.undo.append(tl.current)
                tl.redo.clear()
            tl.current = new
    return tl


# -- aliases --------------------------------------------------------------------------------
def _alias_row(repo: Repo, name: str) -> RefRow:
    row = repo.store.catalog.get_ref(repo.id, name)
    if row is None:
        raise RefNotFound(f"no alias named {name!r} in repository {repo.name!r}")
    if row.kind != "alias":
        raise RefNotFound(f"{name!r} is a {row.kind}, not an alias")
    return row


def _expected_commit(repo: Repo, expected: str) -> str:
    """The commit id a caller's ``expected`` names (a full id is taken as is)."""
    if isinstance(expected, str) and len(expected) == 64 and HEX_RE.fullmatch(expected):
        return expected
    return repo.resolve(expected)


def aliases(repo: Repo) -> list[RefRow]:
    """Every alias of the repository, by name."""
    return repo.store.catalog.list_refs(repo.id, "alias")


def set_alias(repo: Repo, name: str, ref: str, *, expected: str | None = None,
              reason: str = "", by: str | None = None) -> AliasEvent | None:
    """Point alias ``name`` at the commit ``ref`` names (creating the alias if needed).

    With ``expected`` (a commit id or ref), the alias must currently point there, else
    :class:`RefConflict` and nothing changes. Without it, a concurrent move is retried: the
    alias ends at ``ref`` and both moves are in its history. Returns the recorded event, or
    None when the alias already pointed at that commit.
    """
    validate_alias_name(name)
    why, who = validate_text(reason, "reason"), actor(repo, by)
    exp = _expected_commit(repo, expected) if expected is not None else None
    target = repo._existing_commit(ref)
    catalog = repo.store.catalog

    def attempt() -> AliasEvent | None | Lost:
        # Each try re-reads the alias: a move that lost the race to a concurrent one is
        # retried from where that one left it (unless the caller pinned ``expected``).
        row = catalog.get_ref(repo.id, name)
        if row is not None and row.kind != "alias":
            raise RefExists(f"a {row.kind} named {name!r} already exists: an alias cannot "
                            "share its name")
        current = row.commit if row is not None else None
        if exp is not None and current != exp:
            where = f"points at {current[:12]}" if current else "does not exist"
            raise RefConflict(f"alias {name!r} {where}, not at the expected {exp[:12]}; "
                              "nothing changed")
        if current == target:
            return None
        label = labeler(repo)
        try:
            event = catalog.move_alias(
                repo.id, name, current, target, action="create" if current is None else "move",
                by=who, reason=why, from_label=label(current, None) if current else None,
                to_label=label(target, ref))
        except (RefMoved, RefExists):
            if exp is not None:
                raise RefConflict(f"alias {name!r} moved concurrently; nothing changed"
                                  ) from None
            return LOST
        repo.store.refs_changed(repo)
        return event

    return retry_cas(attempt, give_up=lambda: RefConflict(
        f"gave up moving alias {name!r} after {MAX_ATTEMPTS} lost races"))


def delete_alias(repo: Repo, name: str, *, expected: str | None = None, reason: str = "",
                 by: str | None = None) -> AliasEvent:
    """Delete alias ``name`` (its history stays); ``expected`` as in :func:`set_alias`."""
    validate_alias_name(name)
    why, who = validate_text(reason, "reason"), actor(repo, by)
    exp = _expected_commit(repo, expected) if expected is not None else None

    def attempt() -> AliasEvent | Lost:
        # As in set_alias: re-read the alias on every try.
        row = _alias_row(repo, name)
        if exp is not None and row.commit != exp:
            raise RefConflict(f"alias {name!r} points at {row.commit[:12]}, not at the "
                              f"expected {exp[:12]}; nothing changed")
        try:
            event = repo.store.catalog.move_alias(
                repo.id, name, row.commit, None, action="delete", by=who, reason=why,
                from_label=labeler(repo)(row.commit, None))
        except RefMoved:
            if exp is not None:
                raise RefConflict(f"alias {name!r} moved concurrently; nothing changed"
                                  ) from None
            return LOST
        repo.store.refs_changed(repo)
        return event

    return retry_cas(attempt, give_up=lambda: RefConflict(
        f"gave up deleting alias {name!r} after {MAX_ATTEMPTS} lost races"))


def alias_history(repo: Repo, name: str) -> list[AliasEvent]:
    """Events of alias ``name``, newest first (kept after the alias was deleted)."""
    validate_alias_name(name)
    events = repo.store.catalog.alias_history(repo.id, name)
    if not events:
        _alias_row(repo, name)  # the precise "no such alias" / "is a branch" error
    return events[::-1]


def _undo_alias(repo: Repo, name: str, forward: bool, reason: str, by: str | None
                ) -> AliasEvent:
    validate_alias_name(name)
    why, who = validate_text(reason, "reason"), actor(repo, by)
    row = _alias_row(repo, name)
    catalog = repo.store.catalog
    events = catalog.alias_history(repo.id, name)
    tl = replay((e.action, e.to_commit, e.to_label) for e in events)
    stack = tl.redo if forward else tl.undo
    if not stack:
        raise NoHistory(f"alias {name!r} has no rollback to undo" if forward else
                        f"alias {name!r} has no earlier target to roll back to")
    target = stack[-1]
    current_label = tl.current.label if tl.current is not None else None
    try:
        event = catalog.move_alias(
            repo.id, name, row.commit, target.commit,
            action="rollforward" if forward else "rollback", by=who, reason=why,
            from_label=current_label, to_label=target.label,
            after_seq=events[-1].seq if events else 0)
    except RefMoved:
        raise RefConflict(f"alias {name!r} changed concurrently; nothing changed (see "
                          "'alias history' and retry)") from None
    repo.store.refs_changed(repo)
    return event


def rollback_alias(repo: Repo, name: str, *, reason: str = "", by: str | None = None
                   ) -> AliasEvent:
    """Move alias ``name`` back to its previous target (see the module docstring)."""
    return _undo_alias(repo, name, False, reason, by)


def rollforward_alias(repo: Repo, name: str, *, reason: str = "", by: str | None = None
                      ) -> AliasEvent:
    """Undo the last rollback of alias ``name``."""
    return _undo_alias(repo, name, True, reason, by)


# -- deployments ----------------------------------------------------------------------------
def deploy(repo: Repo, env: str, ref: str, *, by: str | None = None, note: str = ""
           ) -> DeploymentRow:
    """Record that the commit ``ref`` names now runs in environment ``env``."""
    validate_environment(env)
    text, who = validate_text(note, "note"), actor(repo, by)
    commit = repo._existing_commit(ref)
    return repo.store.catalog.record_deployment(
        repo.id, env, commit, action="deploy", by=who, label=labeler(repo)(commit, ref),
        note=text)


def deployments(repo: Repo) -> list[DeploymentRow]:
    """What runs where: the latest record of every environment, by environment name."""
    return repo.store.catalog.current_deployments(repo.id)


def _history(repo: Repo, env: str) -> list[DeploymentRow]:
    validate_environment(env)
    rows = repo.store.catalog.deployment_history(repo.id, env)
    if not rows:
        raise EnvironmentNotFound(f"nothing was ever deployed to {env!r} from repository "
                                  f"{repo.name!r}")
    return rows


def deployment_history(repo: Repo, env: str) -> list[DeploymentRow]:
    """The records of one environment, newest first."""
    return _history(repo, env)[::-1]


def _undo_deployment(repo: Repo, env: str, forward: bool, note: str, by: str | None
                     ) -> DeploymentRow:
    rows = _history(repo, env)
    text, who = validate_text(note, "note"), actor(repo, by)
    tl = replay((r.action, r.commit, r.label) for r in rows)
    stack = tl.redo if forward else tl.undo
    if not stack:
        raise NoHistory(f"environment {env!r} has no rollback to undo" if forward else
                        f"environment {env!r} has no earlier deployment to roll back to")
    target = stack[-1]
    try:
        return repo.store.catalog.record_deployment(
            repo.id, env, target.commit, action="rollforward" if forward else "rollback",
            by=who, label=target.label, note=text, after_seq=rows[-1].seq)
    except RefMoved:
        raise RefConflict(f"deployments to {env!r} changed concurrently; nothing changed "
                          "(see 'deploy history' and retry)") from None


def rollback_deployment(repo: Repo, env: str, *, by: str | None = None, note: str = ""
                        ) -> DeploymentRow:
    """Redeploy the previous deployment of ``env`` (see the module docstring)."""
    return _undo_deployment(repo, env, False, note, by)


def rollforward_deployment(repo: Repo, env: str, *, by: str | None = None, note: str = ""
                           ) -> DeploymentRow:
    """Undo the last rollback of ``env``."""
    return _undo_deployment(repo, env, True, note, by)


# -- deprecations ---------------------------------------------------------------------------
def _forget_deprecations(repo: Repo) -> None:
    repo._deprecation_cache.clear()


def deprecate(repo: Repo, ref: str | None = None, *, reason: str,
              sunset: str | date | None = None, by: str | None = None) -> DeprecationRow:
    """Deprecate the commit ``ref`` names (None: the whole repository); replaces an earlier
    deprecation of the same target."""
    why = validate_text(reason, "reason", required=True)
    day, who = parse_sunset(sunset), actor(repo, by)
    commit = label = None
    if ref is not None:
        commit = repo._existing_commit(ref)
        label = labeler(repo)(commit, ref)
    row = repo.store.catalog.set_deprecation(repo.id, commit, reason=why, sunset=day, by=who,
                                             label=label)
    _forget_deprecations(repo)
    return row


def undeprecate(repo: Repo, ref: str | None = None) -> None:
    """Lift the deprecation of ``ref``'s commit (None: of the repository)."""
    commit = repo.resolve(ref) if ref is not None else None
    if not repo.store.catalog.clear_deprecation(repo.id, commit):
        what = f"{ref!r} of repository {repo.name!r}" if ref is not None \
            else f"repository {repo.name!r}"
        raise NotFound(f"{what} is not deprecated")
    _forget_deprecations(repo)


def _applicable(rows: Iterable[DeprecationRow]) -> DeprecationRow | None:
    """The commit's own deprecation if any, else the repository-wide one."""
    best = None
    for row in rows:
        if row.commit is not None or best is None:
            best = row
    return best


def deprecation(repo: Repo, ref: str) -> DeprecationRow | None:
    """The deprecation applying to ``ref``'s commit (its own, else the repository's)."""
    commit = repo.resolve(ref)
    return _applicable(repo.store.catalog.find_deprecations(repo.id, commit))


def deprecations(repo: Repo) -> list[DeprecationRow]:
    """Every deprecation of the repository (repository-wide first)."""
    return repo.store.catalog.find_deprecations(repo.id)


def past_sunset(row: DeprecationRow, today: date | None = None) -> bool:
    """True once the sunset date has passed (the sunset day itself is not past)."""
    return row.sunset is not None and date.fromisoformat(row.sunset) < (today or today_utc())


def describe(repo_name: str, row: DeprecationRow) -> str:
    """One line: what is deprecated, why, and the sunset."""
    if row.commit is None:
        what = f"model {repo_name!r} is deprecated"
    elif row.label:
        what = f"model {repo_name!r} version {row.label} is deprecated"
    else:
        what = f"model {repo_name!r} commit {row.commit[:12]} is deprecated"
    text = f"{what}: {row.reason}"
    if row.sunset is not None:
        text += (f"; past its sunset date {row.sunset}" if past_sunset(row)
                 else f"; sunset {row.sunset}")
    return text


def _cached_deprecation(repo: Repo, commit: str) -> DeprecationRow | None:
    cache = repo._deprecation_cache
    now = time.monotonic()
    hit = cache.get(commit)
    if hit is not None and hit[0] > now:
        return hit[1]
    row = _applicable(repo.store.catalog.find_deprecations(repo.id, commit))
    if len(cache) >= _CACHE_LIMIT:
        cache.clear()
    cache[commit] = (now + DEPRECATION_TTL, row)
    return row


def _caller_stacklevel() -> int:
    """The ``stacklevel`` that attributes a warning to the first frame outside this package."""
    level, frame = 1, sys._getframe(1)
    while frame is not None and frame.f_globals.get("__name__", "").startswith("blacklake_ml"):
        frame = frame.f_back  # type: ignore[assignment]
        level += 1
    return level


def warn_if_deprecated(repo: Repo, commit: str) -> None:
    """Emit :class:`DeprecatedModelWarning` if ``commit`` (or its repository) is deprecated."""
    row = _cached_deprecation(repo, commit)
    if row is None:
        return
    warnings.warn(DeprecatedModelWarning(
        describe(repo.name, row), repo=repo.name, commit=commit, label=row.label,
        reason=row.reason, sunset=row.sunset, past_sunset=past_sunset(row)),
        stacklevel=_caller_stacklevel())


# -- JSON shapes (CLI --json, and anyone serialising these) ---------------------------------
def version_json(tag: VersionTag) -> dict[str, Any]:
    """A version as ``{"name", "version", "commit", "prerelease", "created"}``."""
    return {"name": tag.name, "version": str(tag.version), "commit": tag.commit,
            "prerelease": tag.prerelease, "created": iso(tag.created)}


def alias_event_json(e: AliasEvent) -> dict[str, Any]:
    """An alias history entry."""
    return {"alias": e.alias, "seq": e.seq, "action": e.action, "from": e.from_commit,
            "to": e.to_commit, "from_label": e.from_label, "to_label": e.to_label,
            "by": e.by, "at": iso(e.at), "reason": e.reason}


def deployment_json(d: DeploymentRow) -> dict[str, Any]:
    """A deployment record."""
    return {"environment": d.environment, "seq": d.seq, "commit": d.commit,
            "label": d.label, "action": d.action, "by": d.by, "at": iso(d.at),
            "note": d.note}


def deprecation_json(row: DeprecationRow) -> dict[str, Any]:
    """A deprecation (``commit`` null: the whole repository)."""
    return {"commit": row.commit, "label": row.label, "reason": row.reason,
            "sunset": row.sunset, "past_sunset": past_sunset(row), "by": row.by,
            "at": iso(row.at)}


def versions_overview(repo: Repo) -> list[dict[str, Any]]:
    """Every version with its aliases, environments and deprecation (four queries)."""
    catalog = repo.store.catalog
    alias_rows = aliases(repo)
    current = deployments(repo)
    deps = deprecations(repo)
    whole = next((d for d in deps if d.commit is None), None)
    own = {d.commit: d for d in deps if d.commit is not None}
    out = []
    for tag in _version_tags(catalog.list_refs(repo.id, "tag")):
        dep = own.get(tag.commit, whole)
        doc = version_json(tag)
        doc["aliases"] = [a.name for a in alias_rows if a.commit == tag.commit]
        doc["deployed_to"] = [d.environment for d in current if d.commit == tag.commit]
        doc["deprecated"] = deprecation_json(dep) if dep is not None else None
        out.append(doc)
    return out
