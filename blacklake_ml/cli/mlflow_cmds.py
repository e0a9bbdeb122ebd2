"""``blacklake mlflow``: sync with the MLflow Model Registry.

* ``mlflow register URI NAME`` — register a stored model as a version of NAME (source: URI
  pinned to its commit);
* ``mlflow import NAME REPO`` — registered versions become tags, aliases become aliases.

MLflow is imported only inside the commands, so ``blacklake --help`` never loads it.
"""

from __future__ import annotations

from types import ModuleType

import click

from blacklake_ml.cli.output import emit, note
from blacklake_ml.cli.state import CliState, json_option, pass_state

_TRACKING_HELP = ("MLflow tracking/registry URI (default: MLFLOW_TRACKING_URI or MLflow's "
                  "default).")


@click.group("mlflow")
def mlflow_group() -> None:
    """Sync stored models with the MLflow Model Registry."""


def _bridge_registry() -> ModuleType:
    from blacklake_ml.errors import MissingDependency

    try:
        from blacklake_ml.integrations.mlflow import registry
    except ImportError as exc:
        if "mlflow" in str(exc):
            raise MissingDependency("the MLflow bridge", "mlflow") from None
        raise
    return registry


@mlflow_group.command("register")
@click.argument("uri")
@click.argument("name")
@click.option("--tracking-uri", metavar="U", help=_TRACKING_HELP)
@click.option("--wait", "await_for", type=click.IntRange(0, 3600), default=300,
              show_default=True, help="Seconds to wait for the version to become READY.")
@json_option
@pass_state
def mlflow_register(state: CliState, uri: str, name: str, tracking_uri: str | None,
                    await_for: int) -> None:
    """Register the model stored at URI as a new version of MLflow model NAME."""
    from blacklake_ml.core.uri import BlacklakeURI

    BlacklakeURI.parse(uri)  # bad input fails before the store or MLflow is opened
    registry = _bridge_registry()
    doc = registry.register_model(
        state.store(), uri, name, tracking_uri=tracking_uri, await_registration_for=await_for)
    line = f"registered {doc['name']} version {doc['version']} from {doc['source']}"
    emit(state, doc, [line])


@mlflow_group.command("import")
@click.argument("name")
@click.argument("repo")
@click.option("--tracking-uri", metavar="U", help=_TRACKING_HELP)
@click.option("--branch", default="main", show_default=True,
              help="Branch that receives versions downloaded from MLflow.")
@json_option
@pass_state
def mlflow_import(state: CliState, name: str, repo: str, tracking_uri: str | None,
                  branch: str) -> None:
    """Import MLflow model NAME's versions as tags and its aliases as aliases of REPO."""
    from blacklake_ml.core.names import validate_ref_name, validate_repo_name

    validate_repo_name(repo)
    validate_ref_name(branch, "branch")
    registry = _bridge_registry()
    doc = registry.import_registry(
        state.store(), name, repo, tracking_uri=tracking_uri, branch=branch,
        on_version=lambda v: note(state, f"{name} v{v['version']}: {v['action']}"))
    lines: list[tuple[str, ...]] = [
        (f"v{v['version']}", v["action"], v.get("tag") or "", (v.get("commit") or "-")[:12])
        for v in doc["versions"]]
    lines += [(f"@{a['alias']}", "moved" if a["moved"] else a.get("skipped", "unchanged"),
               f"v{a['version']}", (a.get("commit") or "-")[:12]) for a in doc["aliases"]]
    emit(state, doc, lines)


COMMANDS = [mlflow_group]
