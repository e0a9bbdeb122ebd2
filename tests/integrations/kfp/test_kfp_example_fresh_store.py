"""The example pipeline as its docstring tells a newcomer to run it, on a fresh store: the
docstring's example works as written (``seed_demo`` creates what the pipeline reads), a failing
step's own error reaches the caller (not just KFP's ``Inner task failed: '<step>'``), and the
``--seed-demo`` command is idempotent."""

from __future__ import annotations

import re
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from blacklake_ml import Store
from pipelines import train_classifier as example  # importable: see this directory's conftest

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture
def reset_kfp_local() -> Iterator[None]:
    """The code under test calls kfp.local.init itself; drop its process-wide config after."""
    from kfp.local import config

    try:
        yield
    finally:
        config.LocalExecutionConfig.instance = None


def docstring_example() -> str:
    """The indented block after "Run it locally" in the module docstring."""
    doc = example.__doc__ or ""
    m = re.search(r"Run it locally[^\n]*::\n\n((?:    .*\n|\n)+?)\n(?=\S)", doc)
    assert m, "the module docstring has no 'Run it locally ...::' example"
    return textwrap.dedent(m.group(1))


@pytest.mark.slow
def test_docstring_example_runs_on_a_fresh_store(tmp_path: Path, reset_kfp_local: None,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    code = docstring_example()
    assert "seed_demo(" in code  # the example creates what the pipeline reads
    # the example's /tmp paths, moved into this test's directory (nothing else changes)
    for path in sorted(set(re.findall(r"/tmp/[\w.-]+", code)), key=len, reverse=True):
        code = code.replace(path, str(tmp_path / path.removeprefix("/tmp/")))
    assert not (tmp_path / "bl").exists()  # a fresh store: nothing there yet
    exec(compile(code, "train_classifier docstring", "exec", dont_inherit=True), {})  # noqa: S102
    printed = capsys.readouterr().out.strip().splitlines()[-1]
    with Store.open(tmp_path / "bl") as store:
        head = store.repo("models").branch_head("main")
        assert printed == f"blacklake://models/{head}/iris/model.onnx"
        assert store.repo("datasets").read_bytes("main", "iris.csv").startswith(b"sepal length")


def test_a_failing_step_says_why(kfp_local: Path, tmp_path: Path) -> None:
    home = tmp_path / "fresh"  # never seeded
    with pytest.raises(example.StepFailed) as info:
        example.run_local(blacklake_home=str(home), mlflow_tracking_uri="sqlite:///unused.db")
    err = info.value
    assert err.step == "pull-dataset"
    assert err.error == "blacklake: RepoNotFound: no repository named 'datasets'"
    message = str(err)
    assert message.startswith("step 'pull-dataset' failed: blacklake: RepoNotFound: no "
                              "repository named 'datasets'")
    assert "seed_demo(blacklake_home)" in message and "--seed-demo" in message
    assert "Traceback" not in message
    assert isinstance(err.__cause__, RuntimeError) and "Inner task failed" in str(err.__cause__)


def test_a_step_raising_an_exception_reports_its_last_line() -> None:
    log = ("12:00:00.000 - INFO - Executing task \x1b[96m'train'\x1b[0m\n"
           "12:00:00.001 - INFO - Streamed logs:\n\n"
           "    [KFP Executor 2026-12-08 INFO]: Looking for component `train`\n"
           "    Traceback (most recent call last):\n"
           "      File \"x.py\", line 1, in <module>\n"
           "    ValueError: could not convert string to float: 'abc'\n\n\n"
           "12:00:01.000 - ERROR - Task \x1b[96m'train'\x1b[0m finished with status FAILURE\n")
    error, step_log = example.step_error(log, "train")
    assert error == "ValueError: could not convert string to float: 'abc'"
    assert "Traceback" in step_log


def test_seed_demo_command_is_idempotent(tmp_path: Path) -> None:
    home = tmp_path / "home"
    commits = []
    for _ in range(2):
        out = subprocess.run([sys.executable, "-m", "pipelines.train_classifier", "--seed-demo",
                              "--home", str(home)], cwd=ROOT, check=True, capture_output=True,
                             text=True)
        assert out.stdout.strip() == example.DATASET_URI
        with Store.open(home) as store:
            commits.append(store.repo("datasets").branch_head("main"))
    assert commits[0] == commits[1]  # the second run changed nothing
    with Store.open(home) as store:
        assert {r.name for r in store.list_repos()} == {"datasets", "models"}
        rows = store.repo("datasets").read_bytes("main", "iris.csv").decode().splitlines()
        assert len(rows) == 151 and rows[0].endswith(",label")
