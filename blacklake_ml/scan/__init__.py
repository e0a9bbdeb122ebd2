"""The model-file scanner: would loading this file run code? (``blacklake scan``).

Every file gets a verdict — ``safe``, ``unsafe`` (with reasons: each global as written and
what it resolves to, the construct that runs code) or ``unknown`` (a limit was hit, a
container could not be read whole, the format is not one the scanner vouches for, loaders
would read the bytes differently) — see :mod:`.verdict`. The scanner fails closed: only an
exact allow-list of pickle globals passes (:mod:`blacklake_ml.extract._pickle_policy`), and
every reading a loader could make of the bytes is judged (:mod:`.pickles`, :mod:`.formats`).
Nothing is ever unpickled, imported or executed.

``scan_source`` judges bytes behind a :class:`~blacklake_ml.extract.base.Source` (a local
file or a stored one); ``scan_paths`` walks local files and folders.
"""

from __future__ import annotations

from blacklake_ml.scan.formats import scan_source
from blacklake_ml.scan.local import scan_paths
from blacklake_ml.scan.verdict import SAFE, UNKNOWN, UNSAFE, Verdict, worst

#: bump when a change can alter verdicts: cached verdicts of stored files are keyed by it
SCANNER_VERSION = 1

__all__ = ["SAFE", "SCANNER_VERSION", "UNKNOWN", "UNSAFE", "Verdict", "scan_paths",
           "scan_source", "worst"]
