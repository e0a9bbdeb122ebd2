"""The scanner's answer for one file: ``safe``, ``unsafe`` or ``unknown``, with reasons.

``safe`` means: loading this file with the loaders its format is used with (pickle, joblib,
torch, numpy, Keras, Hugging Face, MLflow) references only allow-listed code and no construct
that runs code, and the scanner read all of it. ``unsafe`` means it names code that would be
imported or run (each reason says which and why). ``unknown`` means the scanner could not
decide — a limit was hit, the format is not one it understands, a container could not be read
whole, or loaders could read the bytes in different ways — and is never presented as safe.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

SAFE = "safe"
UNSAFE = "unsafe"
UNKNOWN = "unknown"
_RANK = {SAFE: 0, UNKNOWN: 1, UNSAFE: 2}
#: reasons kept per file (the first ones; the count of the rest is noted)
MAX_REASONS = 50


def worst(*verdicts: str) -> str:
    """The most severe of ``verdicts`` (unsafe > unknown > safe); ``safe`` for none."""
    return max(verdicts, key=lambda v: _RANK[v], default=SAFE)


@dataclass
class Verdict:
    """What the scanner found in one file (or one member of a container)."""

    verdict: str = SAFE
    format: str = "unknown"
    reasons: list[str] = field(default_factory=list)

    def add(self, verdict: str, reason: str) -> None:
        """Raise the verdict to at least ``verdict`` and record why."""
        self.verdict = worst(self.verdict, verdict)
        if reason and reason not in self.reasons:
            self.reasons.append(reason)

    def merge(self, other: Verdict, prefix: str = "") -> None:
        """Fold in the verdict of a part of this file (a zip member, a nested pickle)."""
        self.verdict = worst(self.verdict, other.verdict)
        for r in other.reasons:
            text = f"{prefix}{r}" if prefix else r
            if text not in self.reasons:
                self.reasons.append(text)

    def to_json(self, path: str) -> dict[str, Any]:
        """``{"path", "verdict", "format", "reasons"}`` (the ``scan --json`` file entry)."""
        reasons = self.reasons[:MAX_REASONS]
        if len(self.reasons) > MAX_REASONS:
            reasons.append(f"... and {len(self.reasons) - MAX_REASONS} more")
        return {"path": path, "verdict": self.verdict, "format": self.format,
                "reasons": reasons}
