"""CSV: the responses (streamed, UTF-8 with a byte-order mark) and the
labels file (the codebook)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from typing import Any

from ..frames import CHUNK_SIZE
from .common import escape_cell
from .request import Export
from .rows import _escape_text_columns, iter_chunks


def stream_csv(export: Export, *, chunk_size: int = CHUNK_SIZE) -> Iterator[bytes]:
    """The responses CSV as a stream of byte chunks: BOM, header, rows."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([v.name for v in export.variables])
    yield "\ufeff".encode() + buffer.getvalue().encode("utf-8")
    for chunk in iter_chunks(
        export.survey, export.variables, export.weighting, chunk_size=chunk_size, as_text=True
    ):
        _escape_text_columns(chunk, export.variables)
        yield _csv_rows(chunk.tolist(), writer, buffer).encode("utf-8")


def _csv_rows(rows: list[list[str]], writer: Any, buffer: io.StringIO) -> str:
    """Rows of text exactly as `csv.writer` writes them, in a fraction of the
    time: the cells joined with commas, and a row through `csv.writer` only
    when a cell holds a comma, a double quote or a line break, the only
    characters that make it quote a cell (or when the row has one cell,
    which it quotes when empty)."""
    if not rows:
        return ""
    lines = [",".join(row) for row in rows]
    text = "\r\n".join(lines)
    commas = len(rows[0]) - 1
    n = len(lines)
    extra_commas = text.count(",") != n * commas
    if (
        commas
        and not extra_commas
        and text.count("\n") == text.count("\r") == n - 1
        and '"' not in text
    ):
        return text + "\r\n"
    for i, line in enumerate(lines):
        if (
            '"' in line
            or "\r" in line
            or "\n" in line
            or (extra_commas and line.count(",") != commas)
            or not commas
        ):
            buffer.seek(0)
            buffer.truncate()
            writer.writerow(rows[i])
            lines[i] = buffer.getvalue()[:-2]
    return "\r\n".join(lines) + "\r\n"


LABEL_COLUMNS = [
    "variable",
    "label",
    "type",
    "measure",
    "code",
    "value_label",
    "spss_value",
    "missing",
]


def label_rows(export: Export, *, escape: bool = True) -> list[list[Any]]:
    """The codebook: a row per variable, then a row per value, each value
    with its full label (SPSS keeps only 120 bytes of one). `escape`: for
    CSV, where a cell is text only by its apostrophe; the Excel writer
    writes such cells as text cells instead."""
    rows: list[list[Any]] = []
    for v in export.variables:
        label = v.label if v.kind != "weight" else f"{v.label}. {export.weighting.describe()}"
        rows.append([v.name, label, v.question_type or v.kind, v.measure, "", "", "", ""])
        for value in v.values:
            rows.append(
                [
                    v.name,
                    "",
                    "",
                    "",
                    value.code,
                    value.label,
                    value.number,
                    "yes" if value.missing else "",
                ]
            )
    for name, fact in export.about():
        rows.append(["(about)", f"{name}: {fact}", "", "", "", "", "", ""])
    if not escape:
        return rows
    return [[escape_cell(c) for c in row] for row in rows]


def labels_csv(export: Export) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(LABEL_COLUMNS)
    writer.writerows(label_rows(export))
    return "\ufeff".encode() + buffer.getvalue().encode("utf-8")
