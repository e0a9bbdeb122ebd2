"""Quick checks of the scanner benchmark's corpus generator (benchmarks/scan_corpus).

The corpus is the independent evaluation set of ``benchmarks/bench_scanners.py``; these
tests only check that the generator is sound: ids are unique, every class of issue 10 is
covered, and a few pure-pickle entries really run their payload under pickle.load in a
child process (so the verifier is not vacuous) while a benign file loads without it.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))

from scan_corpus import BENIGN, CLASSES, entries  # noqa: E402
from scan_corpus.build import make_all, verify_one  # noqa: E402


def test_registry_covers_every_class() -> None:
    es = entries()
    assert len({e.id for e in es}) == len(es)
    mal = [e for e in es if e.malicious]
    assert len(mal) >= 80
    assert len([e for e in es if e.cls == BENIGN]) >= 30
    for k in CLASSES:
        assert sum(e.cls == k for e in mal) >= 3, k
        assert any(e.quick for e in mal if e.cls == k), f"--quick has no {k} entry"


@pytest.mark.timeout(120)
def test_payloads_verify_and_benign_loads(tmp_path: Path) -> None:
    wanted = {"4-gaps/control-os.system", "4-gaps/copyreg-ext-builtins.exec",
              "4-gaps/INST-opcode", "5-limits/INT-hex-prefix-I0x10",
              "5-limits/memo-overwrite-STACK_GLOBAL",
              "1-prefix/GLOBAL-opcode-after-PROTO2@pickle"}
    chosen = [e for e in entries() if e.id in wanted]
    assert len(chosen) == len(wanted)
    assert make_all(tmp_path, chosen) == {}
    for e in chosen:
        r = verify_one(tmp_path, e, sys.executable, 60)
        # the PROTO 2 candidate must not run (no dotted walk): the verifier drops it
        expect = not e.id.endswith("PROTO2@pickle")
        assert r["executed"] is expect, (e.id, r)
        assert r["ok"] is expect


def test_benign_pickle_does_not_fire(tmp_path: Path) -> None:
    pytest.importorskip("sklearn")
    (e,) = [e for e in entries() if e.id == "benign/sklearn-LogisticRegression.pkl"]
    make_all(tmp_path, [e])
    r = verify_one(tmp_path, e, sys.executable, 60)
    assert r == {**r, "ok": True, "executed": False, "rc": 0}
