"""Every shell and Python example in README.md and docs/*.md runs, as written, on a fresh store.

Conventions (for whoever writes the Markdown):

* Extracted: fenced blocks whose info string is ``bash``, ``sh``, ``console`` or ``python``.
  Anything else (``text``, ``json``, ``toml``, a bare fence) is a listing and is not run.
* One Markdown file = one run, in a fresh temporary directory that is the working directory of
  every block, with ``BLACKLAKE_HOME`` a fresh, empty store home under it, ``HF_HUB_OFFLINE=1``,
  ``WANDB_MODE=offline`` and no other store configuration inherited. Blocks run **in the order
  they appear**, so a block may use what an earlier block *of the same file* created (files,
  repositories, Python names: all ``python`` blocks of a file share one namespace). Blocks of
  different files never see each other.
* ``bash`` / ``sh`` blocks run with ``bash -e -o pipefail``: every command must succeed.
* ``console`` blocks: lines starting with ``$ `` are commands (a trailing ``\\`` continues
  onto the next line), other lines are the output they show and are not compared. A command
  whose shown output starts with ``blacklake: error`` is expected to fail (non-zero exit);
  every other command must succeed.
* A block that cannot run in a test (it installs packages, opens a browser, needs a running
  server, a KFP cluster or the network) carries an HTML comment on the line before its fence,
  with the reason: ``<!-- example: skip (opens JupyterLab) -->``. Keep these rare: give a block
  the sample files it needs instead (create them in the block).
* Files other people own and this test must not annotate are listed in ``EXTERNAL_SKIPS``
  (block identified by its first line), each with its reason.

Run one file: ``python -m pytest tests/test_docs_examples.py -k lifecycle``.
"""

from __future__ import annotations

import json
import linecache
import os
import re
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
LANGS = {"bash", "sh", "console", "python"}
SKIP = re.compile(r"^<!--\s*example:\s*skip\s*\((?P<reason>[^)]+)\)\s*-->\s*$")
FENCE = re.compile(r"^```(?P<lang>[\w+-]*)\s*$")
#: per file, seconds: the examples of one page must stay quick to run
BUDGET_S = 60.0

#: docs/search.md belongs to the search work and is not annotated here: its blocks run the
#: search benchmarks (minutes, several labelled sets) or need a labelled set on disk. A block
#: listed with an empty reason runs.
EXTERNAL_SKIPS: dict[str, dict[str, str]] = {
    "docs/search.md": {
        'blacklake search "transcribe German phone calls" -k 3 --json':
            "",  # runs: a fresh store answers []
        "python benchmarks/tune_search.py --grid small      # grids: small, wide, kind, full":
            "a grid search over the labelled sets: minutes",
        "python benchmarks/bench_search_quality.py --no-fail                   # every set, "
        "test split": "the search-quality benchmark: minutes",
        "python benchmarks/bench_search_quality.py --set-dir my-set --split all --no-fail":
            "needs the labelled set `my-set/` the page describes",
    },
}


@dataclass
class Block:
    file: str      # relative to the repository root
    line: int      # 1-based line of the opening fence
    lang: str
    code: str
    skip: str = ""  # the reason, when skipped


def blocks_of(path: Path) -> list[Block]:
    rel = path.relative_to(ROOT).as_posix()
    lines = path.read_text(encoding="utf-8").splitlines()
    out: list[Block] = []
    i = 0
    while i < len(lines):
        m = FENCE.match(lines[i])
        if not m:
            i += 1
            continue
        start, lang = i, m.group("lang")
        j = i + 1
        while j < len(lines) and lines[j].rstrip() != "```":
            j += 1
        code = "\n".join(lines[i + 1:j]) + "\n"
        i = j + 1
        if lang not in LANGS:
            continue
        prev = lines[start - 1].strip() if start else ""
        skip = SKIP.match(prev)
        block = Block(rel, start + 1, lang, code, skip.group("reason").strip() if skip else "")
        first = code.splitlines()[0] if code.strip() else ""
        external = EXTERNAL_SKIPS.get(rel, {})
        if first in external:
            block.skip = external[first]
        out.append(block)
    return out


def all_blocks() -> dict[str, list[Block]]:
    return {p.relative_to(ROOT).as_posix(): blocks_of(p) for p in DOCS}


# -- the runner (a child process per Markdown file) -----------------------------------------------
def console_commands(code: str) -> list[tuple[str, bool]]:
    """``(command, expect_failure)`` for each ``$`` command of a console block."""
    cmds: list[tuple[str, bool]] = []
    lines = code.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        if not line.startswith("$ "):
            i += 1
            continue
        cmd = line[2:]
        while cmd.rstrip().endswith("\\") and i + 1 < len(lines):
            i += 1
            cmd = cmd.rstrip()[:-1] + "\n" + lines[i]
        i += 1
        output = lines[i] if i < len(lines) and not lines[i].startswith("$ ") else ""
        cmds.append((cmd, output.startswith("blacklake: error")))
    return cmds


def run_file(blocks: list[dict[str, object]]) -> int:
    """Run one file's blocks in order in the current directory; 0 when all passed."""
    namespace: dict[str, object] = {"__name__": "__docs_example__"}
    for b in blocks:
        where = f"{b['file']}:{b['line']} ({b['lang']})"
        code = str(b["code"])
        started = time.monotonic()
        print(f"--- {where}", flush=True)
        if b["lang"] == "python":
            # inspect.getsource (KFP components, ...) finds the block's text through linecache
            linecache.cache[where] = (len(code), None, code.splitlines(keepends=True), where)
            try:
                exec(compile(code, where, "exec", dont_inherit=True), namespace)  # noqa: S102
            except BaseException:  # noqa: BLE001 - any failure of the example is reported
                import traceback

                traceback.print_exc()
                print(f"FAILED: {where}\n{code}", flush=True)
                return 1
        elif b["lang"] in {"bash", "sh"}:
            r = subprocess.run(["bash", "-e", "-o", "pipefail", "-c", code], check=False)
            if r.returncode:
                print(f"FAILED (exit {r.returncode}): {where}\n{code}", flush=True)
                return 1
        else:
            for cmd, expect_failure in console_commands(code):
                r = subprocess.run(["bash", "-o", "pipefail", "-c", cmd], check=False)
                if bool(r.returncode) != expect_failure:
                    print(f"FAILED (exit {r.returncode}, expected "
                          f"{'failure' if expect_failure else 'success'}): {where}\n$ {cmd}",
                          flush=True)
                    return 1
        print(f"    ok in {time.monotonic() - started:.1f}s", flush=True)
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))  # `from pipelines... import` as from the repository root
    sys.exit(run_file(json.loads(Path(sys.argv[1]).read_text())))


# -- the tests --------------------------------------------------------------------------------------
BLOCKS = all_blocks()
FILES = [f for f, bs in BLOCKS.items() if bs]


def example_env(tmp: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("BLACKLAKE_", "MLFLOW_", "WANDB_", "DVC_", "KFP_"))}
    venv_bin = str(Path(sys.executable).parent)
    env.update({
        "BLACKLAKE_HOME": str(tmp / "blacklake-home"),
        "HOME": str(tmp / "user-home"),  # nothing from the real ~/.blacklake, ~/.config, ...
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "WANDB_MODE": "offline",
        "WANDB_SILENT": "true",
        "WANDB_DIR": str(tmp / "wandb-dir"),
        "MLFLOW_DISABLE_TELEMETRY": "true",
        "DO_NOT_TRACK": "1",
        "DVC_NO_ANALYTICS": "1",
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_AUTHOR_NAME": "Docs Example", "GIT_AUTHOR_EMAIL": "docs@example.com",
        "GIT_COMMITTER_NAME": "Docs Example", "GIT_COMMITTER_EMAIL": "docs@example.com",
        "PATH": venv_bin + os.pathsep + env.get("PATH", ""),
        "PYTHONPATH": str(ROOT),
    })
    for d in ("user-home", "wandb-dir"):
        (tmp / d).mkdir(exist_ok=True)
    return env


@pytest.mark.slow
@pytest.mark.parametrize("doc", FILES)
def test_examples_run_on_a_fresh_store(doc: str, tmp_path: Path) -> None:
    blocks = [b for b in BLOCKS[doc] if not b.skip]
    if not blocks:
        pytest.skip(f"every example of {doc} is marked skip")
    work = tmp_path / "work"
    work.mkdir()
    spec = tmp_path / "blocks.json"
    spec.write_text(json.dumps([asdict(b) for b in blocks]))
    started = time.monotonic()
    r = subprocess.run([sys.executable, __file__, str(spec)], cwd=work, env=example_env(tmp_path),
                       capture_output=True, text=True, timeout=300, check=False)
    elapsed = time.monotonic() - started
    assert r.returncode == 0, f"an example of {doc} failed:\n{r.stdout[-6000:]}\n{r.stderr[-6000:]}"
    assert elapsed < BUDGET_S * 1.5, f"{doc}'s examples took {elapsed:.0f}s (budget {BUDGET_S}s)"


def test_skips_are_few_and_explained() -> None:
    """Every skip names its reason; a block of a file we may not annotate is listed."""
    for doc, blocks in BLOCKS.items():
        for b in blocks:
            if doc in EXTERNAL_SKIPS and b.lang in {"bash", "sh", "console"}:
                first = b.code.splitlines()[0]
                assert first in EXTERNAL_SKIPS[doc], f"{doc}:{b.line}: list {first!r}"
    text = "\n".join(p.read_text(encoding="utf-8") for p in DOCS)
    for m in re.finditer(r"<!--\s*example:[^>]*-->", text):
        assert SKIP.match(m.group(0)), f"malformed example marker: {m.group(0)}"


LINK = re.compile(r"\[[^\]]*\]\((?P<target>[^)\s]+)\)")


def anchors(path: Path) -> set[str]:
    """GitHub's heading anchors of a Markdown file."""
    out = set()
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("#"):
            title = line.lstrip("#").strip().lower()
            title = re.sub(r"[^\w\- ]", "", title).replace(" ", "-")
            out.add(title)
    return out


@pytest.mark.parametrize("doc", list(BLOCKS))
def test_links_resolve(doc: str) -> None:
    """Relative links (and their #anchors) in README.md and docs/ point at something."""
    path = ROOT / doc
    text = re.sub(r"```.*?```", "", path.read_text(encoding="utf-8"), flags=re.DOTALL)
    broken = []
    for m in LINK.finditer(text):
        target = m.group("target")
        if re.match(r"^[a-z]+:", target):
            continue  # http(s):, mailto:
        file_part, _, anchor = target.partition("#")
        dest = (path.parent / file_part).resolve() if file_part else path
        missing_anchor = bool(anchor) and dest.suffix == ".md" and dest.exists() \
            and anchor not in anchors(dest)
        if not dest.exists() or missing_anchor:
            broken.append(target)
    assert not broken, f"{doc}: broken links {broken}"
