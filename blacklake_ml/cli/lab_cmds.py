"""``blacklake lab``: JupyterLab on a store, with the BlackLake panel open.

How the panel gets opened: JupyterLab restores a *workspace* (its saved layout) when it starts
at ``/lab/workspaces/<name>``. This command writes (or updates) the workspace ``blacklake`` so
that its left side area is expanded on the panel the frontend registers with the layout
restorer (:data:`PANEL_ID`, the ``restorer.add(sidebar, ...)`` name in
``extension/src/index.ts``), and starts Lab with ``--LabApp.default_url`` pointing there.
The rest of the workspace (open tabs, sizes) is kept between runs; only the left area's
current panel is set.

The store reaches Lab through the environment: ``BLACKLAKE_HOME`` (and ``BLACKLAKE_STORAGE``
/ ``BLACKLAKE_CATALOG`` when given as options) is set for the Jupyter server, so its
extension and every kernel it starts open the same store.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shlex
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import click

from blacklake_ml.cli.output import emit, note
from blacklake_ml.cli.state import CliState, json_option, pass_state
from blacklake_ml.core.redact import redact_url
from blacklake_ml.errors import MissingDependency

#: The layout-restorer name of the BlackLake side panel (``restorer.add(sidebar,
#: 'blacklake-ml-panel')`` in extension/src/index.ts; also the panel's DOM id).
PANEL_ID = "blacklake-ml-panel"
#: The npm/labextension name of the frontend (extension/package.json ``name``).
LABEXTENSION = "blacklake-ml"
#: The JupyterLab workspace this command maintains.
WORKSPACE = "blacklake"
#: Where ``--demo`` seeds when no store home was chosen (never the everyday ~/.blacklake).
DEMO_HOME = "~/.blacklake-demo"
#: The key JupyterLab's layout restorer keeps the layout under, in a workspace's data.
LAYOUT_KEY = "layout-restorer:data"


@dataclass
class LabPlan:
    """Everything ``blacklake lab`` is about to do (printed as is by ``--dry-run``)."""

    argv: list[str]
    env: dict[str, str]
    home: str
    demo: bool
    workspaces_dir: str
    workspace: str = WORKSPACE
    panel: str = PANEL_ID
    labextension: str | None = None
    notes: list[str] = field(default_factory=list)

    def shown_env(self) -> dict[str, str]:
        """``env`` for display: a catalog or storage URL's password is masked (the real
        values only go to the child process)."""
        return {k: redact_url(v) for k, v in self.env.items()}

    def to_json(self) -> dict[str, Any]:
        """The ``--dry-run --json`` document."""
        return {"argv": self.argv, "env": self.shown_env(), "home": self.home,
                "demo": self.demo,
                "workspaces_dir": self.workspaces_dir, "workspace": self.workspace,
                "panel": self.panel, "labextension": self.labextension,
                "url_path": f"/lab/workspaces/{self.workspace}", "notes": self.notes}

    def command_line(self) -> str:
        """The command as one shell line, environment assignments first."""
        assigns = [f"{k}={shlex.quote(v)}" for k, v in sorted(self.shown_env().items())]
        return " ".join(assigns + [shlex.quote(a) for a in self.argv])


def workspaces_dir() -> Path:
    """JupyterLab's workspaces directory (``JUPYTERLAB_WORKSPACES_DIR``, else
    ``<jupyter config dir>/lab/workspaces``, as ``jupyter lab`` computes it)."""
    configured = os.environ.get("JUPYTERLAB_WORKSPACES_DIR")
    if configured:
        return Path(configured).expanduser().absolute()
    from jupyter_core.paths import jupyter_config_dir

    return (Path(jupyter_config_dir()) / "lab" / "workspaces").absolute()


def find_labextension(extra_paths: tuple[str, ...] = ()) -> str | None:
    """Where JupyterLab will find the BlackLake frontend (in Jupyter's data path or in
    ``extra_paths``), or None if it is not installed."""
    try:
        from jupyter_core.paths import jupyter_path
    except ImportError:
        return None
    for base in [*jupyter_path("labextensions"), *extra_paths]:
        candidate = Path(base) / LABEXTENSION / "package.json"
        if candidate.is_file():
            return str(candidate.parent)
    return None


def panel_workspace(existing: dict[str, Any] | None = None) -> dict[str, Any]:
    """The ``blacklake`` workspace: ``existing`` (what Lab saved last time) with the left
    area expanded on the BlackLake panel."""
    data = dict((existing or {}).get("data") or {})
    layout = dict(data.get(LAYOUT_KEY) or {})
    left = dict(layout.get("left") or {})
    left.update({"collapsed": False, "visible": True, "current": PANEL_ID})
    layout["left"] = left
    data[LAYOUT_KEY] = layout
    return {"data": data, "metadata": {"id": f"/{WORKSPACE}"}}


def write_workspace(directory: Path) -> Path:
    """Create or update the ``blacklake`` workspace in ``directory`` (through JupyterLab's
    own workspace manager, so the file name is the one Lab looks for); returns its path."""
    from jupyterlab_server.workspaces_handler import WorkspacesManager

    manager = WorkspacesManager(str(directory))
    try:
        existing = manager.load(WORKSPACE)
    except (OSError, ValueError):  # unreadable or not JSON: start afresh
        existing = None
    return Path(manager.save(WORKSPACE, json.dumps(panel_workspace(existing))))


def plan_lab(state: CliState, *, home: str | None, demo: bool, port: int | None,
             no_browser: bool, extra: tuple[str, ...]) -> LabPlan:
    """Work out the store home, environment and command line (no side effects)."""
    from blacklake_ml.config import ENV_CATALOG, ENV_HOME, ENV_STORAGE, load_config

    notes: list[str] = []
    chosen = home or state.home or os.environ.get(ENV_HOME)
    if demo and not chosen:
        chosen = DEMO_HOME
        notes.append(f"demo store in {Path(DEMO_HOME).expanduser()} (choose another with "
                     "--home DIR)")
    store_home = str(load_config(chosen).home.absolute())
    env = {ENV_HOME: store_home}
    if state.storage:
        env[ENV_STORAGE] = state.storage
    if state.catalog:
        env[ENV_CATALOG] = state.catalog
    wsdir = workspaces_dir()
    argv = [sys.executable, "-m", "jupyterlab",
            f"--LabApp.default_url=/lab/workspaces/{WORKSPACE}",
            f"--LabApp.workspaces_dir={wsdir}"]
    if port is not None:
        argv.append(f"--ServerApp.port={port}")
    if no_browser:
        argv.append("--no-browser")
    argv.extend(extra)
    # `--LabApp.extra_labextensions_path=DIR` (a development build) counts as installed
    extra_paths = tuple(a.split("=", 1)[1] for a in extra
                        if a.split("=", 1)[0].endswith(".extra_labextensions_path")
                        and "=" in a and not a.split("=", 1)[1].startswith("["))
    ext = find_labextension(extra_paths)
    if ext is None:
        notes.append(f"the BlackLake JupyterLab extension ({LABEXTENSION}) is not installed: "
                     "Lab will start without the panel (pip install 'blacklake-ml[jupyter]' "
                     "from a release, or build extension/ in a checkout)")
    return LabPlan(argv=argv, env=env, home=store_home, demo=demo,
                   workspaces_dir=str(wsdir), labextension=ext, notes=notes)


def _exec(argv: list[str], env: dict[str, str]) -> None:
    """Replace this process with ``argv`` (a child process where exec is unavailable)."""
    sys.stdout.flush()
    sys.stderr.flush()
    if os.name == "posix":
        os.execvpe(argv[0], argv, env)
    sys.exit(subprocess.call(argv, env=env))


@click.command("lab", context_settings={"ignore_unknown_options": True})
@click.option("--demo", is_flag=True,
              help="Seed the demo models and datasets into the store first (idempotent). "
                   f"Without --home or BLACKLAKE_HOME the demo store is {DEMO_HOME}.")
@click.option("--home", "lab_home", type=click.Path(file_okay=False, path_type=str),
              metavar="DIR", help="Store home for this session (set as BLACKLAKE_HOME for "
                                  "Lab's server and kernels).")
@click.option("--port", type=click.IntRange(1, 65535), metavar="P",
              help="Port of the Jupyter server (default: Jupyter's).")
@click.option("--no-browser", is_flag=True, help="Do not open a browser.")
@click.option("--dry-run", is_flag=True,
              help="Print the command and environment it would run; change nothing.")
@click.argument("jupyter_args", nargs=-1, type=click.UNPROCESSED, metavar="[JUPYTER_ARGS]...")
@json_option
@pass_state
def lab(state: CliState, demo: bool, lab_home: str | None, port: int | None,
        no_browser: bool, dry_run: bool, jupyter_args: tuple[str, ...]) -> None:
    """Start JupyterLab on the store with the BlackLake panel open.

    Other arguments go to `jupyter lab` unchanged (e.g. --allow-root,
    --ServerApp.root_dir=DIR).
    """
    plan = plan_lab(state, home=lab_home, demo=demo, port=port, no_browser=no_browser,
                    extra=jupyter_args)
    if dry_run:
        emit(state, plan.to_json(), [plan.command_line()] + [f"note: {n}" for n in plan.notes])
        return
    if importlib.util.find_spec("jupyterlab") is None:
        raise MissingDependency("blacklake lab (JupyterLab)", "jupyter")
    for line in plan.notes:
        note(state, line)
    if demo:
        _seed_demo(state, plan)
    path = write_workspace(Path(plan.workspaces_dir))
    note(state, f"workspace {WORKSPACE!r} opens the BlackLake panel ({path})")
    state.close()
    env = {**os.environ, **plan.env}
    _exec(plan.argv, env)


def _seed_demo(state: CliState, plan: LabPlan) -> None:
    from blacklake_ml.api import Store
    from blacklake_ml.demo import describe, seed

    note(state, f"seeding the demo store in {plan.home} ...")
    with Store.open(plan.home, storage=state.storage, catalog=state.catalog) as store:
        out = seed(store)
    note(state, describe(out))


COMMANDS = [lab]
