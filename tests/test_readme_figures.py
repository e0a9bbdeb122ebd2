"""README's benchmark tables are generated from benchmark JSON (scripts/readme_figures.py)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "readme_figures.py"


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, text=True,
                          check=False)


def test_tables_come_from_the_json_and_check_detects_drift(tmp_path: Path) -> None:
    results = tmp_path / "results"
    results.mkdir()
    tool = {"available": True, "version": "1",
            "strict": {"detected": 3, "flagged": 0, "by_class": {"1-x": {"detected": 3}}}}
    (results / "scanners.json").write_text(json.dumps({
        "time": "2026-12-07T10:00:00+00:00", "quick": False,
        "env": {"cpus": 2, "machine": "x86_64", "python": "3.11"}, "loadavg_start": [0.5],
        "corpus": {"malicious": 3, "benign": 2, "by_class": {"1-x": 3}},
        "tools": {"blacklake": tool}}))
    (results / "latest.json").write_text(json.dumps({
        "time": "2026-12-07T11:00:00+00:00", "quick": False, "git_commit": "abc123",
        "results": {"put_many": {"env": {"cpus": 2}, "loadavg_start": [1.0]},
                    "peers": {"repeats": 3, "goals": {"put_large": "vs_fastest_peer >= 2"},
                              "median_s": {"put_large": {"blacklake": 1.5, "dvc": 5.0,
                                                         "oxen": 3.0, "cp": 0.3}},
                              "ratios": {"put_large": {"vs_fastest_peer": 2.0}},
                              "goal_met": {"put_large": True}}},
        "summary": {"put_many": {"figure": "5.1", "meaning": "x dvc add", "verdict": "PASS"}}}))
    readme = tmp_path / "README.md"
    readme.write_text("# x\n<!-- generated:scanners -->\nold\n<!-- /generated:scanners -->\n"
                      "<!-- generated:performance -->\n<!-- /generated:performance -->\n")
    args = ("--results", str(results), "--readme", str(readme))
    assert _run(*args, "--check").returncode == 1
    assert _run(*args).returncode == 0
    text = readme.read_text()
    assert "| 1-x | 3 | 3/3 |" in text and "**0/2**" in text and "old" not in text
    assert "| `put_many` | 5.1 | x dvc add | PASS |" in text and "abc123" in text
    assert "load average 0.50" in text
    # the peers table, per workload: a tool that did not run shows n/a
    assert "| `put_large` | 1.5 | 5 | n/a | 3 | 0.3 | n/a | 2.00x | met |" in text
    assert _run(*args, "--check").returncode == 0


def test_quick_runs_are_refused(tmp_path: Path) -> None:
    (tmp_path / "latest.json").write_text(json.dumps({"quick": True, "summary": {}}))
    readme = tmp_path / "README.md"
    readme.write_text("<!-- generated:performance -->\n<!-- /generated:performance -->\n")
    out = _run("--results", str(tmp_path), "--readme", str(readme), "--only", "performance")
    assert out.returncode != 0 and "--quick" in (out.stderr + out.stdout)
