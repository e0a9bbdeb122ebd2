"""The Weights & Biases bridge: stored commits as W&B artifacts and back, with lineage.

* :func:`export_artifact` — a commit (or paths of it) as a ``wandb.Artifact``, by files or by
  HTTP references to the gateway (``blacklake serve``), with the commit in its metadata;
  :func:`predict_digest` / :func:`plan_export` give the W&B digest without W&B.
* :func:`import_directory` / :func:`import_artifact` — a downloaded artifact, verified
  against its manifest, as one commit.

``wandb`` itself is imported only by the functions that need it (pip extra ``wandb``).
"""

from blacklake_ml.integrations.wandb.export import ExportResult, UrlSigner, export_artifact
from blacklake_ml.integrations.wandb.importer import (
    ArtifactInfo,
    ImportResult,
    import_artifact,
    import_directory,
    info_from_directory,
    parse_destination,
)
from blacklake_ml.integrations.wandb.manifest import (
    MANIFEST_NAME,
    Manifest,
    ManifestEntry,
    manifest_digest,
    md5_b64,
)
from blacklake_ml.integrations.wandb.nodes import RunInfo, artifact_key
from blacklake_ml.integrations.wandb.plan import (
    ExportPlan,
    PlannedEntry,
    plan_export,
    predict_digest,
)

__all__ = [
    "MANIFEST_NAME", "ArtifactInfo", "ExportPlan", "ExportResult", "ImportResult", "Manifest",
    "ManifestEntry", "PlannedEntry", "RunInfo", "UrlSigner", "artifact_key", "export_artifact",
    "import_artifact", "import_directory", "info_from_directory", "manifest_digest", "md5_b64",
    "parse_destination", "plan_export", "predict_digest",
]
