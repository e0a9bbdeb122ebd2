"""PyTorch checkpoints read from pickle opcodes, compared with what torch itself says."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch
from extract_helpers import evil_pickle, facts_of, ok, torch_zip_with

DTYPE_NAMES = {torch.float32: "float32", torch.float16: "float16", torch.int64: "int64"}


def _expected(sd: dict[str, torch.Tensor]) -> list[dict[str, Any]]:
    return [{"name": k, "shape": list(v.shape), "dtype": DTYPE_NAMES[v.dtype]}
            for k, v in sd.items()]


@pytest.mark.parametrize("name, layout", [("state.pt", "zip"), ("legacy.pth", "legacy")])
def test_state_dict(torch_files: dict[str, Any], name: str, layout: str) -> None:
    sd = torch_files["state_dict"]
    f = facts_of(torch_files["dir"] / name)
    assert f.extractor == "pytorch"
    facts = ok(f)
    d = facts["details"]
    assert (facts["format"], facts["framework"], d["layout"]) == ("pytorch", "pytorch", layout)
    assert d["tensors"] == _expected(sd)
    assert facts["parameters"] == sum(t.numel() for t in sd.values())
    assert d["dtypes"] == {"float32": 6, "float16": 2, "int64": 1}
    assert "unsafe" not in facts and d["scan_complete"] is True


def test_whole_model_pickle(torch_files: dict[str, Any]) -> None:
    facts = ok(facts_of(torch_files["dir"] / "whole.pt"))
    model = torch_files["model"]
    assert facts["details"]["tensors"] == _expected(model.state_dict())
    assert facts["parameters"] == sum(t.numel() for t in model.state_dict().values())
    assert facts["details"]["object_class"] == "torch.nn.modules.container.Sequential"
    assert "unsafe" not in facts  # torch.nn classes are trusted, nothing else is referenced


def test_custom_module_class_is_flagged(tmp_path: Path) -> None:
    torch.save(_Custom(), tmp_path / "custom.pt")
    facts = ok(facts_of(tmp_path / "custom.pt"))
    assert facts["unsafe"] == [f"{__name__}._Custom"]
    assert facts["parameters"] == 4 * 2 + 2
    assert [t["name"] for t in facts["details"]["tensors"]] == ["lin.weight", "lin.bias"]


class _Custom(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.lin = torch.nn.Linear(4, 2)


def test_training_checkpoint(torch_files: dict[str, Any]) -> None:
    facts = ok(facts_of(torch_files["dir"] / "checkpoint.ckpt"))
    sd = torch_files["state_dict"]
    d = facts["details"]
    assert d["top_level_keys"] == ["model", "optimizer", "epoch", "lr"]
    assert facts["parameters"] == sum(t.numel() for t in sd.values())
    assert [t["name"] for t in d["tensors"]] == [f"model.{k}" for k in sd]


def test_tied_weights_count_once(torch_files: dict[str, Any]) -> None:
    tied = torch_files["tied"]
    facts = ok(facts_of(torch_files["dir"] / "tied.bin"))
    assert [t["name"] for t in facts["details"]["tensors"]] == ["emb.weight", "out.weight"]
    assert facts["parameters"] == sum(p.numel() for p in tied.parameters()) == 50 * 8


def test_malicious_checkpoint_is_flagged_and_nothing_runs(tmp_path: Path) -> None:
    marker = tmp_path / "PWNED_pt"
    path = tmp_path / "evil.pt"
    path.write_bytes(torch_zip_with(evil_pickle(marker)))
    f = facts_of(path)
    assert f.extractor == "pytorch" and f.error is None
    assert f.facts["unsafe"] == ["posix.system"]
    assert f.facts["details"]["dangerous"] == ["posix.system"]
    assert f.facts["details"]["tensors"] == "unknown"
    assert not marker.exists()


def test_unknown_structure_degrades(tmp_path: Path) -> None:
    """A pickle of plain data in a torch zip: no tensors, no error, nothing unsafe."""
    import pickle

    path = tmp_path / "plain.pth"
    path.write_bytes(torch_zip_with(pickle.dumps({"a": [1, 2, {"b": (3, 4)}]}), "plain"))
    facts = ok(facts_of(path))
    assert facts["details"]["tensors"] == "unknown"
    assert "parameters" not in facts and "unsafe" not in facts
    assert facts["details"]["top_level_keys"] == ["a"]
