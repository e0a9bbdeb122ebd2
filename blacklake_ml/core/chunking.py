"""Content-defined chunking (FastCDC via the compiled ``pyfastcdc``).

Boundaries depend on content only, so an edit or an insertion moves at most a couple of
boundaries and every other chunk keeps its id; that is what makes successive checkpoints share
storage. The parameters are part of the store format: changing them does not break
correctness, only dedup against older versions.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

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

    def _ends(self, buf: memoryview, start: int) -> list[int]:
        """End offsets (absolute) of the chunks of ``buf[start:]`` cut on their own."""
        ends, pos = [], start
        for chunk in self._cdc.cut_buf(buf[start:]):
            pos += len(chunk.data)
            ends.append(pos)
        return ends

    def cut_offsets(self, buf: bytes | bytearray | memoryview, run: Any = None,
                    parts: int = 2) -> list[tuple[int, int]]:
        """``(offset, length)`` of the chunks of ``buf``: exactly :meth:`cut`'s, computed on
        ``parts`` threads when ``run`` (``concurrent.futures`` ``submit``) is given.

        Each part after the first is cut as if a chunk started where it starts. After the
        first boundary two cuttings share, they agree forever (a boundary depends only on
        the bytes since the chunk's start), so the first part's cutting is continued past
        its end until it meets a boundary of the next part's, and that part's boundaries
        are taken from there. The seam costs a chunk or two of sequential cutting.
        """
        n = len(buf)
        view = memoryview(buf)
        if n == 0:
            return []
        if run is None or parts < 2 or n < PARALLEL_MIN:
            return _as_cuts(self._ends(view, 0))
        starts = [n * i // parts for i in range(parts)]
        futures = [run(self._ends, view, s) for s in starts[1:]]
        ends = self._ends(view[:starts[1]], 0)[:-1]  # the last one is the forced cut there
        for k, fut in enumerate(futures, start=1):
            theirs = fut.result()
            limit = starts[k + 1] if k + 1 < parts else n
            if k + 1 < parts:
                theirs = theirs[:-1]  # forced at the next part's start, not content-defined
            pos = ends[-1] if ends else 0
            known = set(theirs)
            synced = False
            for chunk in self._cdc.cut_buf(view[pos:limit]):
                pos += len(chunk.data)
                if pos in known:
                    ends += [e for e in theirs if e >= pos]
                    synced = True
                    break
                if pos == limit:
                    break  # the forced end of this stretch: resync in the next part
                ends.append(pos)
            if not synced and k + 1 >= parts:
                ends.append(n)
        return _as_cuts(ends)


#: buffers below this are cut on one thread (a seam costs more than it saves)
PARALLEL_MIN = 4 * 1024 * 1024


def _as_cuts(ends: list[int]) -> list[tuple[int, int]]:
    out, prev = [], 0
    for e in ends:
        out.append((prev, e - prev))
        prev = e
    return out
