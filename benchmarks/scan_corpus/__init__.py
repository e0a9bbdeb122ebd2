"""The model-file scanner evaluation corpus (issue 10): generated at run time, never committed.

Each module ``c<N>_*.py`` contributes the malicious entries of one finding class and
``benign.py`` the files saved by the real libraries; :func:`entries` collects them all.
``build.py`` writes them into a cache directory and verifies every one in a child process
(a malicious entry counts only if its payload really ran under its natural loader).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path


def generation_env() -> None:
    """Set up this process for generating entries (called by ``build.make_all``).

    Generating a file sometimes runs the payload here (a Keras Lambda is called when the
    model is built): the marker points somewhere harmless. Keras uses the torch backend,
    nothing is fetched from a hub.
    """
    os.environ["BLSCAN_MARKER"] = os.devnull
    os.environ.setdefault("KERAS_BACKEND", "torch")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

#: The malicious classes, in report order: key -> one-line description.
CLASSES: dict[str, str] = {
    "1-prefix": "allow-list by prefix: trusted module, dotted name walking to os/subprocess",
    "2-joblib": "joblib framing desync: array bytes the naive reading gets wrong",
    "3-zipdup": "duplicate / look-alike zip members in a torch archive",
    "4-gaps": "callables missing from deny-lists, other call opcodes",
    "5-limits": "scanner limits and parser differentials",
    "6-containers": "pickles inside other containers and folders",
    "7-code": "code that runs on load: Keras lambdas, Hugging Face remote code",
}
BENIGN = "benign"

# -- natural loaders: Python run in a child process with P = the entry's absolute path ----
PICKLE = "import pickle\nwith open(P, 'rb') as f:\n    pickle.load(f)"
JOBLIB = "import joblib\njoblib.load(P)"
TORCH = "import torch\ntorch.load(P, weights_only=False)"
TORCH_SAFE = "import torch\ntorch.load(P)"  # benign state dicts: the default weights_only
NUMPY = ("import numpy as np\nx = np.load(P, allow_pickle=True)\n"
         "if hasattr(x, 'files'):\n    [x[k] for k in x.files]")
NUMPY_SAFE = ("import numpy as np\nx = np.load(P)\n"
              "if hasattr(x, 'files'):\n    [x[k] for k in x.files]")
KERAS = "import keras\nkeras.models.load_model(P, safe_mode=False)"
KERAS_SAFE = "import keras\nkeras.models.load_model(P)"
HF_REMOTE = ("from transformers import AutoModel\n"
             "AutoModel.from_pretrained(P, trust_remote_code=True)")
HF = "from transformers import AutoModel\nAutoModel.from_pretrained(P)"
MLFLOW = "import mlflow.pyfunc\nmlflow.pyfunc.load_model(P)"


def in_folder(loader: str, name: str) -> str:
    """``loader`` applied to the file ``name`` inside the entry's folder."""
    return f"import os\nP = os.path.join(P, {name!r})\n" + loader


@dataclass
class Entry:
    """One corpus file or folder."""

    cls: str                      #: a key of CLASSES, or BENIGN
    variant: str                  #: what is special about it (unique within the class)
    rel: str                      #: path below the corpus root (a file or a folder)
    make: Callable[[Path], None]  #: writes the file or folder at the given path
    loader: str                   #: Python code: the natural loader, P = absolute path
    note: str = ""                #: one line on what the entry tests
    quick: bool = False           #: part of the --quick subset
    big: bool = False             #: large on disk or slow to load (never in --quick)
    tags: list[str] = field(default_factory=list)

    @property
    def malicious(self) -> bool:
        return self.cls != BENIGN

    @property
    def id(self) -> str:
        return f"{self.cls}/{self.variant}"


def entries() -> list[Entry]:
    """Every corpus entry (malicious classes in order, then benign)."""
    from . import (benign, c1_prefix, c2_joblib, c3_zipdup, c4_gaps, c5_limits,
                   c6_containers, c7_code)

    out: list[Entry] = []
    for mod in (c1_prefix, c2_joblib, c3_zipdup, c4_gaps, c5_limits, c6_containers,
                c7_code, benign):
        out.extend(mod.entries())
    seen: set[str] = set()
    for e in out:
        assert e.id not in seen, f"duplicate corpus id {e.id}"
        assert e.cls in CLASSES or e.cls == BENIGN, e.cls
        seen.add(e.id)
    return out
