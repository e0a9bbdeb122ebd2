"""Lineage nodes for what W&B has: runs and artifacts.

An artifact node is keyed by ``wandb://artifact/<name>@<digest>``: the collection name and the
content digest, the two things known both when exporting offline (no version or entity yet)
and when importing (where ``name:v3``, entity and project are facets). The same content logged
under the same name is the same node, as W&B itself treats it (logging an unchanged digest is
a no-op there).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from blacklake_ml.service.lineage import Lineage, LineageNode

SYSTEM = "wandb"


def artifact_key(name: str, digest: str) -> str:
    """The lineage key (an external URI) of a W&B artifact version."""
    return f"wandb://artifact/{name}@{digest}"


@dataclass(frozen=True)
class RunInfo:
    """What is known of the W&B run that logged (or used) an artifact."""

    id: str
    name: str | None = None
    project: str | None = None
    entity: str | None = None
    url: str | None = None
    mode: str | None = None

    @classmethod
    def of(cls, run: Any) -> RunInfo:
        """From a live ``wandb.Run`` or a public-API ``Run`` (attributes read defensively:
        offline runs have no entity, URL or name)."""
        def text(attr: str) -> str | None:
            try:
                value = getattr(run, attr, None)
            except Exception:  # noqa: BLE001 - W&B raises for properties an offline run lacks
                return None
            return str(value) if value not in (None, "") else None

        mode = None
        settings = getattr(run, "settings", None)
        if settings is not None:
            mode = str(getattr(settings, "mode", "") or "") or None
        return cls(id=str(run.id), name=text("name"), project=text("project"),
                   entity=text("entity"), url=text("url"), mode=mode)

    def facets(self) -> dict[str, Any]:
        """The run's JSON facets (only what is known)."""
        return {k: v for k, v in (("name", self.name), ("project", self.project),
                                  ("entity", self.entity), ("url", self.url),
                                  ("mode", self.mode)) if v is not None}

    def node(self, lineage: Lineage) -> LineageNode:
        """The run's lineage node ``run:wandb:<id>``."""
        return lineage.run(SYSTEM, self.id, name=self.name or f"wandb run {self.id}",
                           uri=self.url, facets=self.facets())


def artifact_node(lineage: Lineage, *, name: str, digest: str, type: str | None = None,
                  version: str | None = None, facets: Mapping[str, Any] | None = None
                  ) -> LineageNode:
    """The lineage node of a W&B artifact version."""
    f: dict[str, Any] = {"name": name, "digest": digest}
    if type:  # unknown for a bare directory import: leave what an export recorded
        f["type"] = type
    if version:
        f["version"] = version
    f.update(facets or {})
    label = f"{name}:{version}" if version else f"{name}@{digest[:8]}"
    return lineage.external(artifact_key(name, digest), kind="artifact", label=label,
                            system=SYSTEM, facets=f)
