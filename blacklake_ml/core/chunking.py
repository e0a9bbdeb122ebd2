"""Content-defined chunking (FastCDC via the compiled ``pyfastcdc``).

Boundaries depend on content only, so an edit or an insertion moves at most a couple of
boundaries and every other chunk keeps its id; that is what makes successive checkpoints share
storage. The parameters are part of the store format: changing them does not break
correctness, only dedup against older versions.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from pyfastcdc.cy import FastCDC

AVG_CHUNK = 64 * 1024
MIN_CHUNK = 16 * 1024
MAX_CHUNK = 256 * 1024


@dataclass(frozen=True)
class ChunkerParams:
    """FastCDC parameters (bytes)."""

    avg: int = AVG_CHUNK
    min: int = MIN_CHUNK
    max: int = MAX_CHUNK


DEFAULT_PARAMS = ChunkerParams()


class Chunker:
    """Cuts buffers into content-defined chunks; thread-safe (the cutter holds no state)."""

    def __init__(self, params: ChunkerParams = DEFAULT_PARAMS) -> None:
        self.params = params
        self._cdc = FastCDC(params.avg, min_size=params.min, max_size=params.max)

    def cut(self, buf: bytes | bytearray | memoryview) -> Iterator[memoryview]:
        """Yield consecutive memoryviews of ``buf`` covering it exactly (none for empty)."""
        if len(buf) == 0:
            return
        if len(buf) <= self.params.min:
            # Below the minimum size there is nothing to cut; skip the C iterator's overhead
            # (the common case for datasets of many small files).
            yield memoryview(buf)
            return
        for chunk in self._cdc.cut_buf(buf):
            yield chunk.data
