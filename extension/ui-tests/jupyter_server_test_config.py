"""Jupyter server configuration for the UI tests ONLY: no token, no XSRF check, runs as root.

Started by Playwright (``playwright.config.js`` -> ``webServer``). Environment:

* ``BLACKLAKE_UI_PORT`` — the port (the runner picks a free one; default 8888);
* ``BLACKLAKE_UI_HOME`` — the store to browse; seeded by ``seed_store.py`` unless it already
  was (default: a fresh temporary directory).

The labextension served is this checkout's build (``blacklake_ml/labextension``), placed
ahead of any installed copy, so the tests never run a stale bundle.
"""

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import jupyterlab.galata
from jupyterlab.galata import configure_jupyter_server

c = get_config()  # noqa: F821 - provided by the config loader
configure_jupyter_server(c)

HERE = Path(__file__).resolve().parent
REPO_ROOT = HERE.parent.parent
LABEXTENSION = REPO_ROOT / "blacklake_ml" / "labextension"

c.ServerApp.allow_root = True
c.ServerApp.ip = "127.0.0.1"
c.ServerApp.port = int(os.environ.get("BLACKLAKE_UI_PORT", "8888"))
c.ServerApp.open_browser = False
c.ServerApp.jpserver_extensions.update({"blacklake_ml.jupyter": True})
c.LabApp.news_url = None
c.LabApp.check_for_updates_class = "jupyterlab.NeverCheckForUpdate"

home = os.environ.get("BLACKLAKE_UI_HOME") or tempfile.mkdtemp(prefix="blacklake-ui-store-")
if not (Path(home) / ".ui-seeded").exists():
    subprocess.run([sys.executable, str(HERE / "seed_store.py"), home], check=True)
c.BlackLake.home = home

if not (LABEXTENSION / "package.json").exists():
    sys.exit(f"{LABEXTENSION} is missing: build the extension first (cd extension && jlpm build:prod)")
ext_dir = tempfile.mkdtemp(prefix="blacklake-labext-")
os.symlink(LABEXTENSION, Path(ext_dir) / "blacklake-ml")
c.LabServerApp.extra_labextensions_path = [str(Path(jupyterlab.galata.__file__).parent), ext_dir]
