"""Tabular datasets: CSV/TSV (header, sniffed column types, row count) and Parquet (footer).

CSV: the first :data:`SAMPLE_BYTES` give the delimiter, the header (the first row is taken as
the header) and per-column types sniffed from up to :data:`SAMPLE_ROWS` rows. Rows are counted
as lines over the whole file up to :data:`MAX_COUNT_BYTES`; beyond, or when quoted fields span
lines, the count is an estimate and ``details.rows_estimated`` says so.

Parquet: ``pyarrow.parquet.ParquetFile`` over a :class:`SourceReader`, which reads only the
footer: schema, row count, row groups, compression, writer.
"""

from __future__ import annotations

import csv
import io
import re
from collections import Counter
from typing import Any

from blacklake_ml.errors import MissingDependency
from blacklake_ml.extract._util import clip, stem
from blacklake_ml.extract.base import FileExtractor, NotRecognised, Source
from blacklake_ml.extract.local import SourceReader

SAMPLE_BYTES = 256 * 1024
SAMPLE_ROWS = 1000
MAX_COLUMNS = 2000
#: files up to this size get an exact line count; larger ones an estimate
MAX_COUNT_BYTES = 256 * 1024 * 1024
_COUNT_BLOCK = 4 * 1024 * 1024

_INT = re.compile(r"^[+-]?\d+$")
_FLOAT = re.compile(r"^[+-]?(\d+\.?\d*([eE][+-]?\d+)?|\.\d+([eE][+-]?\d+)?|nan|NaN|inf|-inf)$")
_BOOL = frozenset({"true", "false", "True", "False", "TRUE", "FALSE"})
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?$")
_NULLS = frozenset({"", "NA", "N/A", "null", "NULL", "None", "nan", "NaN"})


def _kind(value: str) -> str:
    if _INT.match(value):
        return "int"
    if _FLOAT.match(value):
        return "float"
    if value in _BOOL:
        return "bool"
    if _DATE.match(value):
        return "date"
    if _DATETIME.match(value):
        return "datetime"
    return "string"


def _column_type(kinds: Counter[str]) -> str:
    if not kinds:
        return "null"
    if len(kinds) == 1:
        return next(iter(kinds))
    if set(kinds) <= {"int", "float"}:
        return "float"
    if set(kinds) <= {"date", "datetime"}:
        return "datetime"
    return "string"


def _count_lines(src: Source) -> tuple[int, bool]:
    """``(newlines, ends with newline)`` over the whole file, in block range reads."""
    n, pos, last = 0, 0, b""
    while pos < src.size:
        block = src.read(pos, min(src.size, pos + _COUNT_BLOCK))
        if not block:
            break
        n += block.count(b"\n")
        last = block[-1:]
        pos += len(block)
    return n, last == b"\n"


class CsvExtractor(FileExtractor):
    """``.csv`` / ``.tsv`` files."""

    name = "csv"
    version = 1
    priority = 5
    suffixes = (".csv", ".tsv", ".tab")

    def matches(self, filename: str, head: bytes) -> bool:
        return filename.lower().endswith((".csv", ".tsv", ".tab"))

    def extract(self, src: Source) -> dict[str, Any]:
        raw = src.read(0, SAMPLE_BYTES)
        if b"\x00" in raw:
            raise NotRecognised("binary data (NUL bytes): not a CSV/TSV text file")
        partial = src.size > len(raw)
        if partial and b"\n" in raw:
            raw = raw[: raw.rindex(b"\n") + 1]  # drop the cut last line
        text = raw.decode("utf-8", "replace").lstrip("\ufeff")
        tsv = src.name.lower().endswith((".tsv", ".tab"))
        if tsv:
            delimiter = "\t"
        else:
            try:
                delimiter = csv.Sniffer().sniff(text[:65536], delimiters=",;\t|").delimiter
            except csv.Error:
                delimiter = ","
        reader = csv.reader(io.StringIO(text), delimiter=delimiter)
        records = 0  # every record of the sample; the first SAMPLE_ROWS are kept for typing
        try:
            header = next(reader, None)
            rows: list[list[str]] = []
            for row in reader:
                records += 1
                if len(rows) < SAMPLE_ROWS:
                    rows.append(row)
        except csv.Error as e:
            raise ValueError(f"malformed CSV: {e}") from None
        if header is None:
            raise ValueError("empty CSV file")
        if len(header) > MAX_COLUMNS:
            raise ValueError(f"{len(header)} columns (limit {MAX_COLUMNS})")
        columns = []
        for i, name in enumerate(header):
            kinds: Counter[str] = Counter()
            nulls = 0
            for row in rows:
                v = row[i].strip() if i < len(row) else ""
                if v in _NULLS:
                    nulls += 1
                else:
                    kinds[_kind(v)] += 1
            columns.append({"name": clip(name, 256), "dtype": _column_type(kinds),
                            "nullable": nulls > 0})
        details: dict[str, Any] = {"delimiter": delimiter, "column_count": len(header),
                                   "columns": columns, "sampled_rows": len(rows)}
        sample_lines = text.count("\n") + (0 if text.endswith("\n") or not text else 1)
        records_in_sample = 1 + records  # with the header
        if src.size <= MAX_COUNT_BYTES:
            newlines, ends_nl = _count_lines(src)
            lines = newlines + (0 if ends_nl or src.size == 0 else 1)
            n_rows = max(0, lines - 1)
            # quoted fields spanning lines: scale the line count by the sample's ratio
            estimated = sample_lines != records_in_sample
            if estimated and sample_lines:
                n_rows = round(lines * records_in_sample / sample_lines) - 1
        else:
            per_record = len(raw) / max(1, records_in_sample)
            n_rows = max(0, round(src.size / per_record) - 1)
            estimated = True
        details["rows_estimated"] = estimated
        return {"kind": "dataset", "format": "tsv" if tsv else "csv", "name": stem(src.name),
                "rows": n_rows, "details": details}


class ParquetExtractor(FileExtractor):
    """``.parquet`` files (footer metadata through pyarrow)."""

    name = "parquet"
    version = 1
    priority = 10
    suffixes = (".parquet", ".pq")
    magics = (b"PAR1",)

    def matches(self, filename: str, head: bytes) -> bool:
        return filename.lower().endswith((".parquet", ".pq")) or head[:4] == b"PAR1"

    def extract(self, src: Source) -> dict[str, Any]:
        try:
            import pyarrow
            import pyarrow.parquet as pq
        except ImportError:
            raise MissingDependency("reading Parquet metadata", "models") from None
        if src.size < 12 or src.read(src.size - 4, src.size) != b"PAR1":
            raise ValueError("not a Parquet file, or truncated (no PAR1 footer magic)")
        try:
            pf = pq.ParquetFile(SourceReader(src))
        except (pyarrow.ArrowException, OSError) as e:
            raise ValueError(f"unreadable Parquet footer: {e}") from None
        md = pf.metadata
        schema = pf.schema_arrow
        columns = [{"name": clip(f.name, 256), "dtype": clip(str(f.type), 256),
                    "nullable": bool(f.nullable)} for f in list(schema)[:MAX_COLUMNS]]
        compression: Counter[str] = Counter()
        if md.num_row_groups:
            rg = md.row_group(0)
            for i in range(min(rg.num_columns, MAX_COLUMNS)):
                compression[str(rg.column(i).compression)] += 1
        details: dict[str, Any] = {
            "column_count": len(schema),
            "columns": columns,
            "row_groups": md.num_row_groups,
            "created_by": clip(str(md.created_by or ""), 256),
            "format_version": str(md.format_version),
            "compression": dict(compression),
        }
        kv = md.metadata or {}
        if kv:
            details["metadata_keys"] = [clip(k.decode("utf-8", "replace"), 128)
                                        for k in list(kv)[:100]]
        return {"kind": "dataset", "format": "parquet", "framework": "pyarrow",
                "name": stem(src.name), "rows": int(md.num_rows), "details": details}
