"""Model-file scanners on the issue-10 evaluation corpus: ``blacklake scan`` vs picklescan,
modelscan, fickling and modelaudit (detections of verified-malicious files, flags on benign).

The corpus (``benchmarks/scan_corpus/``) is generated at run time into
``~/.cache/blacklake-bench/scan_corpus/<fingerprint>/`` (nothing binary is committed) and is
independent of the scanner under test: it was written without reading ``blacklake_ml/``.

Malicious classes (each entry is named ``<class>/<variant>``; ``--verbose`` lists every miss
with its one-line note; ``python -m scan_corpus.build`` from ``benchmarks/`` lists them all):

1. ``1-prefix`` — allow-list by prefix: a trusted module with a dotted name the unpickler
   walks as attributes from protocol 4 on (``sklearn._config`` + ``os.system``,
   ``torch.serialization`` + ``os.system``, ``scipy.sparse._construct``, ``torch`` +
   ``builtins.exec``, ``torch.utils.collect_env`` + ``subprocess.getoutput``, two hops via
   ``sklearn.base`` -> ``platform`` -> ``os``, ...), under pickle.load, joblib.load and
   torch.load; a text GLOBAL after PROTO 4, and a second PROTO 4 opcode mid-stream.
2. ``2-joblib`` — joblib framing desync: hand-assembled joblib files whose array byte count
   a naive reading gets wrong (``U3``, ``S5``/``V8``/``U0`` with a larger pickled elsize,
   ``c16``, ``M8[ns]``; duplicate ``shape``/``dtype``/alignment keys in the
   ``NumpyArrayWrapper`` state where the last wins; a 200-byte padding of decoys), with
   ``SETITEM STOP`` decoys planted where the wrong reading resumes and the payload right
   after the real bytes; payloads in nested object-array pickles; the joblib <= 0.9
   ``NDArrayWrapper`` that np.load()s a sibling file; gzip/zlib/xz/lzma/bz2 compression.
3. ``3-zipdup`` — duplicate zip members in torch archives: torch's reader takes the *last*
   of duplicate names and matches names case-insensitively (``data.pkl`` twice, benign
   first; a malicious ``DATA.pkl`` after a benign ``data.pkl``; only ``Data.Pkl``).
4. ``4-gaps`` — deny-list gaps: ``timeit.timeit``, ``cProfile.run``, ``profile.run``,
   ``pydoc.pipepager``/``tempfilepager``, ``pickle.loads``/``_pickle.loads``/
   ``pickle._loads`` of an inner pickle, ``numpy.testing.measure``/``runstring``,
   ``code.InteractiveInterpreter.runsource`` and ``InteractiveConsole.push`` (unbound, on a
   built instance), ``runpy._run_code``, ``builtins.exec`` through a copyreg extension
   code (EXT1), ``doctest.run_docstring_examples``, ``trace.Trace.runctx``,
   ``posix.system``, ``subprocess.getoutput``, ``os.popen``, ``os.spawnlp``,
   ``torch.utils.collect_env.run``, resolvers returning ``os.system`` (``pkgutil``,
   ``pydoc.locate``, ``operator.methodcaller``/``attrgetter`` on
   ``importlib.import_module``), Python 2 names mapped by the unpickler
   (``__builtin__.exec``, ``commands.getoutput``), INST and OBJ opcodes; two controls.
5. ``5-limits`` — 6,000,000 MARK/POP_MARK or NONE/POP opcodes before the payload (pickle,
   joblib, torch data.pkl), a million nested MARKs, a 100,000-deep list, a 300 MB plain
   pickle, a deflated torch data.pkl that inflates to 300 MB or to 60 M opcodes, a gzip
   joblib inflating to 300 MB; parser differentials (``I0x10``/``I0o20``/``I0b1``/
   ``L0x10L`` that pickle reads with base prefixes and pickletools rejects, before the
   payload); memo slots written twice; STACK_GLOBAL operands from the memo, from
   raw-unicode-escapes or computed by ``codecs.decode``; STACK_GLOBAL under PROTO 2; a
   FRAME that covers part of the payload.
6. ``6-containers`` — protocol 0/1 data.pkl in torch archives, legacy (non-zip) torch files
   (payload in the magic-number, sys_info or object pickle; a protocol 0 magic number), the
   pre-1.0 tar layout (``storages``/``tensors``/``pickle`` members), a raw protocol-0
   ``pytorch_model.bin``, Hugging Face folders (``training_args.bin``, ``optimizer.pt``,
   ``rng_state.pth``, a sharded ``pytorch_model-00001-of-00002.bin`` beside a
   ``model.safetensors``), MLflow pyfunc ``python_model.pkl`` (cloudpickle) and sklearn
   ``model.pkl`` folders, ``.npy``/``.npz`` object arrays.
7. ``7-code`` — Keras ``Lambda`` layers (functional, Sequential, in a sub-model; ``.keras``
   and ``.h5``) and a ``__lambda__`` as a Dense activation (runs on first predict), Hugging
   Face ``auto_map`` remote code (``modeling_*.py`` at import, in ``__init__``,
   ``configuration_*.py``, ``tokenization_*.py``).

Benign entries are saved by the real libraries: scikit-learn (7 estimators) as pickle and
joblib, plain and compressed; skops; torch state dicts (zip, legacy, protocol 4), a whole
nn.Sequential, optimizer state; safetensors; ONNX (skl2onnx, onnx.helper); Keras ``.keras``
and ``.h5``; Hugging Face ``save_pretrained`` folders of tiny random configs (safetensors,
pytorch_model.bin, a Trainer-style checkpoint folder); numeric ``.npy``/``.npz``; an MLflow
sklearn folder.

**Verification** (``scan_corpus/build.py``): every entry's natural loader (pickle.load,
joblib.load, torch.load(weights_only=False), np.load(allow_pickle=True),
keras.models.load_model(safe_mode=False), AutoModel/AutoTokenizer.from_pretrained(
trust_remote_code=True), mlflow.pyfunc.load_model) runs in a child process with a timeout
and ``BLSCAN_MARKER`` set to a fresh path; every payload creates that file (``touch
"$BLSCAN_MARKER"`` or the Python equivalent). A malicious entry counts only if the marker
exists afterwards; a benign entry only if its loader exits 0 without a marker. Anything
else is dropped with a printed note and never counted.

**Tools** run as subprocesses on each entry (a file, or a folder for folder entries), each
peer from its own virtualenv under ``~/.cache/blacklake-bench/scanners/<tool>`` that this
script creates with ``pip install <tool>`` when missing (base packages, no extras). Two
mappings are reported from the same run:

* ``strict`` (the headline: anything the tool calls unsafe or suspicious counts):
  - blacklake: ``blacklake scan --json``; detected/flagged = top verdict != "safe"
    ("unknown" counts).
  - picklescan: ``picklescan -p PATH``; dangerous globals > 0 *or* suspicious globals > 0.
  - modelscan: ``modelscan -p PATH -r json -o FILE``; any issue of any severity.
  - fickling: its CLI takes one raw pickle (``fickling --check-safety FILE``); for archives
    and folders it has only its Hugging Face mode, so a driver runs that mode's own code
    (``fickling.cli._scan_huggingface``) over the local files, with ``huggingface_hub``
    stubbed to list and "download" them (and, torch not being installed in its venv, the
    one torch helper fickling imports, ``_is_zipfile``: "starts with PK\\x03\\x04"); detected = that function returns non-zero (any
    file above LIKELY_SAFE, which includes fickling's parse errors — fickling says they
    may be malicious); its exit 2 means the driver could not run (a crash).
  - modelaudit: ``modelaudit scan PATH --format json -o FILE`` (telemetry off); any issue
    of severity critical or warning.
* ``own`` (each tool's own pass/fail): blacklake the same; picklescan exit 1 (dangerous
  globals); modelscan exit 1; fickling the same; modelaudit exit 1 or a critical issue.

A tool that crashes, times out or prints nothing parseable on an entry has not detected it
(malicious) and has not flagged it (benign), unless it reported an issue before failing.
If ``blacklake scan`` is not available its column says so and the rest still runs.

Printed: detected/total per tool and per class, benign flagged/total, load average, date;
the last line is one JSON document (``run_all.py`` convention), also written to
``benchmarks/results/scanners.json``. No target: the figures are informational.

    python benchmarks/bench_scanners.py [--quick] [--verbose] [--tools blacklake,picklescan]
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import _common as c

HERE = Path(__file__).resolve().parent
CACHE = Path(os.environ.get("BLACKLAKE_BENCH_CACHE", Path.home() / ".cache" / "blacklake-bench"))
SCANNERS = CACHE / "scanners"
TOOLS = ["blacklake", "picklescan", "modelscan", "fickling", "modelaudit"]
#: pip requirements of each peer's virtualenv: the base package, plus numpy where the tool
#: imports it to read .npy files (an optional dependency of picklescan and fickling) and
#: typing_extensions, which fickling imports but does not declare
PIP = {"picklescan": ["picklescan", "numpy"], "modelscan": ["modelscan"],
       "fickling": ["fickling", "typing_extensions", "numpy"], "modelaudit": ["modelaudit"]}
TOOL_TIMEOUT = 600.0
QUIET_ENV = {"PROMPTFOO_DISABLE_TELEMETRY": "1", "NO_ANALYTICS": "1", "NO_COLOR": "1",
             "DO_NOT_TRACK": "1", "HF_HUB_OFFLINE": "1", "PYTHONWARNINGS": "ignore",
             "TERM": "dumb", "COLUMNS": "200"}

FICKLING_DRIVER = r'''
"""Run fickling's own Hugging Face scan (fickling.cli._scan_huggingface) over local files."""
import os, sys, types

root = os.path.abspath(sys.argv[1])
files = ([os.path.basename(root)] if os.path.isfile(root) else
         sorted(os.path.relpath(os.path.join(d, f), root)
                for d, _s, fs in os.walk(root) for f in fs))
base = os.path.dirname(root) if os.path.isfile(root) else root
hub = types.ModuleType("huggingface_hub")


class HfApi:
    def __init__(self, token=None):
        pass

    def repo_info(self, repo_id, revision=None, token=None):
        sib = [types.SimpleNamespace(rfilename=f) for f in files]
        return types.SimpleNamespace(siblings=sib)


def hf_hub_download(repo_id, filename, revision=None, token=None):
    return os.path.join(base, filename)


hub.HfApi, hub.hf_hub_download = HfApi, hf_hub_download
sys.modules["huggingface_hub"] = hub
try:  # fickling.polyglot needs one torch helper; torch (GBs) is not installed here
    import torch.serialization  # noqa: F401
except ImportError:
    def _is_zipfile(f):  # torch.serialization._is_zipfile, verbatim in behaviour
        start = f.tell()
        magic = f.read(4)
        f.seek(start)
        return magic == b"PK\x03\x04"

    torch = types.ModuleType("torch")
    torch.serialization = types.ModuleType("torch.serialization")
    torch.serialization._is_zipfile = _is_zipfile
    sys.modules["torch"], sys.modules["torch.serialization"] = torch, torch.serialization
from fickling.cli import _scan_huggingface

json_out = os.path.join(os.environ.get("BLSCAN_TMP", "."), "fickling.json")
sys.exit(_scan_huggingface("local", json_output_path=json_out, print_results=True))
'''


# -- tools --------------------------------------------------------------------------------
def tool_bin(tool: str) -> Path:
    if tool == "blacklake":
        return Path(sys.executable).parent / "blacklake"
    return SCANNERS / tool / "bin" / tool


def ensure_tool(tool: str, reinstall: bool = False) -> tuple[bool, str]:
    """(available, version or reason); creates the peer's virtualenv when missing."""
    if tool == "blacklake":
        exe = tool_bin(tool)
        if not exe.exists():
            return False, f"{exe} not found"
        probe = subprocess.run([str(exe), "scan", "--help"], capture_output=True, text=True)
        if probe.returncode != 0:
            return False, "blacklake scan is not available yet"
        from importlib import metadata

        return True, metadata.version("blacklake-ml")
    venv = SCANNERS / tool
    py = venv / "bin" / "python"
    if reinstall and venv.exists():
        shutil.rmtree(venv)
    stamp = venv / (".blscan-installed-" + "-".join(PIP[tool]))
    if not tool_bin(tool).exists() or not py.exists() or not stamp.exists():
        print(f"# installing {' '.join(PIP[tool])} into {venv} ...", flush=True)
        SCANNERS.mkdir(parents=True, exist_ok=True)
        if not py.exists():
            base_python = getattr(sys, "_base_executable", sys.executable)
            subprocess.run([base_python, "-m", "venv", str(venv)], check=True)
        proc = subprocess.run([str(py), "-m", "pip", "install", "-q", *PIP[tool]],
                              capture_output=True, text=True)
        if proc.returncode != 0:
            return False, "pip install failed: " + proc.stderr.strip()[-300:]
        stamp.touch()
    if tool == "fickling":
        (venv / "blscan_fickling_driver.py").write_text(FICKLING_DRIVER)
    ver = subprocess.run([str(py), "-c", f"from importlib.metadata import version; "
                                         f"print(version({tool!r}))"],
                         capture_output=True, text=True)
    if ver.returncode != 0:
        return False, "not importable: " + ver.stderr.strip()[-200:]
    return True, ver.stdout.strip()


def run_cmd(cmd: list[str], cwd: Path) -> tuple[Any, str, str, float]:
    env = dict(os.environ, **QUIET_ENV, BLSCAN_TMP=str(cwd))
    t0 = time.perf_counter()
    try:
        p = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True,
                           timeout=TOOL_TIMEOUT, stdin=subprocess.DEVNULL)
        return p.returncode, p.stdout, p.stderr, time.perf_counter() - t0
    except subprocess.TimeoutExpired:
        return "timeout", "", "", time.perf_counter() - t0


def scan_one(tool: str, path: Path) -> dict[str, Any]:
    """Run ``tool`` on ``path``: {strict, own, rc, detail, seconds, crashed}."""
    tmp = Path(tempfile.mkdtemp(prefix=f"blscan-{tool}-"))
    try:
        return _scan_one(tool, path, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _last_json(text: str) -> Any:
    text = text.strip()
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        start = text.find("{")
        return json.loads(text[start:]) if start >= 0 else None


def _scan_one(tool: str, path: Path, tmp: Path) -> dict[str, Any]:
    exe = str(tool_bin(tool))
    strict = own = False
    detail = ""
    crashed = False
    if tool == "blacklake":
        rc, out, err, secs = run_cmd([exe, "scan", "--json", str(path)], tmp)
        try:
            doc = _last_json(out)
            verdict = doc["verdict"]
            strict = own = verdict != "safe"
            reasons = [r for f in doc.get("files", []) for r in f.get("reasons", [])]
            detail = f"{verdict}: " + "; ".join(reasons)[:300]
        except (ValueError, TypeError, KeyError):
            crashed, detail = True, f"rc={rc}: {(err or out).strip()[-200:]}"
    elif tool == "picklescan":
        rc, out, err, secs = run_cmd([exe, "-p", str(path)], tmp)
        text = out + err

        def count(label: str) -> int:
            for line in text.splitlines():
                if line.startswith(label + ":"):
                    return int(line.split(":", 1)[1].strip() or 0)
            return -1

        dangerous, suspicious = count("Dangerous globals"), count("Suspicious globals")
        if dangerous < 0:
            crashed = True
        own = rc == 1 or dangerous > 0
        strict = own or suspicious > 0
        found = [ln.strip() for ln in text.splitlines() if "FOUND" in ln or "ERROR" in ln]
        detail = f"rc={rc} dangerous={dangerous} suspicious={suspicious} " + "; ".join(
            found)[:300]
    elif tool == "modelscan":
        report = tmp / "report.json"
        rc, out, err, secs = run_cmd([exe, "-p", str(path), "-r", "json", "-o", str(report)],
                                     tmp)
        try:
            doc = json.loads(report.read_text())
            issues = doc.get("issues", [])
            strict = bool(issues)
            own = rc == 1
            errs = doc.get("errors", [])
            detail = (f"rc={rc} issues={[i.get('severity') + ' ' + str(i.get('module')) + '.' + str(i.get('operator')) for i in issues][:5]}"
                      f" errors={[str(e.get('description', e))[:80] for e in errs][:3]}"
                      f" scanned={doc.get('summary', {}).get('scanned', {}).get('total_scanned')}")
        except (OSError, ValueError):
            crashed, detail = True, f"rc={rc}: {(err or out).strip()[-200:]}"
    elif tool == "fickling":
        py = str(SCANNERS / "fickling" / "bin" / "python")
        driver = str(SCANNERS / "fickling" / "blscan_fickling_driver.py")
        rc, out, err, secs = run_cmd([py, driver, str(path)], tmp)
        # _scan_huggingface returns 1 when any file is above LIKELY_SAFE (fickling's parse
        # errors included), 2 only when it could not run at all (a crash here)
        crashed = rc not in (0, 1)
        strict = own = rc == 1
        lines = [ln.strip() for ln in (out + err).splitlines()
                 if ln.strip() and not ln.startswith("Scanning")]
        detail = f"rc={rc} " + "; ".join(lines)[-300:]
    elif tool == "modelaudit":
        report = tmp / "report.json"
        rc, out, err, secs = run_cmd([exe, "scan", str(path), "--format", "json", "-o",
                                      str(report)], tmp)
        try:
            doc = json.loads(report.read_text())
            issues = doc.get("issues", [])
            sev = [str(i.get("severity", "")).lower() for i in issues]
            strict = any(s in ("critical", "warning") for s in sev)
            own = rc == 1 or "critical" in sev
            tops = [f"{i.get('severity')}: {str(i.get('message'))[:90]}" for i in issues
                    if str(i.get("severity", "")).lower() in ("critical", "warning")]
            detail = f"rc={rc} " + "; ".join(tops[:4])
        except (OSError, ValueError):
            crashed, detail = True, f"rc={rc}: {(err or out).strip()[-200:]}"
    else:
        raise ValueError(tool)
    if rc == "timeout":
        crashed, detail = True, f"timeout after {TOOL_TIMEOUT:.0f} s; " + detail
    return {"strict": bool(strict), "own": bool(own), "rc": rc, "crashed": crashed,
            "detail": detail, "seconds": round(secs, 2)}


# -- report -------------------------------------------------------------------------------
def frac(n: int, d: int) -> str:
    return f"{n}/{d}" if d else "-"


def main() -> int:
    p = c.parser(__doc__.splitlines()[0])
    p.add_argument("--verbose", action="store_true", help="list every miss and false flag")
    p.add_argument("--tools", default=",".join(TOOLS), help="comma-separated subset of: "
                   + ",".join(TOOLS))
    p.add_argument("--jobs", type=int, default=2, help="entries scanned/verified at once")
    p.add_argument("--only", default="", help="only entries whose id contains this")
    p.add_argument("--rebuild", action="store_true", help="regenerate and re-verify corpus")
    p.add_argument("--reinstall", action="store_true", help="recreate the peers' venvs")
    p.add_argument("--out", default=str(HERE / "results" / "scanners.json"))
    args = p.parse_args()
    tools = [t.strip() for t in args.tools.split(",") if t.strip()]
    bad = set(tools) - set(TOOLS)
    if bad:
        p.error(f"unknown tool(s): {', '.join(sorted(bad))}")
    started = datetime.now(timezone.utc)
    print(f"# {started.isoformat(timespec='seconds')}  bench_scanners"
          f"{' --quick' if args.quick else ''}")
    c.print_load("at start")
    load_start = [round(x, 2) for x in os.getloadavg()]

    sys.path.insert(0, str(HERE))
    from scan_corpus import CLASSES
    from scan_corpus.build import prepare

    cache = Path(args.workdir) / "scan_corpus" if args.workdir else None
    root, chosen, verification = prepare(cache, quick=args.quick, rebuild=args.rebuild,
                                         only=args.only, jobs=args.jobs)
    kept = [e for e in chosen if verification[e.id]["ok"]]
    dropped = [{"id": e.id, "note": e.note, "rc": verification[e.id]["rc"],
                "error": verification[e.id]["error"]}
               for e in chosen if not verification[e.id]["ok"]]
    mal = [e for e in kept if e.malicious]
    ben = [e for e in kept if not e.malicious]
    print(f"# {len(mal)} verified malicious, {len(ben)} benign; {len(dropped)} dropped")

    avail: dict[str, tuple[bool, str]] = {}
    for t in tools:
        try:
            avail[t] = ensure_tool(t, args.reinstall)
        except (OSError, subprocess.CalledProcessError) as exc:
            avail[t] = (False, f"{type(exc).__name__}: {exc}")
        print(f"# {t}: {'version ' + avail[t][1] if avail[t][0] else 'UNAVAILABLE: ' + avail[t][1]}")
    running = [t for t in tools if avail[t][0]]

    results: dict[str, dict[str, dict[str, Any]]] = {t: {} for t in running}
    jobs = [(t, e) for e in kept for t in running]
    t0 = time.perf_counter()
    with ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        futs = {(t, e.id): pool.submit(scan_one, t, (root / e.rel).resolve()) for t, e in jobs}
        for (t, eid), fut in futs.items():
            results[t][eid] = fut.result()
    print(f"# scanned {len(kept)} entries with {len(running)} tools in "
          f"{time.perf_counter() - t0:.0f} s")

    # tables
    classes = [k for k in CLASSES if any(e.cls == k for e in mal)]
    headers = ["class", "n", *tools]
    summary: dict[str, Any] = {}
    for mapping in ("strict", "own"):
        rows = []
        for k in classes:
            es = [e for e in mal if e.cls == k]
            rows.append([k, len(es), *[
                frac(sum(results[t][e.id][mapping] for e in es), len(es)) if t in running
                else "n/a" for t in tools]])
        rows.append(["malicious detected", len(mal), *[
            frac(sum(results[t][e.id][mapping] for e in mal), len(mal)) if t in running
            else "n/a" for t in tools]])
        rows.append(["benign flagged", len(ben), *[
            frac(sum(results[t][e.id][mapping] for e in ben), len(ben)) if t in running
            else "n/a" for t in tools]])
        c.table(rows, headers, title=("detected / total, strict mapping (anything unsafe or "
                                      "suspicious)" if mapping == "strict" else
                                      "detected / total, each tool's own verdict"))
    for t in tools:
        if t not in running:
            summary[t] = {"available": False, "reason": avail[t][1]}
            continue
        r = results[t]
        doc: dict[str, Any] = {"available": True, "version": avail[t][1],
                               "seconds": round(sum(x["seconds"] for x in r.values()), 1),
                               "crashes": sorted(i for i, x in r.items() if x["crashed"])}
        for mapping in ("strict", "own"):
            doc[mapping] = {
                "detected": sum(r[e.id][mapping] for e in mal), "malicious": len(mal),
                "flagged": sum(r[e.id][mapping] for e in ben), "benign": len(ben),
                "by_class": {k: {"detected": sum(r[e.id][mapping] for e in mal if e.cls == k),
                                 "total": sum(1 for e in mal if e.cls == k)}
                             for k in classes},
                "missed": [e.id for e in mal if not r[e.id][mapping]],
                "false_flags": [e.id for e in ben if r[e.id][mapping]],
            }
        doc["detected_fraction"] = round(doc["strict"]["detected"] / len(mal), 4) if mal else None
        doc["benign_flagged_fraction"] = (round(doc["strict"]["flagged"] / len(ben), 4)
                                          if ben else None)
        summary[t] = doc
    if "blacklake" in running:
        verdicts: dict[str, dict[str, int]] = {"malicious": {}, "benign": {}}
        for e in kept:
            v = results["blacklake"][e.id]["detail"].split(":", 1)[0]
            side = verdicts["malicious" if e.malicious else "benign"]
            side[v] = side.get(v, 0) + 1
        summary["blacklake"]["verdicts"] = verdicts
        print(f"\n# blacklake verdicts: malicious {verdicts['malicious']}, "
              f"benign {verdicts['benign']}")
    if dropped:
        print("\n== dropped (did not verify; not counted) ==")
        for d in dropped:
            print(f"  {d['id']}: rc={d['rc']} {d['error'][:150]}")
    if args.verbose:
        notes = {e.id: e.note for e in kept}
        for t in running:
            print(f"\n== {t}: misses (strict) ==")
            for eid in summary[t]["strict"]["missed"]:
                print(f"  {eid}  [{notes[eid]}]\n      -> {results[t][eid]['detail'][:240]}")
            print(f"== {t}: benign flagged (strict) ==")
            for eid in summary[t]["strict"]["false_flags"]:
                print(f"  {eid}\n      -> {results[t][eid]['detail'][:240]}")
    c.print_load("at end")
    print(f"# {datetime.now(timezone.utc).isoformat(timespec='seconds')}")
    bl = summary.get("blacklake", {})
    result = {
        "benchmark": "scanners", "time": started.isoformat(timespec="seconds"),
        "quick": args.quick, "env": c.environment(), "loadavg_start": load_start,
        "corpus": {"root": str(root), "malicious": len(mal), "benign": len(ben),
                   "by_class": {k: sum(1 for e in mal if e.cls == k) for k in classes},
                   "dropped": dropped},
        "tools": summary,
        "detected_fraction": bl.get("detected_fraction"),
        "benign_flagged_fraction": bl.get("benign_flagged_fraction"),
        "per_entry": {t: {eid: {k: v for k, v in x.items() if k != "seconds"}
                          for eid, x in results[t].items()} for t in running},
        "pass": None,
    }
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=1, default=str) + "\n")
    print(f"# written: {out}")
    slim = {k: v for k, v in result.items() if k != "per_entry"}
    c.emit(slim)
    return 0


if __name__ == "__main__":
    sys.exit(main())
