"""Class 7 — code that runs on load.

Keras: a ``Lambda`` layer's function is marshalled Python bytecode in the config, rebuilt and
called when the model graph is rebuilt by ``keras.models.load_model(..., safe_mode=False)``
(``.keras`` zip and legacy ``.h5``); the same ``__lambda__`` object can stand anywhere a
function is deserialized, e.g. as a Dense layer's *activation* (no Lambda layer at all), or
inside a nested sub-model. Hugging Face: ``config.json``'s ``auto_map`` names local
``modeling_*.py`` / ``configuration_*.py`` / ``tokenization_*.py`` files that
``from_pretrained(..., trust_remote_code=True)`` imports from the folder (code at import
time, in ``__init__``, in the config class, in a tokenizer).
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

from . import HF_REMOTE, KERAS, Entry, base


def lambda_fn():
    # a real lambda (Keras serializes lambdas by bytecode; a named function by name)
    return lambda x: (__import__("os").system('touch "$BLSCAN_MARKER"'), x)[1]


def keras_models():
    import keras

    return keras


def functional_lambda():
    keras = keras_models()
    inp = keras.Input((4,))
    out = keras.layers.Dense(2)(keras.layers.Lambda(lambda_fn())(inp))
    return keras.Model(inp, out)


def sequential_lambda():
    keras = keras_models()
    return keras.Sequential([keras.Input((4,)), keras.layers.Lambda(lambda_fn()),
                             keras.layers.Dense(2)])


def nested_lambda():
    keras = keras_models()
    inner_in = keras.Input((4,))
    inner = keras.Model(inner_in, keras.layers.Lambda(lambda_fn())(inner_in), name="inner")
    inp = keras.Input((4,))
    return keras.Model(inp, keras.layers.Dense(2)(inner(inp)))


def lambda_config() -> dict:
    keras = keras_models()
    return keras.saving.serialize_keras_object(lambda_fn())


def benign_dense():
    keras = keras_models()
    inp = keras.Input((4,))
    return keras.Model(inp, keras.layers.Dense(2, activation="relu")(inp))


def save(model, p: Path) -> None:
    p.parent.mkdir(parents=True, exist_ok=True)
    model.save(str(p))


def activation_keras(p: Path) -> None:
    """A .keras file (no Lambda layer) whose Dense activation is a __lambda__ object."""
    tmp = p.with_name(p.name + ".tmp.keras")
    save(benign_dense(), tmp)
    with zipfile.ZipFile(tmp) as z:
        members = [(n, z.read(n)) for n in z.namelist()]
    tmp.unlink()
    items = []
    for n, d in members:
        if n == "config.json":
            cfg = json.loads(d)
            for layer in cfg["config"]["layers"]:
                if layer["class_name"] == "Dense":
                    layer["config"]["activation"] = lambda_config()
            d = json.dumps(cfg).encode()
        items.append((n, d))
    base.write(p, base.build_zip(items, zipfile.ZIP_DEFLATED))


def activation_h5(p: Path) -> None:
    import h5py

    save(benign_dense(), p)
    with h5py.File(p, "r+") as f:
        cfg = json.loads(f.attrs["model_config"])
        for layer in cfg["config"]["layers"]:
            if layer["class_name"] == "Dense":
                layer["config"]["activation"] = lambda_config()
        f.attrs["model_config"] = json.dumps(cfg)


# -- Hugging Face remote code -------------------------------------------------------------
CONFIG_PY = '''from transformers import PretrainedConfig
{config_payload}

class BlscanConfig(PretrainedConfig):
    model_type = "blscan-remote"

    def __init__(self, hidden_size=4, **kwargs):
        self.hidden_size = hidden_size
        super().__init__(**kwargs)
'''

MODELING_PY = '''import os

import torch
from transformers import PreTrainedModel

from .configuration_blscan import BlscanConfig
{import_payload}

class BlscanModel(PreTrainedModel):
    config_class = BlscanConfig

    def __init__(self, config):
        super().__init__(config)
        {init_payload}
        self.lin = torch.nn.Linear(config.hidden_size, config.hidden_size)
        self.post_init()

    def forward(self, x):
        return self.lin(x)
'''

TOKENIZER_PY = '''import os

from transformers import PreTrainedTokenizer

os.system('touch "$BLSCAN_MARKER"')


class BlscanTokenizer(PreTrainedTokenizer):
    def get_vocab(self):
        return {}
'''

PAYLOAD_LINE = "os.system('touch \"$BLSCAN_MARKER\"')"


def hf_remote(p: Path, *, at: str) -> None:
    import numpy as np
    from safetensors.numpy import save_file

    p.mkdir(parents=True, exist_ok=True)
    auto_map = {"AutoConfig": "configuration_blscan.BlscanConfig",
                "AutoModel": "modeling_blscan.BlscanModel"}
    if at == "tokenizer":
        (p / "tokenization_blscan.py").write_text(TOKENIZER_PY)
        (p / "tokenizer_config.json").write_text(json.dumps(
            {"auto_map": {"AutoTokenizer": ["tokenization_blscan.BlscanTokenizer", None]},
             "tokenizer_class": "BlscanTokenizer"}))
    (p / "config.json").write_text(json.dumps({
        "model_type": "blscan-remote", "hidden_size": 4, "auto_map": auto_map,
        "architectures": ["BlscanModel"]}, indent=1))
    (p / "configuration_blscan.py").write_text(CONFIG_PY.format(
        config_payload=("import os\nos.system('touch \"$BLSCAN_MARKER\"')\n"
                        if at == "config" else "")))
    (p / "modeling_blscan.py").write_text(MODELING_PY.format(
        import_payload=PAYLOAD_LINE + "\n" if at == "import" else "",
        init_payload=PAYLOAD_LINE if at == "init" else "pass"))
    save_file({"lin.weight": np.zeros((4, 4), np.float32),
               "lin.bias": np.zeros(4, np.float32)}, str(p / "model.safetensors"),
              metadata={"format": "pt"})


KERAS_USE = ("import keras\nimport numpy as np\nm = keras.models.load_model(P, safe_mode=False)\n"
             "m.predict(np.zeros((1, 4), dtype='float32'), verbose=0)")
HF_TOKENIZER = ("from transformers import AutoTokenizer\n"
                "AutoTokenizer.from_pretrained(P, trust_remote_code=True)")


def entries() -> list[Entry]:
    out = []

    def add(variant, rel, make, loader, note, quick=False):
        out.append(Entry("7-code", variant, f"7-code/{rel}", make, loader, note, quick=quick))

    add("keras-Lambda-functional.keras", "lambda-functional.keras",
        lambda p: save(functional_lambda(), p), KERAS,
        "functional .keras model with a Lambda layer (marshalled bytecode)", quick=True)
    add("keras-Lambda-sequential.keras", "lambda-sequential.keras",
        lambda p: save(sequential_lambda(), p), KERAS, "Sequential .keras with a Lambda")
    add("keras-Lambda-in-submodel.keras", "lambda-nested.keras",
        lambda p: save(nested_lambda(), p), KERAS,
        ".keras whose Lambda sits inside a nested functional sub-model")
    add("keras-lambda-as-activation.keras", "lambda-activation.keras", activation_keras,
        KERAS_USE, ".keras with no Lambda layer: a Dense activation is a __lambda__ object "
        "(runs on the first predict, so the loader predicts once)")
    add("keras-Lambda.h5", "lambda.h5", lambda p: save(functional_lambda(), p), KERAS,
        "legacy HDF5 model with a Lambda layer", quick=True)
    add("keras-lambda-as-activation.h5", "lambda-activation.h5", activation_h5, KERAS_USE,
        "legacy HDF5 model whose Dense activation is a __lambda__ object (first predict)")
    for at, note, quick in (("import", "modeling_*.py runs code at import time", True),
                            ("init", "the remote model class runs code in __init__", False),
                            ("config", "configuration_*.py runs code at import time", False)):
        add(f"hf-auto_map-{at}", f"hf-remote-{at}", lambda p, at=at: hf_remote(p, at=at),
            HF_REMOTE, f"Hugging Face folder, config.json auto_map: {note}", quick=quick)
    add("hf-auto_map-tokenizer", "hf-remote-tokenizer",
        lambda p: hf_remote(p, at="tokenizer"), HF_TOKENIZER,
        "tokenizer_config.json auto_map: tokenization_*.py runs code at import "
        "(AutoTokenizer)")
    return out

