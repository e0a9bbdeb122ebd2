"""Class 3 — duplicate and look-alike zip members in a torch archive.

``torch.load`` reads archives with its own zip reader (not Python's ``zipfile``): when a
name is listed twice the *last* entry wins, and names are matched case-insensitively. So an
archive can list ``archive/data.pkl`` twice (first benign, last malicious), or carry a benign
``archive/data.pkl`` followed by a malicious ``archive/DATA.pkl``, or only ``DATA.pkl``; a
scanner that reads the first entry, or looks for the exact lower-case name, sees the benign
pickle or none. The opposite orders (malicious first, ``./`` prefixes) are candidates too:
the verifier keeps only those that torch really executes.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

from . import TORCH, Entry, base, pk


def evil(data: bytes) -> bytes:
    return pk.inject(data, pk.system())


#: variant -> (note, replace(name, benign data.pkl) -> items)
VARIANTS = {
    "dup-benign-first-evil-last": (
        "archive/data.pkl listed twice: benign first, malicious last",
        lambda n, d: [(n, d), (n, evil(d))]),
    "dup-evil-first-benign-last": (
        "archive/data.pkl listed twice: malicious first, benign last",
        lambda n, d: [(n, evil(d)), (n, d)]),
    "dup-three-copies-evil-last": (
        "three copies, only the last malicious",
        lambda n, d: [(n, d), (n, d), (n, evil(d))]),
    "case-DATA.pkl-after-benign": (
        "benign archive/data.pkl, then malicious archive/DATA.pkl",
        lambda n, d: [(n, d), (n.replace("data.pkl", "DATA.pkl"), evil(d))]),
    "case-Data.Pkl-only": (
        "only archive/Data.Pkl (no lower-case data.pkl at all)",
        lambda n, d: [(n.replace("data.pkl", "Data.Pkl"), evil(d))]),
    "case-DATA.pkl-before-benign": (
        "malicious archive/DATA.pkl first, benign archive/data.pkl last",
        lambda n, d: [(n.replace("data.pkl", "DATA.pkl"), evil(d)), (n, d)]),
    "case-ARCHIVE-dir-after-benign": (
        "benign archive/data.pkl, then malicious ARCHIVE/data.pkl",
        lambda n, d: [(n, d), (n.replace("archive/", "ARCHIVE/"), evil(d))]),
    "dotslash-after-benign": (
        "benign archive/data.pkl, then malicious ./archive/data.pkl",
        lambda n, d: [(n, d), ("./" + n, evil(d))]),
    "dup-deflated-evil-last": (
        "duplicate where the last (malicious) copy is deflate-compressed",
        lambda n, d: [(n, d), (n, evil(d), zipfile.ZIP_DEFLATED)]),
}


def entries() -> list[Entry]:
    out = []
    for i, (variant, (note, replace)) in enumerate(VARIANTS.items()):
        def make(p: Path, replace=replace) -> None:
            base.write(p, base.torch_zip_with(replace))

        out.append(Entry("3-zipdup", variant, f"3-zipdup/{variant}.pt", make, TORCH, note,
                         quick=i in (0, 3)))

    def dup_in_hf_folder(p: Path) -> None:
        # the same trick in a Hugging Face folder's pytorch_model.bin (a torch zip)
        p.mkdir(parents=True, exist_ok=True)
        base.write(p / "pytorch_model.bin",
                   base.torch_zip_with(VARIANTS["dup-benign-first-evil-last"][1]))
        (p / "config.json").write_text('{"model_type": "bert"}\n')

    from . import in_folder

    out.append(Entry("3-zipdup", "dup-in-hf-pytorch_model.bin", "3-zipdup/hf-folder",
                     dup_in_hf_folder, in_folder(TORCH, "pytorch_model.bin"),
                     "duplicate data.pkl in a Hugging Face folder's pytorch_model.bin"))
    return out
