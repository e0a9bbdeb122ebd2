"""The DVC bridge on the command line: ``serve-dvc`` (a DVC HTTP remote) and ``dvc import``.

The bridge (``blacklake_ml.integrations.dvc``) is imported inside the commands, so
``blacklake --help`` never loads it (nor DVC).
"""

from __future__ import annotations

import json
import signal
import sys
from pathlib import Path
from typing import Any

import click

from blacklake_ml.cli.output import emit, human_size, note
from blacklake_ml.cli.state import CliState, json_option, pass_state
from blacklake_ml.cli.tokens import GENERATED, resolve_token, token_options

#: default port of ``serve-dvc``
DEFAULT_PORT = 8700


def remote_commands(url: str, token: str, name: str = "bl") -> list[str]:
    """The ``dvc remote`` commands that point a project at ``url`` (``.../dvc/<repo>``)."""
    return [f"dvc remote add -d {name} {url}",
            f"dvc remote modify --local {name} auth basic",
            f"dvc remote modify --local {name} user blacklake",
            f"dvc remote modify --local {name} password {token}"]


def _stop_on_sigterm(_signum: int, _frame: Any) -> None:
    raise KeyboardInterrupt  # leave serve_forever the way Ctrl-C does: commit, then exit


@click.command("serve-dvc")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on (loopback only unless you say otherwise).")
@click.option("--port", type=click.IntRange(0, 65535), default=DEFAULT_PORT,
              show_default=True, help="Port (0: any free port).")
@token_options
@click.option("--branch", default="dvc-remote", show_default=True,
              help="Branch of each repository that holds the DVC objects.")
@click.option("--no-create", is_flag=True,
              help="Refuse pushes to repositories that do not exist (default: create them).")
@click.option("--commit-delay", type=click.FloatRange(0.0), default=1.0, show_default=True,
              metavar="SECONDS",
              help="Commit staged uploads once no upload came for this long (or at 1,000 "
                   "objects / 512 MiB, or after 30 s of steady uploads).")
@json_option
@pass_state
def serve_dvc(state: CliState, host: str, port: int, token: str | None,
              token_file: Path | None, branch: str, no_create: bool,
              commit_delay: float) -> None:
    """Serve the store as a DVC HTTP remote at http://HOST:PORT/dvc/<repo>.

    `dvc push` stores DVC objects as chunked, deduplicated files of repository <repo>
    (branch dvc-remote, committed in batches); `dvc pull`, `dvc fetch` and `dvc status -c`
    read them back. Runs until Ctrl-C (uploads still staged are committed first).

    Clients send the token as the password of HTTP basic auth (any user name) or as a
    Bearer token. Only a generated token is printed.
    """
    from blacklake_ml.gateway import Gateway
    from blacklake_ml.integrations.dvc import DvcRemote

    secret = resolve_token(token, token_file, Gateway.new_token())
    generated = secret.source == GENERATED
    remote = DvcRemote(state.store(), branch=branch, create_repos=not no_create,
                       quiet=commit_delay, max_wait=max(30.0, commit_delay))
    try:
        gateway = remote.serve(token=secret.value, host=host, port=port)
    except BaseException:
        remote.close()
        raise
    url = f"{gateway.url}/dvc/<repo>"
    shown = secret.value if generated else secret.placeholder()
    commands = remote_commands(f"{gateway.url}/dvc/REPO", shown)
    # SIGTERM commits and stops cleanly from the moment the ready line is out (installed
    # before it: a script that reads the line and at once sends SIGTERM must not kill us).
    previous = signal.signal(signal.SIGTERM, _stop_on_sigterm)
    try:
        if state.json:
            # one line: a script reads it before the server blocks
            click.echo(json.dumps({"url": url, "base_url": gateway.url, "prefix": "/dvc",
                                   "branch": branch,
                                   "token": secret.value if generated else None,
                                   "token_source": secret.source, "commands": commands}))
        else:
            click.echo(f"DVC remote on {url}  (objects on branch {branch!r})")
            if generated:
                click.echo(f"token: {secret.value}")
            click.echo("Point a DVC project at repository REPO with:")
            for line in commands:
                click.echo(f"  {line}")
        sys.stdout.flush()
        note(state, "Ctrl-C stops the server (staged uploads are committed first).")
        gateway.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)
        gateway.close()
        remote.close()
    note(state, f"stopped; {remote.committer.commits} commit(s) made")


@click.group("dvc")
def dvc_group() -> None:
    """Bring DVC projects into BlackLake (see also `serve-dvc`)."""


@dvc_group.command("import")
@click.argument("project_dir", type=click.Path(file_okay=False, path_type=str))
@click.argument("repo")
@click.option("--branch", default="main", show_default=True,
              help="Git branch whose first-parent history is imported; the BlackLake "
                   "branch of the same name receives the commits.")
@click.option("--into", "target", metavar="B",
              help="BlackLake branch to import into (default: the git branch's name).")
@click.option("--rev-range", metavar="R",
              help="Only git commits in this rev-list range (e.g. v1.0..main).")
@json_option
@pass_state
def dvc_import(state: CliState, project_dir: str, repo: str, branch: str,
               target: str | None, rev_range: str | None) -> None:
    """Import the history of the DVC project in PROJECT_DIR into REPO.

    One commit per git commit that changed .dvc files or dvc.lock, with the tracked data
    (from the DVC cache or the default remote), the git message and author (dates in commit
    metadata), and dvc.yaml stages as lineage. Re-running imports only new commits.
    """
    from blacklake_ml.integrations.dvc import import_project

    report = import_project(state.store(), project_dir, repo, branch=branch,
                            rev_range=rev_range, target_branch=target,
                            progress=state.progress())
    doc = report.to_json()
    if not report.imported:
        note(state, f"{repo}/{report.branch} is up to date with {branch!r} "
                    f"({report.skipped} git commit(s) without DVC changes)")
    lines: list[str | tuple[str, ...]] = []
    for c in report.imported:
        stages = f"; stages: {', '.join(c.stages)}" if c.stages else ""
        lines.append((c.git_commit[:10], c.commit[:12], c.message.splitlines()[0],
                      f"+{c.added} ~{c.modified} -{c.deleted} ({human_size(c.bytes)}){stages}"))
    if report.imported:
        lines.append(f"imported {len(report.imported)} commit(s) into "
                     f"blacklake://{repo}/{report.branch}; {report.skipped} without DVC changes")
    emit(state, doc, lines)


COMMANDS = [serve_dvc, dvc_group]
