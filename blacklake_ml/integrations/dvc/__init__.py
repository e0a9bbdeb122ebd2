"""The DVC bridge: BlackLake as a DVC HTTP remote, and import of a DVC project's history.

* :class:`~blacklake_ml.integrations.dvc.remote.DvcRemote` — the ``/dvc/<repo>/…`` routes of
  the HTTP gateway (``blacklake serve-dvc``): ``dvc push``/``pull``/``fetch``/``status -c``
  store DVC objects as chunked, deduplicated files of ``<repo>`` (branch ``dvc-remote``).
  Needs no DVC installation on the server.
* :func:`~blacklake_ml.integrations.dvc.importer.import_project` — one BlackLake commit per
  git commit that changed ``.dvc`` files or ``dvc.lock`` (``blacklake dvc import``), with the
  ``dvc.yaml`` stages recorded as lineage. Needs ``pip install 'blacklake-ml[dvc]'``; ``dvc``
  is imported only when an import runs.
"""

from blacklake_ml.integrations.dvc.importer import ImportReport, import_project
from blacklake_ml.integrations.dvc.remote import REMOTE_BRANCH, DvcRemote

__all__ = ["REMOTE_BRANCH", "DvcRemote", "ImportReport", "import_project"]
