"""Model lifecycle: ``version``, ``alias``, ``deploy``/``deployments`` and ``deprecate``.

* ``version create|list|resolve`` — semantic-version tags;
* ``alias set|list|history|rollback|roll-forward|delete`` — movable names (``champion``);
* ``deploy set|list|history|rollback|roll-forward`` and ``deployments`` — which version runs
  in which environment;
* ``deprecate`` / ``undeprecate`` / ``deprecations`` — with a reason and a sunset date.

Every command takes ``--json``; mutations print the recorded event.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click

from blacklake_ml import shapes
from blacklake_ml.cli.output import emit, table
from blacklake_ml.cli.state import CliState, json_option, pass_state

if TYPE_CHECKING:
    from blacklake_ml.catalog import AliasEvent

REASON_HELP = "Why (recorded in the history)."


def _short(commit: str | None) -> str:
    return commit[:12] if commit else "-"


def _named(label: str | None, commit: str | None) -> str:
    """``v1.2.0 (abcdef123456)``, or the short commit id when no version names it."""
    if commit is None:
        return "-"
    return f"{label} ({_short(commit)})" if label else _short(commit)


def _when(at: str) -> str:
    """An RFC 3339 timestamp trimmed to seconds for tables."""
    return at[:19] + "Z" if len(at) > 19 else at


# -- versions -------------------------------------------------------------------------------
@click.group("version")
def version() -> None:
    """Create, list and resolve semantic versions (tags such as v1.2.3)."""


@version.command("create")
@click.argument("repo")
@click.argument("name", metavar="VERSION")
@click.option("--ref", default="main", show_default=True,
              help="Branch, tag, alias or commit to version.")
@json_option
@pass_state
def version_create(state: CliState, repo: str, name: str, ref: str) -> None:
    """Tag REF of REPO as VERSION (MAJOR.MINOR.PATCH, optional v prefix and -prerelease)."""
    from blacklake_ml.core import semver

    semver.parse(name)  # bad input fails before the store is opened
    row = state.store().repo(repo).lifecycle.create_version(name, ref)
    emit(state, shapes.new_version_json(row, semver.parse(row.name)),
         [f"created version {row.name} at {_short(row.commit)}"])


@version.command("list")
@click.argument("repo")
@json_option
@pass_state
def version_list(state: CliState, repo: str) -> None:
    """List the versions of REPO, lowest first, with aliases, deployments and deprecation."""
    docs = state.store().repo(repo).lifecycle.versions_overview()
    if state.json:
        emit(state, docs)
        return
    rows = []
    for d in docs:
        status = []
        if d["prerelease"]:
            status.append("prerelease")
        dep = d["deprecated"]
        if dep is not None:
            status.append("deprecated" + (f" (sunset {dep['sunset']})" if dep["sunset"] else ""))
        rows.append([d["name"], _short(d["commit"]), ",".join(d["aliases"]),
                     ",".join(d["deployed_to"]), " ".join(status)])
    table(["version", "commit", "aliases", "deployed", "status"], rows)


@version.command("resolve")
@click.argument("repo")
@click.argument("spec")
@click.option("--pre", is_flag=True, help="Let prereleases match the range.")
@json_option
@pass_state
def version_resolve(state: CliState, repo: str, spec: str, pre: bool) -> None:
    """Print the version SPEC selects and its commit.

    SPEC is 'latest' (highest release), 'newest' (prereleases too) or a range: ^1.2, ~1.2.3,
    '>=1.2,<2', 1.x, or an exact version.
    """
    from blacklake_ml.core import semver

    if spec not in ("latest", "newest"):
        semver.parse_range(spec)  # bad input fails before the store is opened
    name, commit = state.store().repo(repo).lifecycle.resolve_version(spec, prerelease=pre)
    emit(state, {"spec": spec, "name": name, "version": str(semver.parse(name)),
                 "commit": commit}, [[name, commit]])


# -- aliases --------------------------------------------------------------------------------
def _event_doc(e: AliasEvent) -> dict[str, Any]:
    return dict(shapes.alias_event_json(e))


def _event_line(e: AliasEvent) -> str:
    if e.action == "delete":
        return f"deleted alias {e.alias} (was {_named(e.from_label, e.from_commit)})"
    return (f"{e.alias}: {_named(e.from_label, e.from_commit)} -> "
            f"{_named(e.to_label, e.to_commit)} ({e.action})")


@click.group("alias")
def alias() -> None:
    """Movable names for versions (champion, staging, ...), with history and rollback."""


@alias.command("set")
@click.argument("repo")
@click.argument("name")
@click.argument("ref")
@click.option("--expect", metavar="COMMIT",
              help="Only move the alias if it points at COMMIT now (compare-and-swap).")
@click.option("-m", "--message", "reason", default="", help=REASON_HELP)
@json_option
@pass_state
def alias_set(state: CliState, repo: str, name: str, ref: str, expect: str | None,
              reason: str) -> None:
    """Point alias NAME of REPO at REF (a version, tag, branch, alias or commit)."""
    from blacklake_ml.service.lifecycle import validate_alias_name, validate_text

    validate_alias_name(name)
    validate_text(reason, "reason")
    r = state.store().repo(repo)
    event = r.lifecycle.set_alias(name, ref, expected=expect, reason=reason)
    if event is not None:
        emit(state, _event_doc(event), [_event_line(event)])
        return
    commit = r.resolve(name)
    label = r.lifecycle.labeler()(commit, ref)
    emit(state, shapes.alias_unchanged_json(name, commit, label, reason),
         [f"{name}: already at {_named(label, commit)}"])


@alias.command("list")
@click.argument("repo")
@json_option
@pass_state
def alias_list(state: CliState, repo: str) -> None:
    """List the aliases of REPO."""
    r = state.store().repo(repo)
    rows = r.lifecycle.aliases()
    label = r.lifecycle.labeler()
    docs = [shapes.alias_json(a, label(a.commit, None)) for a in rows]
    if state.json:
        emit(state, docs)
        return
    table(["alias", "version", "commit", "updated"],
          [[d["name"], d["label"] or "-", _short(d["commit"]), _when(d["updated"])]
           for d in docs])


@alias.command("history")
@click.argument("repo")
@click.argument("name")
@json_option
@pass_state
def alias_history(state: CliState, repo: str, name: str) -> None:
    """Show every move of alias NAME, newest first."""
    docs = [_event_doc(e) for e in state.store().repo(repo).lifecycle.alias_history(name)]
    if state.json:
        emit(state, docs)
        return
    table(["seq", "at", "action", "from", "to", "by", "reason"],
          [[str(d["seq"]), _when(d["at"]), d["action"], _named(d["from_label"], d["from"]),
            _named(d["to_label"], d["to"]), d["by"], d["reason"]] for d in docs])


@alias.command("rollback")
@click.argument("repo")
@click.argument("name")
@click.option("-m", "--message", "reason", default="", help=REASON_HELP)
@json_option
@pass_state
def alias_rollback(state: CliState, repo: str, name: str, reason: str) -> None:
    """Move alias NAME back to its previous target (repeat to go further back)."""
    event = state.store().repo(repo).lifecycle.rollback_alias(name, reason=reason)
    emit(state, _event_doc(event), [_event_line(event)])


@alias.command("roll-forward")
@click.argument("repo")
@click.argument("name")
@click.option("-m", "--message", "reason", default="", help=REASON_HELP)
@json_option
@pass_state
def alias_rollforward(state: CliState, repo: str, name: str, reason: str) -> None:
    """Undo the last rollback of alias NAME."""
    event = state.store().repo(repo).lifecycle.rollforward_alias(name, reason=reason)
    emit(state, _event_doc(event), [_event_line(event)])


@alias.command("delete")
@click.argument("repo")
@click.argument("name")
@click.option("--expect", metavar="COMMIT",
              help="Only delete the alias if it points at COMMIT now.")
@click.option("-m", "--message", "reason", default="", help=REASON_HELP)
@json_option
@pass_state
def alias_delete(state: CliState, repo: str, name: str, expect: str | None,
                 reason: str) -> None:
    """Delete alias NAME of REPO (its history is kept)."""
    event = state.store().repo(repo).lifecycle.delete_alias(name, expected=expect, reason=reason)
    emit(state, _event_doc(event), [_event_line(event)])


# -- deployments ----------------------------------------------------------------------------
def _deployment_docs(rows: Any) -> list[dict[str, Any]]:
    return [dict(shapes.deployment_json(r)) for r in rows]


def _show_deployments(state: CliState, docs: list[dict[str, Any]]) -> None:
    if state.json:
        emit(state, docs)
        return
    table(["environment", "version", "commit", "since", "by", "action", "note"],
          [[d["environment"], d["label"] or "-", _short(d["commit"]), _when(d["at"]), d["by"],
            d["action"], d["note"]] for d in docs])


def _deployment_line(d: dict[str, Any]) -> str:
    return (f"{d['environment']} now runs {_named(d['label'], d['commit'])} "
            f"({d['action']})")


@click.group("deploy")
def deploy() -> None:
    """Record which version runs in which environment; roll back and forward."""


@deploy.command("set")
@click.argument("repo")
@click.argument("env")
@click.argument("ref")
@click.option("--note", default="", help="A note kept with the record.")
@json_option
@pass_state
def deploy_set(state: CliState, repo: str, env: str, ref: str, note: str) -> None:
    """Record that REF (a version, alias, tag, branch or commit) now runs in ENV."""
    from blacklake_ml.service.lifecycle import validate_environment, validate_text

    validate_environment(env)
    validate_text(note, "note")
    (doc,) = _deployment_docs([state.store().repo(repo).lifecycle.deploy(env, ref, note=note)])
    emit(state, doc, [_deployment_line(doc)])


@deploy.command("list")
@click.argument("repo")
@json_option
@pass_state
def deploy_list(state: CliState, repo: str) -> None:
    """What runs where: the current deployment of every environment of REPO."""
    _show_deployments(state, _deployment_docs(state.store().repo(repo).lifecycle.deployments()))


@deploy.command("history")
@click.argument("repo")
@click.argument("env")
@json_option
@pass_state
def deploy_history(state: CliState, repo: str, env: str) -> None:
    """Every deployment record of ENV, newest first."""
    _show_deployments(state,
                      _deployment_docs(state.store().repo(repo).lifecycle.deployment_history(env)))


@deploy.command("rollback")
@click.argument("repo")
@click.argument("env")
@click.option("--note", default="", help="A note kept with the record.")
@json_option
@pass_state
def deploy_rollback(state: CliState, repo: str, env: str, note: str) -> None:
    """Redeploy the version ENV ran before the current one."""
    lc = state.store().repo(repo).lifecycle
    (doc,) = _deployment_docs([lc.rollback_deployment(env, note=note)])
    emit(state, doc, [_deployment_line(doc)])


@deploy.command("roll-forward")
@click.argument("repo")
@click.argument("env")
@click.option("--note", default="", help="A note kept with the record.")
@json_option
@pass_state
def deploy_rollforward(state: CliState, repo: str, env: str, note: str) -> None:
    """Undo the last rollback of ENV."""
    lc = state.store().repo(repo).lifecycle
    (doc,) = _deployment_docs([lc.rollforward_deployment(env, note=note)])
    emit(state, doc, [_deployment_line(doc)])


@click.command("deployments")
@click.argument("repo")
@click.option("--env", metavar="ENV", help="Show the history of ENV instead.")
@json_option
@pass_state
def deployments(state: CliState, repo: str, env: str | None) -> None:
    """Current deployments of REPO (same as 'deploy list'), or ENV's history with --env."""
    r = state.store().repo(repo)
    rows = r.lifecycle.deployment_history(env) if env is not None else r.lifecycle.deployments()
    _show_deployments(state, _deployment_docs(rows))


# -- deprecation ----------------------------------------------------------------------------
def _deprecation_doc(repo: str, row: Any) -> dict[str, Any]:
    return {"repo": repo, **shapes.deprecation_json(row)}


@click.command("deprecate")
@click.argument("repo")
@click.argument("ref", required=False)
@click.option("--sunset", metavar="YYYY-MM-DD", help="Date after which it should not be used.")
@click.option("-m", "--message", "reason", required=True, help="Why it is deprecated.")
@json_option
@pass_state
def deprecate(state: CliState, repo: str, ref: str | None, sunset: str | None,
              reason: str) -> None:
    """Deprecate version REF of REPO (or the whole repository without REF).

    Loading it (get, checkout, the Python API) then warns, naming the reason and sunset.
    """
    from blacklake_ml.service.lifecycle import describe, parse_sunset, validate_text

    validate_text(reason, "reason", required=True)
    parse_sunset(sunset)  # bad input fails before the store is opened
    row = state.store().repo(repo).lifecycle.deprecate(ref, reason=reason, sunset=sunset)
    emit(state, _deprecation_doc(repo, row), [describe(repo, row)])


@click.command("undeprecate")
@click.argument("repo")
@click.argument("ref", required=False)
@json_option
@pass_state
def undeprecate(state: CliState, repo: str, ref: str | None) -> None:
    """Lift the deprecation of version REF of REPO (or of the repository without REF)."""
    state.store().repo(repo).lifecycle.undeprecate(ref)
    what = f"{repo} {ref}" if ref else repo
    emit(state, {"repo": repo, "ref": ref, "deprecated": False},
         [f"{what} is no longer deprecated"])


@click.command("deprecations")
@click.argument("repo")
@json_option
@pass_state
def deprecations(state: CliState, repo: str) -> None:
    """List the deprecations of REPO (a null commit means the whole repository)."""
    rows = state.store().repo(repo).lifecycle.deprecations()
    docs = [_deprecation_doc(repo, row) for row in rows]
    if state.json:
        emit(state, docs)
        return
    table(["version", "commit", "sunset", "reason", "by"],
          [[d["label"] or ("(repository)" if d["commit"] is None else "-"),
            _short(d["commit"]), (d["sunset"] or "-") + (" (past)" if d["past_sunset"] else ""),
            d["reason"], d["by"]] for d in docs])


COMMANDS = [version, alias, deploy, deployments, deprecate, undeprecate, deprecations]
