"""SPSS .sav through pyreadstat."""

from __future__ import annotations

import textwrap
from typing import Any

import numpy as np
import pandas as pd

from ..frames import CHUNK_SIZE
from .common import SPSS_MISSING_RANGE
from .request import Export
from .rows import iter_chunks

#: SPSS keeps 120 bytes of a value label and 256 of a variable label; the
#: library cuts at the byte, which splits an Urdu or Gujarati letter (two or
#: three bytes in UTF-8) and leaves an invalid label.
VALUE_LABEL_BYTES = 120
VARIABLE_LABEL_BYTES = 256


def fit_bytes(label: str, limit: int) -> str:
    """`label` in at most `limit` bytes of UTF-8, cut between characters,
    at a space when one is near the end, and marked with an ellipsis. The
    codebook (Labels sheet and file) keeps the whole label."""
    if len(label.encode("utf-8")) <= limit:
        return label
    budget = limit - len("…".encode())
    cut = label.encode("utf-8")[:budget].decode("utf-8", errors="ignore")
    space = cut.rfind(" ")
    if space >= len(cut) * 2 // 3:
        cut = cut[:space]
    return cut.rstrip() + "…"


def write_sav(export: Export, path: str, *, chunk_size: int = CHUNK_SIZE) -> None:
    """pyreadstat writes from a DataFrame, so the numeric frame is built
    chunk by chunk (numbers only: a few bytes per cell) and written once."""
    import pyreadstat

    variables = export.variables
    code_maps = {
        j: {x.code: float(x.number) for x in v.values}
        for j, v in enumerate(variables)
        if v.kind == "code"
    }
    columns: list[list[np.ndarray]] = [[] for _ in variables]
    for chunk in iter_chunks(export.survey, variables, export.weighting, chunk_size=chunk_size):
        for j, v in enumerate(variables):
            col = chunk[:, j]
            if j in code_maps:
                # Numbered once per distinct code; -1 (no answer) takes the
                # last number, NaN.
                which, distinct = pd.factorize(col)
                mapping = code_maps[j]
                numbers = np.array([*(mapping.get(x, np.nan) for x in distinct), np.nan])
                columns[j].append(numbers[which])
            elif v.kind in ("flag", "rank", "number", "weight"):
                # Ints and floats, None for no answer: NaN.
                columns[j].append(np.array(col, dtype=np.float64))
            else:
                columns[j].append(
                    np.array(["" if x is None else str(x) for x in col], dtype=object)
                )
    data = {}
    for j, v in enumerate(variables):
        parts = columns[j]
        if parts:
            data[v.name] = np.concatenate(parts)
        else:
            data[v.name] = np.array(
                [], dtype=object if v.kind in ("text", "meta", "date") else np.float64
            )
    frame = pd.DataFrame(data)
    for v in variables:
        if v.kind in ("text", "meta", "date"):
            frame[v.name] = frame[v.name].astype(object)
    value_labels: dict[str, dict[float, str]] = {}
    missing_ranges: dict[str, list[Any]] = {}
    formats: dict[str, str] = {}
    measures: dict[str, str] = {}
    for v in variables:
        measures[v.name] = v.measure
        if v.kind == "code":
            value_labels[v.name] = {
                float(x.number): fit_bytes(x.label, VALUE_LABEL_BYTES) for x in v.values
            }
            if v.missing_numbers:
                missing_ranges[v.name] = [SPSS_MISSING_RANGE]
            formats[v.name] = "F3.0" if not v.missing_numbers else "F4.0"
        elif v.kind == "flag":
            value_labels[v.name] = {0.0: "Not chosen", 1.0: "Chosen"}
            formats[v.name] = "F1.0"
        elif v.kind == "rank":
            formats[v.name] = "F3.0"
        elif v.kind == "weight":
            formats[v.name] = "F12.8"
        elif v.kind == "number":
            formats[v.name] = "F10.2"
    pyreadstat.write_sav(
        frame,
        path,
        file_label=f"{export.survey.slug} ({export.weighting.describe()})"[:64],
        column_labels={v.name: fit_bytes(v.label, VARIABLE_LABEL_BYTES) for v in variables},
        variable_value_labels=value_labels,
        missing_ranges=missing_ranges,
        variable_format=formats,
        variable_measure=measures,
        # SPSS keeps documents as lines of at most 80 bytes.
        note=[
            line
            for name, value in export.about()
            for line in textwrap.wrap(f"{name}: {value}", 80)
            if len(line.encode("utf-8")) <= 80
        ],
    )
