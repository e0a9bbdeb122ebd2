"""blacklake vs its peers (DVC, Git LFS, Oxen) and the machine's limits, in one run (issue 11).

Every contestant is a fresh subprocess on the same input bytes (the peers get hard links to
the very inodes blacklake reads, so everybody reads the same warm page cache), in a fresh
store / project per run, with the tool order rotating from repeat to repeat (median of 3):

* ``blacklake`` -- ``blacklake -q put SRC blacklake://bench/main/DEST -m MSG`` (``init`` and
  ``repo create`` untimed; fsync on, the default); get side ``blacklake -q get URI -o OUT``
  for the file and ``blacklake -q checkout URI DIR`` for the tree, into a fresh directory;
* ``dvc`` -- ``python -m dvc add -q NAME`` in a fresh ``dvc init --no-scm`` project (site
  cache inside it); get side: the workspace copy is deleted, then ``dvc checkout -q``;
* ``git_lfs`` -- ``git add NAME`` + ``git commit`` in a fresh repository with
  ``git lfs install --local`` and ``git lfs track '*.EXT'`` (committed untimed); get side:
  the workspace copy is deleted, then ``git checkout -- NAME`` (the smudge filter writes it
  back from ``.git/lfs/objects``); ``gc.auto=0`` so no detached ``git gc`` runs into the
  next contestant's measurement;
* ``oxen`` -- ``oxen.Repo(root).add(path)`` + ``.commit(msg)`` (PyPI ``oxenai``; the Python
  bindings are its only client installable here) in a ``python -c`` subprocess, in a fresh
  ``Repo.init()`` repository; get side: the workspace copy is deleted, then
  ``Repo.restore(NAME)`` (``oxen restore``);
* limits: ``cp SRC DST`` (``cp -r`` for the tree), the same ``cp`` followed by ``sync``, and
  one multi-threaded BLAKE3 pass (``blake3.blake3(max_threads=AUTO)`` over an mmap of the
  file; for the tree, each file read and hashed) -- in-process, no start-up.

Workloads: ``put_large`` (one 1 GiB random file), ``put_edit`` (the same file with 5 % of its
64 KiB blocks rewritten, committed on top of its first version, which is not timed),
``put_many_EXT`` (10,000 x 4 KiB random files named ``*.EXT``, one per ``--names`` class),
``get_large`` and ``get_many`` (the file and the first name class's tree read back).
"""

from __future__ import annotations

import json
import mmap
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import _common as c

FILE_SIZE = 4 * c.KiB
SUBDIRS = 10
BLOCK = 64 * c.KiB
EDIT_FRACTION = 0.05
ALL_NAMES = [".bin", ".pt", ".pkl", ".npy", ".json", ".csv", ".dat"]
QUICK_NAMES = [".bin", ".dat"]
PEERS = ["dvc", "git_lfs", "oxen"]
TOOLS = ["blacklake", *PEERS]
LIMITS = ["cp", "cp_sync", "blake3"]
LABELS = {"blacklake": "blacklake", "dvc": "dvc", "git_lfs": "git lfs", "oxen": "oxen",
          "cp": "cp", "cp_sync": "cp+sync", "blake3": "blake3"}
MESSAGE = "bench"

#: One command to run: (argv, working directory, environment).
Cmd = tuple[list[str], Path, dict[str, str]]

#: The goals of issue 11, per workload kind (checked on the medians).
GOALS = {
    "put_large": "vs_fastest_peer >= 2 and vs_cp_sync <= 2 and blacklake rss_mib <= 256",
    "put_many": "vs_fastest_peer >= 4 (every name class)",
    "put_edit": "vs_fastest_peer >= 3",
    "get": "vs_cp >= 0.7 and vs_fastest_peer > 1",
}

OXEN_INIT = ("import sys, oxen\nfrom oxen import user\n"
             "user.config_user('bench', 'bench@example.invalid')\n"
             "oxen.Repo(sys.argv[1]).init()\n")
OXEN_PUT = ("import sys, oxen\nr = oxen.Repo(sys.argv[1])\n"
            "r.add(sys.argv[2])\nr.commit(sys.argv[3])\n")
OXEN_RESTORE = "import sys, oxen\noxen.Repo(sys.argv[1]).restore(sys.argv[2])\n"


# -- measured subprocesses -----------------------------------------------------------------
class ToolError(RuntimeError):
    """A contestant failed; ``str()`` is the short reason shown as ``n/a (...)``."""


@dataclass
class Sample:
    """One timed run: wall seconds and the peak RSS of the measured process tree."""

    seconds: float
    rss_mib: float | None = None


def _reason(cmd: Sequence[str], rc: int, err: str) -> str:
    lines = [ln.strip() for ln in err.splitlines() if ln.strip()]
    tail = lines[-1] if lines else "no output"
    prog = Path(cmd[0]).name
    if cmd[0] == sys.executable:
        prog = "python -m " + cmd[2] if cmd[1] == "-m" else "python -c"
    return f"{prog} exit {rc}: {tail[:160]}"


#: Runs the steps of a JSON spec (argv, cwd, env) one after another and writes
#: ``{"rc", "seconds", "rss_kib"}`` (or the failing step's output) to a JSON file. Both the
#: clock and ``os.wait4`` are inside this small process: see :func:`timed_cmds` for why.
RUSAGE_WRAPPER = r"""
import json, os, subprocess, sys, tempfile, time
steps = json.load(open(sys.argv[1]))
peak, res = 0, None
t0 = time.perf_counter()
for step in steps:
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(step["cmd"], cwd=step["cwd"], env=step["env"],
                                stdin=subprocess.DEVNULL, stdout=out, stderr=err)
        _pid, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = rc = os.waitstatus_to_exitcode(status)
        peak = max(peak, usage.ru_maxrss)
        if rc != 0:
            err.seek(0)
            out.seek(0)
            text = err.read().decode(errors="replace") or out.read().decode(errors="replace")
            res = {"rc": rc, "cmd": step["cmd"], "text": text[-4000:]}
            break
if res is None:
    res = {"rc": 0, "seconds": time.perf_counter() - t0, "rss_kib": peak}
with open(sys.argv[2], "w") as f:
    json.dump(res, f)
"""


def timed_cmds(cmds: Sequence[Cmd]) -> Sample:
    """Wall seconds of running ``cmds`` one after another (after ``sync``), and their peak
    RSS in MiB (the largest of the commands').

    The commands are started by a small wrapper process (:data:`RUSAGE_WRAPPER`), which
    times them and reaps each with ``os.wait4``: that gives the rusage of exactly that child
    (and the descendants it waited for), unlike ``RUSAGE_CHILDREN``, whose maximum is over
    every child ever reaped. The wrapper is needed because Linux seeds a new program's
    ``ru_maxrss`` with the high-water mark of the memory it was exec'd from -- with
    ``vfork`` that is this benchmark's own (over 1 GiB after the BLAKE3 pass over an mmap);
    the wrapper's is ~12 MiB, the floor below which figures cannot be resolved. The
    wrapper's own start-up is outside the timed span.
    """
    with tempfile.TemporaryDirectory(prefix="blbench-rusage-") as tmp:
        spec, result = Path(tmp) / "spec.json", Path(tmp) / "result.json"
        spec.write_text(json.dumps([{"cmd": list(cmd), "cwd": str(cwd) if cwd else None,
                                     "env": env} for cmd, cwd, env in cmds]))
        c.settle()
        c.run([sys.executable, "-c", RUSAGE_WRAPPER, str(spec), str(result)])
        res = json.loads(result.read_text())
    if res["rc"] != 0:
        raise ToolError(_reason(res["cmd"], res["rc"], res["text"]))
    return Sample(res["seconds"], res["rss_kib"] / 1024.0)  # KiB on Linux


def untimed(cmd: Sequence[str], cwd: Path | None, env: dict[str, str]) -> None:
    """Run a set-up command (not measured); a failure is the tool's failure."""
    proc = subprocess.run(list(cmd), cwd=cwd, env=env, stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise ToolError(_reason(cmd, proc.returncode, proc.stderr or proc.stdout))


# -- inputs ----------------------------------------------------------------------------------
def make_tree(root: Path, nfiles: int, ext: str, blob: bytes | None = None) -> Path:
    """``nfiles`` files of 4 KiB random bytes named ``sample-N{ext}`` in 10 subdirectories."""
    blob = blob if blob is not None else os.urandom(nfiles * FILE_SIZE)
    for d in range(SUBDIRS):
        (root / f"part-{d:02d}").mkdir(parents=True, exist_ok=True)
    for i in range(nfiles):
        (root / f"part-{i % SUBDIRS:02d}" / f"sample-{i:06d}{ext}").write_bytes(
            blob[i * FILE_SIZE:(i + 1) * FILE_SIZE])
    return root


def make_edit(v1: Path, v2: Path, seed: int) -> int:
    """``v2`` = ``v1`` with 5 % of its 64 KiB blocks rewritten (seeded positions and bytes);
    returns the number of blocks rewritten."""
    v2.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(v1, v2)
    rng = random.Random(seed)
    nblocks = v1.stat().st_size // BLOCK
    picked = sorted(rng.sample(range(nblocks), max(1, round(nblocks * EDIT_FRACTION))))
    fd = os.open(v2, os.O_WRONLY)
    try:
        for b in picked:
            os.pwrite(fd, rng.randbytes(BLOCK), b * BLOCK)
    finally:
        os.close(fd)
    return len(picked)


def link_into(src: Path, dst: Path) -> None:
    """Hard-link the file or tree ``src`` at ``dst`` (same inodes, so the same warm pages)."""
    if src.is_file():
        dst.parent.mkdir(parents=True, exist_ok=True)
        os.link(src, dst)
        return
    for dirpath, _dirs, files in os.walk(src):
        rel = Path(dirpath).relative_to(src)
        (dst / rel).mkdir(parents=True, exist_ok=True)
        for name in files:
            os.link(Path(dirpath) / name, dst / rel / name)


def tree_summary(path: Path) -> tuple[int, int]:
    """(files, bytes) of a file or tree."""
    if path.is_file():
        return 1, path.stat().st_size
    return c.tree_count(path), c.tree_bytes(path)


# -- contestants -------------------------------------------------------------------------------
@dataclass
class Job:
    """What one workload run is about: the input (file or tree), its name in the store, the
    second version for ``put_edit``, and the name class (for ``git lfs track``)."""

    src: Path
    name: str
    ext: str
    v2: Path | None = None


class Tool:
    """A peer or blacklake: set up a fresh store in ``root``, put, get back."""

    key = ""

    def __init__(self, wd: Path) -> None:
        self.wd = wd

    def private_env(self, name: str, **extra: str) -> dict[str, str]:
        """This environment with HOME (and XDG_CONFIG_HOME) in the work dir: no global
        configuration of the user's is read or written."""
        env = dict(os.environ)
        home = self.wd / name
        home.mkdir(exist_ok=True)
        env.update(HOME=str(home), XDG_CONFIG_HOME=str(home / ".config"), **extra)
        return env

    def version(self) -> str:
        raise NotImplementedError

    def setup(self, root: Path, job: Job) -> None:
        raise NotImplementedError

    def put_cmds(self, root: Path, src: Path, job: Job) -> list[Cmd]:
        raise NotImplementedError

    def stage(self, root: Path, src: Path, job: Job) -> None:
        """Put ``src`` where the tool expects it (peers: hard link into the workspace)."""
        c.remove(root / job.name)
        link_into(src, root / job.name)

    def store_dir(self, root: Path) -> Path:
        """Where the tool keeps its objects (warmed before a get; size-checked after put)."""
        raise NotImplementedError

    def get_cmds(self, root: Path, job: Job) -> list[Cmd]:
        raise NotImplementedError

    def get_output(self, root: Path, job: Job) -> Path:
        return root / job.name

    def before_get(self, root: Path, job: Job) -> None:
        """Delete the workspace copy (peers restore it in place)."""
        c.remove(root / job.name)


class Blacklake(Tool):
    key = "blacklake"

    def __init__(self, wd: Path) -> None:
        super().__init__(wd)
        cli = c.blacklake_cli()
        if cli is None:
            raise ToolError("CLI not importable (blacklake_ml.cli.main)")
        self.cli = cli

    def env(self, root: Path) -> dict[str, str]:
        env = c.blacklake_cli_env(root / "home")
        env.pop("BLACKLAKE_FSYNC", None)  # the default: fsync on
        return env

    def version(self) -> str:
        return c.run([*self.cli, "--version"]).stdout.strip()

    def setup(self, root: Path, job: Job) -> None:
        root.mkdir(parents=True)
        untimed([*self.cli, "init"], root, self.env(root))
        untimed([*self.cli, "repo", "create", "bench"], root, self.env(root))

    def stage(self, root: Path, src: Path, job: Job) -> None:
        pass  # reads the input where it is

    def put_cmds(self, root: Path, src: Path, job: Job) -> list[Cmd]:
        return [([*self.cli, "-q", "put", str(src), f"blacklake://bench/main/{job.name}",
                  "-m", MESSAGE], root, self.env(root))]

    def store_dir(self, root: Path) -> Path:
        return root / "home"

    def before_get(self, root: Path, job: Job) -> None:
        c.remove(root / "out")

    def get_output(self, root: Path, job: Job) -> Path:
        return root / "out" / job.name

    def get_cmds(self, root: Path, job: Job) -> list[Cmd]:
        uri = f"blacklake://bench/main/{job.name}"
        out = str(self.get_output(root, job))
        cmd = ([*self.cli, "-q", "get", uri, "-o", out] if job.src.is_file()
               else [*self.cli, "-q", "checkout", uri, out])
        return [(cmd, root, self.env(root))]


class Dvc(Tool):
    key = "dvc"

    def version(self) -> str:
        return "dvc " + c.dvc_version()

    def setup(self, root: Path, job: Job) -> None:
        c.dvc_init(root)

    def put_cmds(self, root: Path, src: Path, job: Job) -> list[Cmd]:
        return [([*c.DVC, "add", "-q", job.name], root, c.dvc_env(root))]

    def store_dir(self, root: Path) -> Path:
        return root / ".dvc" / "cache"

    def get_cmds(self, root: Path, job: Job) -> list[Cmd]:
        return [([*c.DVC, "checkout", "-q"], root, c.dvc_env(root))]


class GitLfs(Tool):
    key = "git_lfs"

    def env(self) -> dict[str, str]:
        return self.private_env("git-home", GIT_CONFIG_NOSYSTEM="1", GIT_TERMINAL_PROMPT="0")

    def git(self, root: Path, *args: str) -> None:
        untimed(["git", *args], root, self.env())

    def version(self) -> str:
        git = c.run(["git", "--version"]).stdout.strip()
        lfs = c.run(["git", "lfs", "version"], env=self.env()).stdout.strip()
        return f"{git}; {lfs}"

    def setup(self, root: Path, job: Job) -> None:
        root.mkdir(parents=True)
        self.git(root, "init", "-q", "-b", "main", ".")
        self.git(root, "lfs", "install", "--local")
        for key, value in (("user.name", "bench"), ("user.email", "bench@example.invalid"),
                           ("gc.auto", "0")):
            self.git(root, "config", key, value)
        self.git(root, "lfs", "track", f"*{job.ext}")
        self.git(root, "add", ".gitattributes")
        self.git(root, "commit", "-q", "-m", "track")

    def put_cmds(self, root: Path, src: Path, job: Job) -> list[Cmd]:
        env = self.env()
        return [(["git", "add", job.name], root, env),
                (["git", "commit", "-q", "-m", MESSAGE], root, env)]

    def store_dir(self, root: Path) -> Path:
        return root / ".git"

    def get_cmds(self, root: Path, job: Job) -> list[Cmd]:
        return [(["git", "checkout", "--", job.name], root, self.env())]


class Oxen(Tool):
    key = "oxen"

    def env(self) -> dict[str, str]:
        return self.private_env("oxen-home")

    def version(self) -> str:
        return "oxenai " + c.run([sys.executable, "-c", "import oxen; print(oxen.__version__)"],
                                 env=self.env()).stdout.strip()

    def setup(self, root: Path, job: Job) -> None:
        root.mkdir(parents=True)
        untimed([sys.executable, "-c", OXEN_INIT, str(root)], root, self.env())

    def put_cmds(self, root: Path, src: Path, job: Job) -> list[Cmd]:
        return [([sys.executable, "-c", OXEN_PUT, str(root), str(root / job.name), MESSAGE],
                 root, self.env())]

    def store_dir(self, root: Path) -> Path:
        return root / ".oxen"

    def get_cmds(self, root: Path, job: Job) -> list[Cmd]:
        return [([sys.executable, "-c", OXEN_RESTORE, str(root), job.name], root, self.env())]


TOOL_CLASSES: dict[str, type[Tool]] = {"blacklake": Blacklake, "dvc": Dvc, "git_lfs": GitLfs,
                                       "oxen": Oxen}


# -- limits ----------------------------------------------------------------------------------
def limit_cp(src: Path, root: Path, sync: bool) -> Sample:
    """``cp SRC DST`` (``cp -r`` for a tree) into a fresh directory, optionally + ``sync``."""
    root.mkdir(parents=True)
    cmd = ["cp", str(src), str(root / "copy")] if src.is_file() else \
        ["cp", "-r", str(src), str(root / "copy")]
    env = dict(os.environ)
    return timed_cmds([(cmd, root, env), *([(["sync"], root, env)] if sync else [])])


def limit_blake3(src: Path) -> Sample:
    """One BLAKE3 pass: multi-threaded over an mmap of the file; per file for a tree."""
    import blake3

    c.settle()
    t0 = time.perf_counter()
    if src.is_file():
        with open(src, "rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as mm:
            h = blake3.blake3(max_threads=blake3.blake3.AUTO)
            h.update(mm)
            h.digest()
    else:
        for dirpath, _dirs, files in os.walk(src):
            for name in files:
                with open(os.path.join(dirpath, name), "rb") as f:
                    blake3.blake3(f.read()).digest()
    return Sample(time.perf_counter() - t0, None)


# -- one workload ------------------------------------------------------------------------------
@dataclass
class Result:
    """All samples of one workload, and why a contestant has none."""

    name: str
    side: str  # "put" or "get"
    input: dict[str, Any]
    samples: dict[str, list[Sample]] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)

    def median(self, key: str) -> float | None:
        s = self.samples.get(key)
        return c.median([x.seconds for x in s]) if s and key not in self.errors else None

    def rss(self, key: str) -> float | None:
        vals = [x.rss_mib for x in self.samples.get(key, []) if x.rss_mib is not None]
        return max(vals) if vals and key not in self.errors else None


def run_tool(tool: Tool, side: str, job: Job, root: Path) -> Sample:
    """One timed run of ``tool`` on ``job`` in a fresh ``root`` (set-up untimed)."""
    tool.setup(root, job)
    if side == "put" and job.v2 is not None:  # put_edit: the first version, untimed
        tool.stage(root, job.src, job)
        c.warm(job.src)
        timed_cmds(tool.put_cmds(root, job.src, job))
    src = job.v2 if (side == "put" and job.v2 is not None) else job.src
    tool.stage(root, src, job)
    if side == "put":
        c.warm(src)
        sample = timed_cmds(tool.put_cmds(root, src, job))
        stored = c.tree_bytes(tool.store_dir(root))
        want = tree_summary(src)[1]
        if stored < want:
            raise ToolError(f"stored only {stored:,} of {want:,} bytes")
        return sample
    timed_cmds(tool.put_cmds(root, src, job))  # the version to read back, untimed
    tool.before_get(root, job)
    c.warm(tool.store_dir(root))
    sample = timed_cmds(tool.get_cmds(root, job))
    out = tool.get_output(root, job)
    got = tree_summary(out) if out.exists() else (0, 0)
    expected = tree_summary(src)
    if got != expected:
        raise ToolError(f"read back {got[0]} files / {got[1]:,} bytes, want "
                        f"{expected[0]} / {expected[1]:,}")
    return sample


def run_workload(name: str, side: str, job: Job, tools: dict[str, Tool], limits: list[str],
                 unavailable: dict[str, str], repeats: int, wd: Path) -> Result:
    """Every contestant ``repeats`` times, the order rotating; failures become n/a."""
    src = job.v2 if job.v2 is not None else job.src
    files, nbytes = tree_summary(src)
    res = Result(name, side, {"files": files, "bytes": nbytes, "name": job.name,
                              "ext": job.ext})
    order = [k for k in [*TOOLS, *LIMITS] if k in tools or k in limits]
    for k in order:
        res.samples[k] = []
    res.errors.update({k: v for k, v in unavailable.items() if k in TOOLS})
    print(f"# {name}: {files:,} file(s), {nbytes / c.MiB:,.1f} MiB", flush=True)
    for i in range(repeats):
        for key in c.rotated(order, i):
            if key in res.errors:
                continue
            root = wd / f"{name}-{key}-{i}"
            try:
                if key == "blake3":
                    c.warm(src)
                    sample = limit_blake3(src)
                elif key in ("cp", "cp_sync"):
                    c.warm(src)
                    sample = limit_cp(src, root, key == "cp_sync")
                else:
                    sample = run_tool(tools[key], side, job, root)
                res.samples[key].append(sample)
            except (ToolError, OSError, RuntimeError) as exc:
                res.errors[key] = str(exc).strip().splitlines()[0][:200] if str(exc) else \
                    type(exc).__name__
                print(f"#   {key} failed: {res.errors[key]}", flush=True)
            finally:
                c.remove(root)
    return res


def ratios(res: Result) -> dict[str, float | None]:
    """The figures the goals use (None when a side is missing)."""
    bl = res.median("blacklake")
    peers = {k: res.median(k) for k in PEERS}
    avail = {k: v for k, v in peers.items() if v is not None}
    cp, cps, b3 = res.median("cp"), res.median("cp_sync"), res.median("blake3")
    fastest = min(avail.values()) if avail else None
    out: dict[str, Any] = {
        "peers_measured": sorted(avail),
        "fastest_peer": min(avail, key=lambda k: avail[k]) if avail else None,
        "vs_fastest_peer": (fastest / bl) if bl and fastest else None,
        "vs_cp_sync": (bl / cps) if bl and cps else None,
        "vs_cp": (cp / bl) if bl and cp else None,
        "vs_blake3": (bl / b3) if bl and b3 else None,
    }
    for k, v in peers.items():
        out[f"vs_{k}"] = (v / bl) if bl and v else None
    return out


def goal(res: Result, r: dict[str, Any]) -> bool | None:
    """Whether this workload meets its goal (None when a figure it needs is missing)."""
    f = r["vs_fastest_peer"]
    if res.name == "put_large":
        rss = res.rss("blacklake")
        if f is None or r["vs_cp_sync"] is None or rss is None:
            return None
        return bool(f >= 2 and r["vs_cp_sync"] <= 2 and rss <= 256)
    if f is None:
        return None
    if res.name.startswith("put_many"):
        return bool(f >= 4)
    if res.name == "put_edit":
        return bool(f >= 3)
    if r["vs_cp"] is None:
        return None
    return bool(r["vs_cp"] >= 0.7 and f > 1)


# -- report ------------------------------------------------------------------------------------
def cell(res: Result, key: str) -> str:
    m = res.median(key)
    if m is None:
        return "n/a" if key in res.errors else "-"
    return f"{m:.3f}" if m < 10 else f"{m:.1f}"


def print_tables(results: list[Result], repeats: int) -> None:
    for side in ("put", "get"):
        rows = []
        for res in (r for r in results if r.side == side):
            r = ratios(res)
            ok = goal(res, r)
            rows.append([res.name, *(cell(res, k) for k in [*TOOLS, *LIMITS]),
                         r["vs_fastest_peer"] if r["vs_fastest_peer"] else "n/a",
                         (r["vs_cp_sync"] if side == "put" else r["vs_cp"]) or "n/a",
                         res.rss("blacklake") or "n/a",
                         "n/a" if ok is None else c.verdict(ok)])
        if rows:
            c.table(rows, ["workload", *(LABELS[k] for k in [*TOOLS, *LIMITS]),
                           "vs_fastest_peer", "vs_cp_sync" if side == "put" else "vs_cp",
                           "bl rss MiB", "goal"],
                    f"{side}: median seconds of {repeats} run(s)")
    notes = {(k, v) for res in results for k, v in res.errors.items()}
    for k, v in sorted(notes):
        print(f"n/a {LABELS.get(k, k)}: {v}")
    print("goals: " + "; ".join(f"{k}: {v}" for k, v in GOALS.items()))


def machine() -> dict[str, Any]:
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = ""
    try:
        mem = re.sub(r"\s+", " ", Path("/proc/meminfo").read_text().splitlines()[0])
    except (OSError, IndexError):
        pass
    import platform
    return {"nproc": os.cpu_count(), "cpu_model": model, "memory": mem,
            "kernel": platform.release(), "host": platform.node()}


def versions(tools: dict[str, Tool], unavailable: dict[str, str]) -> dict[str, str]:
    out: dict[str, str] = {"python": sys.version.split()[0]}
    for key, tool in list(tools.items()):
        try:
            out[key] = tool.version()
        except (RuntimeError, OSError) as exc:
            unavailable[key] = f"not runnable: {str(exc).strip().splitlines()[-1][:160]}"
            del tools[key]
    try:
        import blake3
        out["blake3"] = f"blake3 {blake3.__version__}"
    except ImportError as exc:
        out["blake3"] = f"missing: {exc}"
    out["cp"] = c.run(["cp", "--version"]).stdout.splitlines()[0]
    return out


def main() -> int:
    """Run the benchmark; print the tables and one JSON line."""
    p = c.parser(__doc__.splitlines()[0])
    p.add_argument("--size-mib", type=int, default=None, help="large file (default 1024)")
    p.add_argument("--files", type=int, default=None, help="small files (default 10000)")
    p.add_argument("--repeats", type=int, default=None, help="runs per contestant (median)")
    p.add_argument("--names", default=None,
                   help="comma-separated name classes for the small files (default: "
                        f"{','.join(ALL_NAMES)}; --quick: {','.join(QUICK_NAMES)}); the "
                        "first one is also read back by get_many")
    p.add_argument("--tools", default=",".join([*TOOLS, *LIMITS]),
                   help="comma-separated subset of contestants")
    p.add_argument("--workloads", default="put_large,put_edit,put_many,get_large,get_many",
                   help="comma-separated subset of workloads")
    p.add_argument("--seed", type=int, default=11, help="seed of the 5%% edit")
    args = p.parse_args()
    load_start = [round(x, 2) for x in os.getloadavg()]
    c.print_load("at start")
    size = (args.size_mib or (64 if args.quick else 1024)) * c.MiB
    nfiles = args.files or (1000 if args.quick else 10_000)
    repeats = args.repeats or (1 if args.quick else 3)
    names = [n.strip() if n.strip().startswith(".") else "." + n.strip()
             for n in (args.names or ",".join(QUICK_NAMES if args.quick else ALL_NAMES)
                       ).split(",") if n.strip()]
    wanted = {t.strip() for t in args.tools.split(",") if t.strip()}
    workloads = {w.strip() for w in args.workloads.split(",") if w.strip()}
    if wanted - set(TOOLS) - set(LIMITS):
        p.error(f"unknown tool(s): {', '.join(sorted(wanted - set(TOOLS) - set(LIMITS)))}")

    results: list[Result] = []
    with c.workdir(args, "peers") as wd:
        tools: dict[str, Tool] = {}
        unavailable: dict[str, str] = {}
        for key in TOOLS:
            if key not in wanted:
                continue
            try:
                tools[key] = TOOL_CLASSES[key](wd)
            except ToolError as exc:
                unavailable[key] = str(exc)
        vers = versions(tools, unavailable)
        limits = [k for k in LIMITS if k in wanted]
        for key, why in unavailable.items():
            print(f"# {key}: n/a ({why})", flush=True)

        big = c.write_random_file(wd / "src" / "v1" / "model.bin", size)
        v2 = wd / "src" / "v2" / "model.bin"
        edited = make_edit(big, v2, args.seed)
        blob = os.urandom(nfiles * FILE_SIZE)  # every name class: the same bytes
        trees = {ext: make_tree(wd / "src" / f"many{ext}", nfiles, ext, blob) for ext in names}
        del blob
        large = Job(big, "model.bin", ".bin")
        before = (big.stat().st_size, big.stat().st_mtime_ns, big.stat().st_mode)

        def go(name: str, side: str, job: Job) -> None:
            results.append(run_workload(name, side, job, tools, limits, unavailable,
                                        repeats, wd / "runs"))

        if "put_large" in workloads:
            go("put_large", "put", large)
        if "put_edit" in workloads:
            go("put_edit", "put", Job(big, "model.bin", ".bin", v2=v2))
        if "put_many" in workloads:
            for ext in names:
                go(f"put_many_{ext.lstrip('.')}", "put", Job(trees[ext], "data", ext))
        if "get_large" in workloads:
            go("get_large", "get", large)
        if "get_many" in workloads and names:
            go("get_many", "get", Job(trees[names[0]], "data", names[0]))
        after = (big.stat().st_size, big.stat().st_mtime_ns, big.stat().st_mode)
        if after != before:  # a tool wrote through its hard link: the figures are suspect
            print(f"WARNING: the input file changed during the run: {before} -> {after}")

    print_tables(results, repeats)
    figs = {r.name: ratios(r) for r in results}
    goals = {r.name: goal(r, figs[r.name]) for r in results}
    verdicts = [g for g in goals.values() if g is not None]
    ok = all(verdicts) if verdicts else None
    c.print_load("at end")
    c.emit({
        "benchmark": "peers", "quick": args.quick,
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "size_bytes": size, "files": nfiles, "file_size": FILE_SIZE, "names": names,
        "edit": {"block": BLOCK, "fraction": EDIT_FRACTION, "blocks_rewritten": edited,
                 "seed": args.seed},
        "repeats": repeats, "loadavg": {"start": load_start,
                                        "end": [round(x, 2) for x in os.getloadavg()]},
        "machine": machine(), "versions": vers, "unavailable": unavailable,
        "median_s": {r.name: {k: r.median(k) for k in r.samples} for r in results},
        "times_s": {r.name: {k: [s.seconds for s in v] for k, v in r.samples.items()}
                    for r in results},
        "peak_rss_mib": {r.name: {k: r.rss(k) for k in r.samples if k not in ("blake3",)}
                         for r in results},
        "rss_mib": {r.name: r.rss("blacklake") for r in results},
        "errors": {r.name: r.errors for r in results if r.errors},
        "inputs": {r.name: r.input for r in results},
        "input_unchanged": after == before,
        "ratios": figs, "goals": GOALS, "goal_met": goals,
        "pass": ok, "env": c.environment(),
    })
    return 0


if __name__ == "__main__":
    sys.exit(main())
