"""Exports of a survey's responses: CSV, Excel, SPSS and JSON.

Every format carries the same columns (named by question key, holding codes,
see `consult.services.frames`), a `weight` column, and a statement of the
weighting scheme, so that rerunning the weighting reproduces the weights.
Labels come in any of the survey's languages; codes never change with the
language.

Formats:

* CSV: two files. `<slug>-responses.csv` (UTF-8 with a byte-order mark, so
  Excel opens non-Latin text correctly), one row per response, streamed
  chunk by chunk; and `<slug>-labels.csv`, the codebook: one row per
  variable and value, with the weighting scheme in the rows of `weight`.
* Excel: sheets About, Responses, Labels, Representation, Weighted results
  and Priorities. Viewers get the workbook without the Responses sheet.
* SPSS .sav: answer codes become numbers (1, 2, ... in the order the options
  are asked; "Prefer not to say" -9, "Don't know" -8, other non-answers -7
  upwards, declared user-missing), with variable and value labels, measure
  levels and integer formats. The Labels sheet/file lists code <-> number.
* JSON: `{"survey", "weighting", "variables", "responses": [...]}` streamed.

Raw rows (every format but the aggregate workbook) are for officers and
administrators only. Free text is left out once the survey's retention date
has passed, whoever asks.

One module per concern: `common` (formats, roles, formula escaping,
disclosure), `codebook`, `policy` (who may take what), `weighting` (which
weights an export carries), `rows` (chunks of rows), `request` (`Export`),
and one module per format: `csv`, `json`, `spss`, `excel`; `output` writes
any of them. Every public name is importable from here.
"""

from __future__ import annotations

from .. import ServiceError
from .codebook import Value, Variable, codebook
from .common import (
    FORMAT_NAMES,
    FORMATS,
    FORMULA_STARTS,
    MEDIA_TYPES,
    META,
    RAW_ROLES,
    SPECIAL_CATEGORY_ROLES,
    SPSS_MISSING_NUMBERS,
    SPSS_MISSING_RANGE,
    disclosure_min_cell,
    escape_cell,
)
from .csv import LABEL_COLUMNS, label_rows, labels_csv, stream_csv
from .excel import XlsxWriter, write_xlsx
from .json import stream_json
from .output import spooled, write_export
from .policy import Policy, may_export_raw, raw_policy
from .request import Export, prepare_export, record_export
from .rows import iter_chunks, select_variables
from .spss import fit_bytes, write_sav
from .weighting import (
    Weighting,
    rake_diagnostics,
    resolve_weighting,
    unweighted,
    weighting_from_results,
)

__all__ = [
    "FORMATS",
    "FORMAT_NAMES",
    "FORMULA_STARTS",
    "LABEL_COLUMNS",
    "MEDIA_TYPES",
    "META",
    "RAW_ROLES",
    "SPECIAL_CATEGORY_ROLES",
    "SPSS_MISSING_NUMBERS",
    "SPSS_MISSING_RANGE",
    "Export",
    "Policy",
    "ServiceError",
    "Value",
    "Variable",
    "Weighting",
    "XlsxWriter",
    "codebook",
    "disclosure_min_cell",
    "escape_cell",
    "fit_bytes",
    "iter_chunks",
    "label_rows",
    "labels_csv",
    "may_export_raw",
    "prepare_export",
    "rake_diagnostics",
    "raw_policy",
    "record_export",
    "resolve_weighting",
    "select_variables",
    "spooled",
    "stream_csv",
    "stream_json",
    "unweighted",
    "weighting_from_results",
    "write_export",
    "write_sav",
    "write_xlsx",
]
