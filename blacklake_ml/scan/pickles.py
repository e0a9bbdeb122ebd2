"""Judging pickle streams: every way the natural loaders would read the bytes.

A pickle is read by the symbolic machine of :mod:`blacklake_ml.extract._pickle_scan` (nothing
is imported or called). One file can mean different things to different loaders, and an
attacker chooses the one the scanner does not look at, so every reading a loader could make is
judged and the worst verdict wins:

* **joblib** (``joblib.load``): numpy array bytes follow each ``NumpyArrayWrapper`` and are
  skipped by exactly the length joblib computes; object arrays are nested plain pickles;
* **plain** (``pickle.load``, ``numpy.load(allow_pickle=True)``, ``torch.load`` of a
  non-zip file): the same bytes with no array skipping — when a file has joblib arrays, this
  second reading parses them as opcodes, as ``pickle.load`` would;
* **sequence**: ``torch.load`` of a legacy file reads five pickles in a row (magic number,
  protocol, system info, the object, the storage keys), and readers of pickle streams call
  ``load`` repeatedly, so pickles following the first are read too.

Anything the machine cannot finish (a limit, a loader disagreement, malformed bytes in a
reading a loader would make) makes the verdict ``unknown`` at best.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from blacklake_ml.extract._pickle_scan import ByteStream, GlobalsLog, PickleMachine
from blacklake_ml.extract._util import LimitExceeded, one_line
from blacklake_ml.scan.verdict import SAFE, UNKNOWN, UNSAFE, Verdict

#: the legacy torch.save magic number (the first pickle of a legacy checkpoint)
LEGACY_MAGIC = 0x1950A86A20F9469CFC6C
#: pickles read in a row after the first (legacy torch files have five)
MAX_SEQUENCE = 64

Opener = Callable[[], ByteStream]


def looks_like_pickle(head: bytes) -> bool:
    """Whether a loader could start reading ``head`` as a pickle that does something: a
    ``PROTO`` opcode with a known protocol, or a protocol 0/1 opening (``GLOBAL``, ``MARK``,
    ``INST``, containers, …). Cheap; the machine decides."""
    if not head:
        return False
    if head[0] == 0x80:
        return len(head) > 1 and head[1] <= 5
    return head[:1] in (b"c", b"(", b"i", b"]", b"}", b")", b"N", b"I", b"L", b"F", b"S",
                        b"V", b"X", b"U", b"T", b"B", b"C", b"J", b"K", b"M", b"G", b"P",
                        b"Q", b"\x8c", b"\x95")


def _judge(log: GlobalsLog, v: Verdict, prefix: str = "") -> None:
    for reason in log.unsafe.values():
        v.add(UNSAFE, prefix + reason)
    for anomaly in log.anomalies:
        v.add(UNKNOWN, prefix + anomaly)


def _read(open_stream: Opener, *, joblib: bool, lenient: bool,
          on_nested: Callable[[bytes], bool] | None, misread_joblib: bool = False
          ) -> tuple[GlobalsLog, PickleMachine, list[Any], str | None, bool]:
    """Run one reading: ``(log, machine, values, error, limited)``. ``values`` holds what each
    pickle of the sequence returned; ``error`` is why the reading stopped early."""
    log = GlobalsLog(lenient=lenient)
    machine = PickleMachine(open_stream(), log, joblib=joblib, on_nested=on_nested,
                            misread_joblib=misread_joblib)
    values: list[Any] = []
    try:
        values.append(machine.run())
        legacy = values[0] == LEGACY_MAGIC
        for i in range(MAX_SEQUENCE):
            if legacy and i >= 4:
                break  # after the storage keys a legacy file holds raw storage bytes
            if machine.stop_frame_end is not None:
                machine.stream.skip_to(machine.stop_frame_end)
            if machine.stream.at_end():
                return log, machine, values, None, False
            ops = machine.ops
            try:
                values.append(machine.run())
            except (ValueError, EOFError, UnicodeDecodeError) as e:
                if isinstance(e, LimitExceeded):
                    raise
                if legacy or machine.ops > ops + 1:
                    # a following pickle that starts but cannot be read to its end: a loader
                    # reading the stream runs what the scanner could not follow
                    return log, machine, values, one_line(e), False
                break  # trailing bytes that do not start a pickle: no loader reads on
    except LimitExceeded as e:
        return log, machine, values, one_line(e), True
    except (ValueError, EOFError, OSError, UnicodeDecodeError) as e:
        return log, machine, values, one_line(e), False
    except RecursionError:
        return log, machine, values, "pickle nested too deeply", True
    return log, machine, values, None, False


class PickleVerdict(Verdict):
    """A :class:`Verdict` plus what the reading established: ``complete`` when at least one
    pickle ran to its STOP, ``referenced`` when any importable global was named."""

    complete: bool = False
    referenced: bool = False


def scan_pickle(open_stream: Opener, *, joblib: bool = True,
                on_nested: Callable[[bytes], bool] | None = None) -> PickleVerdict:
    """The verdict on the pickle(s) ``open_stream()`` yields (called once per reading; each
    call must return a fresh seekable stream at the pickle's first byte)."""
    v = PickleVerdict(format="pickle")
    log, machine, values, error, limited = _read(open_stream, joblib=joblib, lenient=True,
                                                 on_nested=on_nested)
    v.complete = bool(values)
    v.referenced = bool(log.seen)
    _judge(log, v)
    if values and values[0] == LEGACY_MAGIC:
        v.format = "pytorch-legacy"
    elif machine.arrays:
        v.format = "joblib"
    if limited:
        v.add(UNKNOWN, f"scan incomplete: {error}")
    elif error:
        # a reading a loader makes ends in bytes the scanner cannot follow: whatever the
        # loader does from there was not seen
        v.add(UNKNOWN, f"pickle could not be read to its end: {error}")
    if machine.arrays:
        # the same bytes as pickle.load reads them (array data parsed as opcodes)
        plain, _, _, perror, plimited = _read(open_stream, joblib=False, lenient=True,
                                              on_nested=on_nested, misread_joblib=True)
        _judge(plain, v, "read by pickle.load instead of joblib: ")
        if plimited:
            v.add(UNKNOWN, f"read by pickle.load instead of joblib: scan incomplete: {perror}")
    if v.verdict == SAFE and not values:
        v.add(UNKNOWN, "no complete pickle found")
    return v
