"""MLflow finds the three plugins through their entry points, whatever is imported first
(MLflow loads plugins while it initialises; a half-imported plugin module must not be what
it registers), and ``blacklake --help`` never imports MLflow."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

CHECK = """
import warnings
warnings.simplefilter("error", UserWarning)
import {first}
import blacklake_ml.integrations.mlflow as blm
from mlflow.data.dataset_source_registry import get_registered_sources
from mlflow.store.artifact.artifact_repository_registry import (
    get_registered_artifact_repositories)
from mlflow.tracking.context.registry import _run_context_provider_registry
sources = [s.__name__ for s in get_registered_sources() if s._get_source_type() == "blacklake"]
assert sources == ["BlackLakeDatasetSource"], sources
assert get_registered_artifact_repositories()["blacklake"] is blm.BlackLakeArtifactRepository
assert sum(type(p) is blm.BlackLakeRunContextProvider
           for p in _run_context_provider_registry) == 1
assert callable(blm.dataset) and callable(blm.use)
print("ok")
"""


@pytest.mark.parametrize("first", ["mlflow", "blacklake_ml.integrations.mlflow.datasets",
                                   "blacklake_ml.integrations.mlflow.artifacts"])
def test_plugins_register_in_any_import_order(first: str) -> None:
    env = {**os.environ, "MLFLOW_DISABLE_TELEMETRY": "true"}
    res = subprocess.run([sys.executable, "-c", CHECK.format(first=first)], env=env,
                         capture_output=True, text=True, timeout=120, check=False)
    assert res.returncode == 0 and res.stdout.strip() == "ok", res.stderr[-2000:]


def test_cli_help_does_not_import_mlflow() -> None:
    code = ("import sys\nfrom click.testing import CliRunner\nfrom blacklake_ml.cli.main import cli\n"
            "r = CliRunner().invoke(cli, ['mlflow', '--help'])\nassert r.exit_code == 0\n"
            "assert 'register' in r.output and 'import' in r.output\n"
            "print(any(m == 'mlflow' or m.startswith('mlflow.') for m in sys.modules))")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120, check=False)
    assert res.stdout.strip() == "False", res.stderr[-2000:]
