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

:class:`Lifecycle` (``repo.lifecycle``) holds the verbs of one repository. It is built from
what they need (the catalog, the repository's id and name, the default author, ref
resolution and whom to tell after a ref moved), never from a ``Repo``.
"""

from __future__ import annotations

import re
import sys
import time
import warnings
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from blacklake_ml.catalog import AliasEvent, Catalog, DeploymentRow, DeprecationRow, RefRow
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
from blacklake_ml.service.history import RepoRef
from blacklake_ml.shapes import VersionDoc, deprecation_json, past_sunset, version_json

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


def actor(default: str, by: str | None) -> str:
    """Who does it: ``by``, else the configured author ``default``."""
    who = by if by is not None else (default or "unknown")
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


def _applicable(rows: Iterable[DeprecationRow]) -> DeprecationRow | None:
    """The commit's own deprecation if any, else the repository-wide one."""
    best = None
    for row in rows:
        if row.commit is not None or best is None:
            best = row
    return best


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


def _caller_stacklevel() -> int:
    """The ``stacklevel`` that attributes a warning to the first frame outside this package."""
    level, frame = 1, sys._getframe(1)
    while frame is not None and frame.f_globals.get("__name__", "").startswith("blacklake_ml"):
        frame = frame.f_back  # type: ignore[assignment]
        level += 1
    return level


# -- the component --------------------------------------------------------------------------
class Lifecycle:
    """The model lifecycle of one repository (``repo.lifecycle``): versions, aliases,
    deployments and deprecations.

    ``resolve(ref)`` names a commit; ``existing_commit(ref)`` does too and checks its object
    is still stored (not collected by gc); ``refs_changed()`` is called after an alias or a
    version tag moved, appeared or went away.
    """

    def __init__(self, catalog: Catalog, repo: RepoRef, *, author: str,
                 resolve: Callable[[str], str], existing_commit: Callable[[str], str],
                 refs_changed: Callable[[], None]) -> None:
        self._catalog = catalog
        self._repo = repo
        self._author = author
        self._resolve = resolve
        self._existing_commit = existing_commit
        self._refs_changed = refs_changed
        #: commit -> (expiry, deprecation or None): model loads check deprecation cheaply
        self._deprecation_cache: dict[str, tuple[float, DeprecationRow | None]] = {}

    def __repr__(self) -> str:
        return f"Lifecycle({self._repo.name!r})"

    def _actor(self, by: str | None) -> str:
        return actor(self._author, by)

    # -- versions ---------------------------------------------------------------------------
    def versions(self) -> list[VersionTag]:
        """Every version (tags named by a semantic version), lowest precedence first."""
        return _version_tags(self._catalog.list_refs(self._repo.id, "tag"))

    def create_version(self, version: str, ref: str = "main") -> RefRow:
        """Tag ``ref`` as semantic version ``version`` (``v1.2.3``, ``1.0.0-rc.1``).

        Raises :class:`~blacklake_ml.errors.InvalidVersion` for a malformed version and
        :class:`~blacklake_ml.errors.RefExists` if the version exists under either spelling
        (``v1.2.3`` and ``1.2.3`` are one version) or the name is taken.
        """
        v = semver.parse(version)
        validate_ref_name(version, "version")  # also the ref-name length limit
        commit = self._existing_commit(ref)
        spellings = [str(v), f"v{v}"]
        row = self._catalog.create_tag_exclusive(self._repo.id, version, commit, spellings)
        self._refs_changed()
        return row

    def find_version(self, spec: str = "latest", *, prerelease: bool = False) -> VersionTag:
        """The version ``spec`` selects (see :meth:`resolve_version`)."""
        if not isinstance(spec, str):
            raise InvalidInput("version spec must be a string")
        all_versions = self.versions()
        if spec == "latest":
            found = [t for t in all_versions if not t.prerelease or prerelease]
        elif spec == "newest":
            found = all_versions
        else:
            rng = semver.parse_range(spec)
            found = [t for t in all_versions if rng.matches(t.version, prerelease=prerelease)]
        if not found:
            what = "no versions" if not all_versions else f"no version matching {spec!r}"
            raise RefNotFound(f"{what} in repository {self._repo.name!r}")
        return found[-1]

    def resolve_version(self, spec: str = "latest", *, prerelease: bool = False
                        ) -> tuple[str, str]:
        """``(tag name, commit id)`` of the version ``spec`` selects.

        ``latest``: the highest release; ``newest``: the highest version, prereleases
        included; otherwise a range (``^1.2``, ``~1.2.3``, ``>=1.2,<2``, ``1.x``, exact),
        where prereleases match only if the range names one of the same ``X.Y.Z`` or
        ``prerelease`` is true. :class:`~blacklake_ml.errors.RefNotFound` if none matches.
        """
        tag = self.find_version(spec, prerelease=prerelease)
        return tag.name, tag.commit

    def labeler(self) -> Callable[[str, str | None], str | None]:
        """``label(commit, ref)``: the version name for ``commit`` (one query for the tags).

        ``ref`` wins when it is a version naming that commit; otherwise the highest version
        at the commit, or None.
        """
        tags = self.versions()
        by_commit: dict[str, str] = {}
        names = {t.name: t.commit for t in tags}
        for t in tags:  # ascending: the highest version ends up winning
            by_commit[t.commit] = t.name

        def label(commit: str, ref: str | None = None) -> str | None:
            if ref is not None and names.get(ref) == commit:
                return ref
            return by_commit.get(commit)

        return label

    def versions_overview(self) -> list[VersionDoc]:
        """Every version with its aliases, environments and deprecation (four queries)."""
        alias_rows = self.aliases()
        current = self.deployments()
        deps = self.deprecations()
        whole = next((d for d in deps if d.commit is None), None)
        own = {d.commit: d for d in deps if d.commit is not None}
        out = []
        for tag in self.versions():
            dep = own.get(tag.commit, whole)
            doc = version_json(tag)
            doc["aliases"] = [a.name for a in alias_rows if a.commit == tag.commit]
            doc["deployed_to"] = [d.environment for d in current if d.commit == tag.commit]
            doc["deprecated"] = deprecation_json(dep) if dep is not None else None
            out.append(doc)
        return out

    # -- aliases ----------------------------------------------------------------------------
    def _alias_row(self, name: str) -> RefRow:
        row = self._catalog.get_ref(self._repo.id, name)
        if row is None:
            raise RefNotFound(f"no alias named {name!r} in repository {self._repo.name!r}")
        if row.kind != "alias":
            raise RefNotFound(f"{name!r} is a {row.kind}, not an alias")
        return row

    def _expected_commit(self, expected: str) -> str:
        """The commit id a caller's ``expected`` names (a full id is taken as is)."""
        if isinstance(expected, str) and len(expected) == 64 and HEX_RE.fullmatch(expected):
            return expected
        return self._resolve(expected)

    def aliases(self) -> list[RefRow]:
        """All aliases (``champion``, ``staging``, ...), by name."""
        return self._catalog.list_refs(self._repo.id, "alias")

    def set_alias(self, name: str, ref: str, *, expected: str | None = None,
                  reason: str = "", by: str | None = None) -> AliasEvent | None:
        """Point alias ``name`` at the commit ``ref`` names (creating the alias if needed).

        With ``expected`` (a commit id or ref), the alias must currently point there, else
        :class:`~blacklake_ml.errors.RefConflict` and nothing changes. Without it, a
        concurrent move is retried: the alias ends at ``ref`` and both moves are in its
        history. Returns the recorded event, or None when the alias already pointed at that
        commit.
        """
        validate_alias_name(name)
        why, who = validate_text(reason, "reason"), self._actor(by)
        exp = self._expected_commit(expected) if expected is not None else None
        target = self._existing_commit(ref)
        catalog, repo_id = self._catalog, self._repo.id

        def attempt() -> AliasEvent | None | Lost:
            # Each try re-reads the alias: a move that lost the race to a concurrent one is
            # retried from where that one left it (unless the caller pinned ``expected``).
            row = catalog.get_ref(repo_id, name)
            if row is not None and row.kind != "alias":
                raise RefExists(f"a {row.kind} named {name!r} already exists: an alias "
                                "cannot share its name")
            current = row.commit if row is not None else None
            if exp is not None and current != exp:
                where = f"points at {current[:12]}" if current else "does not exist"
                raise RefConflict(f"alias {name!r} {where}, not at the expected {exp[:12]}; "
                                  "nothing changed")
            if current == target:
                return None
            label = self.labeler()
            # a concurrent create of the same name loses as RefExists
            return self._swap_alias(
                name, current, target, exp, (RefMoved, RefExists),
                action="create" if current is None else "move", by=who, reason=why,
                from_label=label(current, None) if current else None,
                to_label=label(target, ref))

        return retry_cas(attempt, give_up=lambda: RefConflict(
            f"gave up moving alias {name!r} after {MAX_ATTEMPTS} lost races"))

    def _swap_alias(self, name: str, old: str | None, new: str | None, exp: str | None,
                    lost: tuple[type[Exception], ...], **event: Any) -> AliasEvent | Lost:
        """One compare-and-swap of alias ``name`` from ``old`` to ``new`` (None: absent) for
        :func:`retry_cas`: a lost race (``lost``) is retried, unless the caller pinned
        ``exp``, which makes it a conflict."""
        try:
            moved = self._catalog.move_alias(self._repo.id, name, old, new, **event)
        except lost:
            if exp is not None:
                raise RefConflict(f"alias {name!r} moved concurrently; nothing changed"
                                  ) from None
            return LOST
        self._refs_changed()
        return moved

    def delete_alias(self, name: str, *, expected: str | None = None, reason: str = "",
                     by: str | None = None) -> AliasEvent:
        """Delete alias ``name`` (its history stays); ``expected`` as in :meth:`set_alias`."""
        validate_alias_name(name)
        why, who = validate_text(reason, "reason"), self._actor(by)
        exp = self._expected_commit(expected) if expected is not None else None

        def attempt() -> AliasEvent | Lost:
            # As in set_alias: re-read the alias on every try.
            row = self._alias_row(name)
            if exp is not None and row.commit != exp:
                raise RefConflict(f"alias {name!r} points at {row.commit[:12]}, not at the "
                                  f"expected {exp[:12]}; nothing changed")
            return self._swap_alias(name, row.commit, None, exp, (RefMoved,),
                                    action="delete", by=who, reason=why,
                                    from_label=self.labeler()(row.commit, None))

        return retry_cas(attempt, give_up=lambda: RefConflict(
            f"gave up deleting alias {name!r} after {MAX_ATTEMPTS} lost races"))

    def alias_history(self, name: str) -> list[AliasEvent]:
        """Every set/move/rollback/roll-forward/delete of alias ``name``, newest first (kept
        after the alias was deleted)."""
        validate_alias_name(name)
        events = self._catalog.alias_history(self._repo.id, name)
        if not events:
            self._alias_row(name)  # the precise "no such alias" / "is a branch" error
        return events[::-1]

    def _undo_alias(self, name: str, forward: bool, reason: str, by: str | None
                    ) -> AliasEvent:
        validate_alias_name(name)
        why, who = validate_text(reason, "reason"), self._actor(by)
        row = self._alias_row(name)
        catalog = self._catalog
        events = catalog.alias_history(self._repo.id, name)
        tl = replay((e.action, e.to_commit, e.to_label) for e in events)
        stack = tl.redo if forward else tl.undo
        if not stack:
            raise NoHistory(f"alias {name!r} has no rollback to undo" if forward else
                            f"alias {name!r} has no earlier target to roll back to")
        target = stack[-1]
        current_label = tl.current.label if tl.current is not None else None
        try:
            event = catalog.move_alias(
                self._repo.id, name, row.commit, target.commit,
                action="rollforward" if forward else "rollback", by=who, reason=why,
                from_label=current_label, to_label=target.label,
                after_seq=events[-1].seq if events else 0)
        except RefMoved:
            raise RefConflict(f"alias {name!r} changed concurrently; nothing changed (see "
                              "'alias history' and retry)") from None
        self._refs_changed()
        return event

    def rollback_alias(self, name: str, *, reason: str = "", by: str | None = None
                       ) -> AliasEvent:
        """Move alias ``name`` back to its previous target (see the module docstring;
        :class:`~blacklake_ml.errors.NoHistory` if there is none)."""
        return self._undo_alias(name, False, reason, by)

    def rollforward_alias(self, name: str, *, reason: str = "", by: str | None = None
                          ) -> AliasEvent:
        """Undo the last rollback of alias ``name``."""
        return self._undo_alias(name, True, reason, by)

    # -- deployments ------------------------------------------------------------------------
    def deploy(self, env: str, ref: str, *, by: str | None = None, note: str = ""
               ) -> DeploymentRow:
        """Record that the commit ``ref`` names now runs in environment ``env``."""
        validate_environment(env)
        text, who = validate_text(note, "note"), self._actor(by)
        commit = self._existing_commit(ref)
        return self._catalog.record_deployment(
            self._repo.id, env, commit, action="deploy", by=who,
            label=self.labeler()(commit, ref), note=text)

    def deployments(self) -> list[DeploymentRow]:
        """What runs where, since when, deployed by whom: the latest record of every
        environment, by environment name."""
        return self._catalog.current_deployments(self._repo.id)

    def _history(self, env: str) -> list[DeploymentRow]:
        validate_environment(env)
        rows = self._catalog.deployment_history(self._repo.id, env)
        if not rows:
            raise EnvironmentNotFound(f"nothing was ever deployed to {env!r} from repository "
                                      f"{self._repo.name!r}")
        return rows

    def deployment_history(self, env: str) -> list[DeploymentRow]:
        """The deployment records of ``env``, newest first
        (:class:`~blacklake_ml.errors.EnvironmentNotFound` if none)."""
        return self._history(env)[::-1]

    def _undo_deployment(self, env: str, forward: bool, note: str, by: str | None
                         ) -> DeploymentRow:
        rows = self._history(env)
        text, who = validate_text(note, "note"), self._actor(by)
        tl = replay((r.action, r.commit, r.label) for r in rows)
        stack = tl.redo if forward else tl.undo
        if not stack:
            raise NoHistory(f"environment {env!r} has no rollback to undo" if forward else
                            f"environment {env!r} has no earlier deployment to roll back to")
        target = stack[-1]
        try:
            return self._catalog.record_deployment(
                self._repo.id, env, target.commit,
                action="rollforward" if forward else "rollback", by=who, label=target.label,
                note=text, after_seq=rows[-1].seq)
        except RefMoved:
            raise RefConflict(f"deployments to {env!r} changed concurrently; nothing changed "
                              "(see 'deploy history' and retry)") from None

    def rollback_deployment(self, env: str, *, by: str | None = None, note: str = ""
                            ) -> DeploymentRow:
        """Redeploy the deployment of ``env`` before the current one (see the module
        docstring)."""
        return self._undo_deployment(env, False, note, by)

    def rollforward_deployment(self, env: str, *, by: str | None = None, note: str = ""
                               ) -> DeploymentRow:
        """Undo the last rollback of ``env``."""
        return self._undo_deployment(env, True, note, by)

    # -- deprecations -----------------------------------------------------------------------
    def forget_deprecations(self) -> None:
        """Drop what this handle cached about deprecations (the next load asks the catalog)."""
        self._deprecation_cache.clear()

    def deprecate(self, ref: str | None = None, *, reason: str,
                  sunset: str | date | None = None, by: str | None = None) -> DeprecationRow:
        """Deprecate ``ref``'s commit (None: the whole repository) with a reason and an
        optional sunset date (``YYYY-MM-DD``); loading it then warns. Replaces an earlier
        deprecation of the same target."""
        why = validate_text(reason, "reason", required=True)
        day, who = parse_sunset(sunset), self._actor(by)
        commit = label = None
        if ref is not None:
            commit = self._existing_commit(ref)
            label = self.labeler()(commit, ref)
        row = self._catalog.set_deprecation(self._repo.id, commit, reason=why, sunset=day,
                                            by=who, label=label)
        self.forget_deprecations()
        return row

    def undeprecate(self, ref: str | None = None) -> None:
        """Lift the deprecation of ``ref``'s commit (None: of the repository)."""
        commit = self._resolve(ref) if ref is not None else None
        if not self._catalog.clear_deprecation(self._repo.id, commit):
            what = f"{ref!r} of repository {self._repo.name!r}" if ref is not None \
                else f"repository {self._repo.name!r}"
            raise NotFound(f"{what} is not deprecated")
        self.forget_deprecations()

    def deprecation(self, ref: str) -> DeprecationRow | None:
        """The deprecation applying to ``ref``'s commit (its own, else the repository's)."""
        commit = self._resolve(ref)
        return _applicable(self._catalog.find_deprecations(self._repo.id, commit))

    def deprecations(self) -> list[DeprecationRow]:
        """Every deprecation of this repository (the repository-wide one first)."""
        return self._catalog.find_deprecations(self._repo.id)

    def _cached_deprecation(self, commit: str) -> DeprecationRow | None:
        cache = self._deprecation_cache
        now = time.monotonic()
        hit = cache.get(commit)
        if hit is not None and hit[0] > now:
            return hit[1]
        row = _applicable(self._catalog.find_deprecations(self._repo.id, commit))
        if len(cache) >= _CACHE_LIMIT:
            cache.clear()
        cache[commit] = (now + DEPRECATION_TTL, row)
        return row

    def warn_if_deprecated(self, commit: str) -> None:
        """Emit :class:`DeprecatedModelWarning` if ``commit`` (or its repository) is
        deprecated."""
        row = self._cached_deprecation(commit)
        if row is None:
            return
        name = self._repo.name
        warnings.warn(DeprecatedModelWarning(
            describe(name, row), repo=name, commit=commit, label=row.label,
            reason=row.reason, sunset=row.sunset, past_sunset=past_sunset(row)),
            stacklevel=_caller_stacklevel())
