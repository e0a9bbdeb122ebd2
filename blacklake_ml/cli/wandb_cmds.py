"""``blacklake wandb export|import``: stored commits as W&B artifacts and back.

``wandb`` is imported inside the commands only, so ``blacklake --help`` never loads it.
"""

from __future__ import annotations

from typing import Any

import click

from blacklake_ml.cli.output import emit, human_size, model_warnings, note
from blacklake_ml.cli.state import CliState, json_option, pass_state


@click.group("wandb")
def wandb_group() -> None:
    """Weights & Biases: export commits as W&B artifacts, import artifacts as commits."""


@wandb_group.command("export")
@click.argument("uri")
@click.option("--name", metavar="N", help="Artifact name (default: REPO or REPO-<last path "
              "segment>).")
@click.option("--type", "type_", metavar="T", default="model", show_default=True,
              help="Artifact type (model, dataset, ...).")
@click.option("--path", "paths", multiple=True, metavar="P",
              help="Only this path below URI (repeatable); entry names stay relative to URI.")
@click.option("--references", is_flag=True,
              help="Add signed HTTP references to a running `blacklake serve` instead of "
                   "copies (needs --gateway-url and --gateway-token).")
@click.option("--gateway-url", metavar="U", help="URL of `blacklake serve`, e.g. "
              "http://127.0.0.1:8765.")
@click.option("--gateway-token", metavar="T", help="That gateway's token (signs the URLs).")
@click.option("--project", metavar="P", default="blacklake", show_default=True,
              help="W&B project of the run that logs the artifact.")
@click.option("--alias", "aliases", multiple=True, metavar="A",
              help="Artifact alias (repeatable).")
@click.option("--online", is_flag=True,
              help="Log to the W&B server (default: an offline run, for `wandb sync`).")
@json_option
@pass_state
def export_cmd(state: CliState, uri: str, name: str | None, type_: str,
               paths: tuple[str, ...], references: bool, gateway_url: str | None,
               gateway_token: str | None, project: str, aliases: tuple[str, ...],
               online: bool) -> None:
    """Log URI (a file or directory at a branch, tag or commit) as a W&B artifact from a new
    run, with the commit in its metadata; prints its digest and the predicted one."""
    from blacklake_ml.errors import InvalidInput
    from blacklake_ml.integrations.wandb.plan import check_name, check_type

    # Everything checkable is checked before a run starts or the store is opened.
    if name is not None:
        check_name(name)
    check_type(type_)
    signer: Any = None
    if references:
        if not gateway_url or not gateway_token:
            raise InvalidInput("--references needs --gateway-url and --gateway-token "
                               "(from `blacklake serve`)")
        from blacklake_ml.gateway.files import RemoteFiles

        signer = RemoteFiles(gateway_url, gateway_token)
    elif gateway_url or gateway_token:
        raise InvalidInput("--gateway-url/--gateway-token only go with --references")
    from blacklake_ml.integrations.wandb import export_artifact, plan_export

    store = state.store()
    # Bad URIs and paths fail before a W&B run exists (MD5s computed here are cached, so
    # the export's own plan costs nothing more).
    plan_export(store, uri, list(paths) or None)
    from blacklake_ml.integrations.wandb.export import require_wandb

    wandb = require_wandb()
    # console="off": a CLI run has no console worth capturing, and stdout must stay one
    # JSON document with --json.
    run = wandb.init(project=project, job_type="blacklake-export",
                     mode="online" if online else "offline", config={"blacklake_uri": uri},
                     settings=wandb.Settings(console="off"))
    try:
        with model_warnings():
            result = export_artifact(store, uri, name=name, type=type_, paths=list(paths) or None,
                                     references=references, gateway=signer, run=run,
                                     aliases=aliases, progress=state.progress())
    except BaseException:
        run.finish(exit_code=1)
        raise
    run.finish()
    doc = result.to_json()
    sync_dir = None
    if not online and getattr(run, "dir", None):
        import os

        sync_dir = os.path.dirname(str(run.dir))
    doc["sync_dir"] = sync_dir
    if sync_dir:
        note(state, f"offline run: upload with `wandb sync {sync_dir}`")
    emit(state, doc, [
        (f"artifact {doc['artifact']} ({doc['type']}, {doc['mode']}): {doc['files']} files, "
         f"{human_size(doc['bytes'])}"),
        f"digest {doc['digest']} (predicted {doc['predicted_digest']})",
        f"from {doc['uri']}",
        f"run {doc['run']['id'] if doc['run'] else '-'} in project {project}",
    ])


@wandb_group.command("import")
@click.argument("source")
@click.argument("dest", metavar="REPO[/BRANCH[/PATH]]")
@click.option("--manifest", metavar="FILE",
              help="The artifact's manifest JSON (default: SOURCE/wandb_manifest.json).")
@click.option("--from-api", is_flag=True,
              help="SOURCE is an artifact path (entity/project/name:v3) to download through "
                   "the W&B API.")
@click.option("--name", metavar="N", help="Artifact name (default: from SOURCE's directory "
              "name, as artifact.download() names it: name:v3).")
@click.option("--version", "version", metavar="V", help="Artifact version (v3).")
@click.option("--type", "type_", metavar="T", help="Artifact type.")
@click.option("--digest", metavar="D", help="The artifact digest W&B shows; checked against "
              "the manifest.")
@click.option("--entity", metavar="E", help="W&B entity.")
@click.option("--project", metavar="P", help="W&B project.")
@click.option("--run-id", metavar="ID", help="The W&B run that logged the artifact.")
@click.option("--run-name", metavar="NAME", help="Its display name.")
@click.option("-m", "--message", metavar="MSG", help="Commit message.")
@click.option("--create", is_flag=True, help="Create REPO if it does not exist.")
@click.option("--keep-extra", is_flag=True,
              help="Keep files under PATH that the artifact does not have (default: PATH "
                   "mirrors the artifact).")
@click.option("--allow-unverified-references", is_flag=True,
              help="Import reference entries whose digest is an opaque ETag unchecked.")
@json_option
@pass_state
def import_cmd(state: CliState, source: str, dest: str, manifest: str | None, from_api: bool,
               name: str | None, version: str | None, type_: str | None, digest: str | None,
               entity: str | None, project: str | None, run_id: str | None,
               run_name: str | None, message: str | None, create: bool, keep_extra: bool,
               allow_unverified_references: bool) -> None:
    """Verify a downloaded W&B artifact (SOURCE: its directory + manifest) and commit it at
    REPO[/BRANCH[/PATH]] with the artifact and its run in the commit metadata."""
    from dataclasses import replace

    from blacklake_ml.errors import InvalidInput
    from blacklake_ml.integrations.wandb import (
        import_artifact,
        import_directory,
        info_from_directory,
        parse_destination,
    )
    from blacklake_ml.integrations.wandb.nodes import RunInfo

    parse_destination(dest)  # bad input fails before anything is read
    common: dict[str, Any] = {"message": message, "create_repo": create,
                              "replace": not keep_extra,
                              "allow_unverified_references": allow_unverified_references,
                              "progress": state.progress()}
    if from_api:
        given = [o for o, v in (("--manifest", manifest), ("--name", name),
                                ("--version", version), ("--type", type_),
                                ("--digest", digest), ("--entity", entity),
                                ("--project", project), ("--run-id", run_id),
                                ("--run-name", run_name)) if v]
        if given:
            raise InvalidInput(f"{', '.join(given)}: the W&B API tells these with --from-api")
        result = import_artifact(state.store(), source, dest, **common)
    else:
        if run_name and not run_id:
            raise InvalidInput("--run-name needs --run-id")
        info = info_from_directory(source)
        info = replace(info, name=name or info.name, version=version or info.version,
                       type=type_, digest=digest, entity=entity, project=project,
                       run=RunInfo(id=run_id, name=run_name, project=project, entity=entity)
                       if run_id else None)
        result = import_directory(state.store(), source, dest, manifest=manifest,
                                  artifact=info, **common)
    doc = result.to_json()
    verb = "imported" if result.created else "already there:"
    emit(state, doc, [
        (f"{verb} {doc['artifact']} ({doc['files']} files, {human_size(doc['bytes'])}, "
         f"digest {doc['digest']})"),
        f"commit {doc['commit']}",
        f"at {doc['uri']}",
    ] + [f"removed {p}" for p in doc["removed"]]
      + [f"unverified {p}" for p in doc["unverified"]])


COMMANDS = [wandb_group]
