"""The Python functions behind the BlackLake KFP components (made components by
:func:`blacklake_ml.integrations.kfp.components.build_components`).

KFP ships each function's *source* to the task (read with ``inspect``) into a module that has
only ``kfp``, ``kfp.dsl.*`` and ``typing.*`` imported, so: no ``from __future__ import
annotations`` here (KFP reads the annotations as types), nothing from this module's globals is
used inside a body, and each body imports :mod:`blacklake_ml.integrations.kfp.runtime` — from
the ``blacklake-ml`` installed in the task's image — and delegates to it.

Common parameters:

* ``blacklake_home`` — where the store lives, as ``BLACKLAKE_HOME`` would say it; '' (default)
  uses the task's environment (``BLACKLAKE_HOME`` / ``BLACKLAKE_STORAGE`` /
  ``BLACKLAKE_CATALOG`` or the config file), which is how a cluster should pass an object store
  and a PostgreSQL catalog (credentials as secrets, not parameters).
* ``run_id`` / ``task_name`` / ``job_name`` — filled in by KFP at run time from
  ``dsl.PIPELINE_JOB_ID_PLACEHOLDER`` and friends; they go into commit metadata and lineage.
  Leave them alone (if a backend does not substitute placeholder defaults, pass
  ``run_id=dsl.PIPELINE_JOB_ID_PLACEHOLDER`` explicitly: the task fails rather than record a
  literal placeholder).
"""

# KFP must see real type objects in the signatures, so no postponed annotations in this file;
# and it reads ``Optional[X]`` but not ``X | None`` (it takes the union for an artifact type),
# hence the ``noqa: UP045`` below.
from typing import NamedTuple, Optional

from kfp import dsl
from kfp.dsl import Dataset, Input, Model, Output


def pull_dataset(
    uri: str,
    dataset: Output[Dataset],
    blacklake_home: str = "",
    run_id: str = dsl.PIPELINE_JOB_ID_PLACEHOLDER,
    task_name: str = dsl.PIPELINE_TASK_NAME_PLACEHOLDER,
    job_name: str = dsl.PIPELINE_JOB_NAME_PLACEHOLDER,
) -> NamedTuple("PullOutputs", [("pinned_uri", str), ("commit", str)]):  # type: ignore[valid-type]
    """Pull a dataset from BlackLake into this task's ``dataset`` artifact.

    ``uri`` is ``blacklake://repo/ref/path`` (branch, tag or commit). A file becomes the
    artifact file, a directory the artifact directory. The artifact metadata names the pinned
    URI, commit and digest (``blacklake_uri``, ``blacklake_commit``, ``blacklake_digest``...);
    outputs ``pinned_uri`` and ``commit`` say the same for downstream parameters.
    """
    from blacklake_ml.integrations.kfp.runtime import task_pull

    return task_pull(uri, dataset, home=blacklake_home, run_id=run_id, task=task_name,
                     job_name=job_name)


def pull_model(
    uri: str,
    model: Output[Model],
    blacklake_home: str = "",
    run_id: str = dsl.PIPELINE_JOB_ID_PLACEHOLDER,
    task_name: str = dsl.PIPELINE_TASK_NAME_PLACEHOLDER,
    job_name: str = dsl.PIPELINE_JOB_NAME_PLACEHOLDER,
) -> NamedTuple("PullOutputs", [("pinned_uri", str), ("commit", str)]):  # type: ignore[valid-type]
    """Pull a model from BlackLake into this task's ``model`` artifact (see pull_dataset)."""
    from blacklake_ml.integrations.kfp.runtime import task_pull

    return task_pull(uri, model, home=blacklake_home, run_id=run_id, task=task_name,
                     job_name=job_name)


def push_dataset(
    dataset: Input[Dataset],
    uri: str,
    pushed: Output[Dataset],
    message: str = "",
    metadata: Optional[dict] = None,  # noqa: UP045
    repoint_uri: bool = False,
    blacklake_home: str = "",
    run_id: str = dsl.PIPELINE_JOB_ID_PLACEHOLDER,
    task_name: str = dsl.PIPELINE_TASK_NAME_PLACEHOLDER,
    job_name: str = dsl.PIPELINE_JOB_NAME_PLACEHOLDER,
) -> NamedTuple("PushOutputs", [("pinned_uri", str), ("commit", str)]):  # type: ignore[valid-type]
    """Commit the ``dataset`` artifact to ``uri`` (its ref must be a branch).

    Commit metadata: the artifact's metadata, ``metadata``, and ``kfp_run_id``, ``kfp_task``,
    ``kfp_job``, ``kfp_artifact``. ``pushed`` carries the pinned URI, commit and digest in its
    metadata and, as a JSON file, its content; with ``repoint_uri`` its URI becomes the pinned
    ``blacklake://`` URI (shown by KFP's UI; only for backends that accept a URI scheme they do
    not store). Outputs ``pinned_uri`` and ``commit`` say the same for downstream parameters.
    """
    from blacklake_ml.integrations.kfp.runtime import task_push

    return task_push(dataset, uri, pushed, home=blacklake_home, run_id=run_id, task=task_name,
                     job_name=job_name, message=message, metadata=metadata,
                     repoint_uri=repoint_uri)


def push_model(
    model: Input[Model],
    uri: str,
    pushed: Output[Model],
    message: str = "",
    metadata: Optional[dict] = None,  # noqa: UP045
    repoint_uri: bool = False,
    blacklake_home: str = "",
    run_id: str = dsl.PIPELINE_JOB_ID_PLACEHOLDER,
    task_name: str = dsl.PIPELINE_TASK_NAME_PLACEHOLDER,
    job_name: str = dsl.PIPELINE_JOB_NAME_PLACEHOLDER,
) -> NamedTuple("PushOutputs", [("pinned_uri", str), ("commit", str)]):  # type: ignore[valid-type]
    """Commit the ``model`` artifact (file or directory) to ``uri`` with its metadata
    (metrics...) and the KFP run id (see push_dataset)."""
    from blacklake_ml.integrations.kfp.runtime import task_push

    return task_push(model, uri, pushed, home=blacklake_home, run_id=run_id, task=task_name,
                     job_name=job_name, message=message, metadata=metadata,
                     repoint_uri=repoint_uri)


def record_lineage(
    step: str,
    consumed: list[str],
    produced: list[str],
    blacklake_home: str = "",
    run_id: str = dsl.PIPELINE_JOB_ID_PLACEHOLDER,
    job_name: str = dsl.PIPELINE_JOB_NAME_PLACEHOLDER,
) -> str:
    """Record that ``step`` of this pipeline run consumed and produced these URIs.

    URIs are ``blacklake://`` (pinned to the commit they resolve to now) or anything else
    (recorded as external artifacts). Use it for steps that do not talk to BlackLake, e.g.
    ``record_lineage(step="train", consumed=[pull.outputs["pinned_uri"]],
    produced=[push.outputs["pinned_uri"]])``. Returns the step's lineage node key.
    """
    from blacklake_ml.integrations.kfp.runtime import task_record

    return task_record(step, consumed, produced, home=blacklake_home, run_id=run_id,
                       job_name=job_name)


def search_store(
    query: str,
    k: int = 5,
    repo: str = "",
    filters: Optional[list[str]] = None,  # noqa: UP045
    mode: str = "hybrid",
    require_hit: bool = True,
    blacklake_home: str = "",
) -> NamedTuple("SearchOutputs", [("uris", list[str]), ("best", str)]):  # type: ignore[valid-type]
    """Search BlackLake's models and datasets: ``uris`` best first, ``best`` the top hit.

    ``filters`` are facet constraints as on the CLI (``["license=mit", "parameters<1e9"]``);
    ``mode`` is hybrid, bm25 or dense. With ``require_hit`` (default) no hit fails the task.
    """
    from blacklake_ml.integrations.kfp.runtime import task_search

    return task_search(query, home=blacklake_home, k=k, repo=repo, filters=filters or [],
                       mode=mode, require_hit=require_hit)
