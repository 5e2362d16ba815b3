"""Excel: a small streaming .xlsx writer and the workbook."""

from __future__ import annotations

import math
import zipfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any
from xml.sax.saxutils import escape as xml_escape

import numpy as np
import pandas as pd

from ..frames import CHUNK_SIZE
from .aggregates import aggregate_sheets
from .common import FORMULA_STARTS
from .csv import LABEL_COLUMNS, label_rows
from .request import Export
from .rows import iter_chunks

# --------------------------------------------------------------------------- #
# Excel: a small streaming writer. openpyxl's write-only mode took about a
# minute for 100,000 x 45 cells on the project's machines; writing the sheet
# XML directly takes a few seconds and keeps memory flat.
# --------------------------------------------------------------------------- #

_ILLEGAL_XML = dict.fromkeys([*range(0, 9), 11, 12, *range(14, 32)])


def _objects(values: Sequence[Any]) -> np.ndarray:
    array = np.empty(len(values), dtype=object)
    array[:] = values
    return array


def _xml_text(value: str) -> str:
    return xml_escape(value.translate(_ILLEGAL_XML))


class XlsxWriter:
    """Writes sheets one row at a time into a zip file; strings are shared."""

    def __init__(self, path_or_file: Any) -> None:
        self.zip = zipfile.ZipFile(path_or_file, "w", zipfile.ZIP_DEFLATED, compresslevel=1)
        self.sheets: list[str] = []
        self.strings: dict[str, int] = {}

    def _string(self, value: str) -> int:
        index = self.strings.get(value)
        if index is None:
            index = self.strings[value] = len(self.strings)
        return index

    def _cell(self, value: Any) -> str:
        if value is None:
            return "<c/>"
        if isinstance(value, bool):
            return f'<c t="b"><v>{int(value)}</v></c>'
        if isinstance(value, int | np.integer):
            return f"<c><v>{int(value)}</v></c>"
        if isinstance(value, float | np.floating):
            if not math.isfinite(value):
                return "<c/>"
            return f"<c><v>{float(value)!r}</v></c>"
        text = str(value)
        if text.startswith(FORMULA_STARTS):
            # A resident's "=…", "+…", "-…" or "@…" as an inline string: a
            # text cell no spreadsheet evaluates, shown exactly as written
            # (an apostrophe prefix, as in the CSV, would show in the cell).
            return f'<c t="inlineStr"><is><t xml:space="preserve">{_xml_text(text)}</t></is></c>'
        return f'<c t="s"><v>{self._string(text)}</v></c>'

    def sheet(
        self,
        name: str,
        rows: Iterator[Sequence[Any]] | Sequence[Sequence[Any]],
        *,
        header_rows: int = 1,
        chunks: Iterable[np.ndarray] = (),
        text_columns: Sequence[int] = (),
    ) -> None:
        """`rows`, then the rows of `chunks` (arrays of rows whose columns
        `text_columns` hold the strings)."""
        self.sheets.append(name)
        number = len(self.sheets)
        with self.zip.open(f"xl/worksheets/sheet{number}.xml", "w") as f:
            f.write(
                b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
                b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
            )
            if header_rows:
                f.write(
                    f'<sheetViews><sheetView workbookViewId="0"><pane ySplit="{header_rows}" '
                    f'topLeftCell="A{header_rows + 1}" activePane="bottomLeft" state="frozen"/>'
                    "</sheetView></sheetViews>".encode()
                )
            f.write(b"<sheetData>")
            buffer: list[str] = []
            cell = self._cell
            for i, row in enumerate(rows):
                style = ' s="1"' if i < header_rows else ""
                if style:
                    cells = "".join(cell(v).replace("<c", '<c s="1"', 1) for v in row)
                else:
                    cells = "".join([cell(v) for v in row])
                buffer.append(f"<row>{cells}</row>")
                if len(buffer) >= 500:
                    f.write("".join(buffer).encode("utf-8"))
                    buffer.clear()
            f.write("".join(buffer).encode("utf-8"))
            for chunk in chunks:
                f.write(self._chunk_rows(chunk, text_columns).encode("utf-8"))
            f.write(b"</sheetData></worksheet>")

    def _chunk_rows(self, chunk: np.ndarray, text_columns: Sequence[int]) -> str:
        """A chunk's rows, every cell as `_cell` writes it, worked out once per
        distinct value of a column: a call per cell (9 million in a large
        survey) was most of an export's time. Shared strings are numbered in
        the order the cells come, row by row, as `_cell` numbers them, so the
        text columns are taken together, row by row."""
        n = len(chunk)
        others = [j for j in range(chunk.shape[1]) if j not in set(text_columns)]
        found = [pd.factorize(chunk[:, j]) for j in others]
        texts = pd.factorize(chunk[:, list(text_columns)].ravel())
        kinds = [{type(v) for v in distinct} for _, distinct in found]
        if any(len(k) > 1 or str in k for k in kinds) or {type(v) for v in texts[1]} - {str}:
            # Mixed types in a column (1 and 1.0 are one value to factorize)
            # or a string outside the text columns: cell by cell.
            return "".join(
                f"<row>{''.join([self._cell(v) for v in row])}</row>" for row in chunk.tolist()
            )
        columns: list[list[str]] = [[] for _ in range(chunk.shape[1])]
        # A code of -1 (None, NaN) picks the last fragment, an empty cell.
        which, distinct = texts
        fragments = _objects([*map(self._cell, distinct), "<c/>"])
        block = fragments[which].reshape(n, len(text_columns))
        for k, j in enumerate(text_columns):
            columns[j] = block[:, k].tolist()
        for j, (which, distinct), types in zip(others, found, kinds, strict=True):
            if float in types:
                # Weights are all different, and 0.0 and -0.0 are one value
                # to factorize but not to a spreadsheet.
                columns[j] = [self._cell(v) for v in chunk[:, j].tolist()]
            else:
                columns[j] = _objects([*map(self._cell, distinct), "<c/>"])[which].tolist()
        return "".join([f"<row>{''.join(cells)}</row>" for cells in zip(*columns, strict=True)])

    def close(self) -> None:
        z = self.zip
        sheets = "".join(
            f'<sheet name="{_xml_text(name[:31])}" sheetId="{i}" r:id="rId{i}"/>'
            for i, name in enumerate(self.sheets, start=1)
        )
        n = len(self.sheets)
        z.writestr(
            "[Content_Types].xml",
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
            '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
            + "".join(
                f'<Override PartName="/xl/worksheets/sheet{i}.xml" '
                'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
                for i in range(1, n + 1)
            )
            + '<Override PartName="/xl/styles.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>'
            '<Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/>'
            "</Types>",
        )
        z.writestr(
            "_rels/.rels",
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
            '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/>'
            "</Relationships>",
        )
        z.writestr(
            "xl/workbook.xml",
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
            '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
            'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
            f"<sheets>{sheets}</sheets></workbook>",
        )
        z.writestr(
            "xl/_rels/workbook.xml.rels",
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
            '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            + "".join(
                f'<Relationship Id="rId{i}" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet{i}.xml"/>'
                for i in range(1, n + 1)
            )
            + f'<Relationship Id="rId{n + 1}" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles" Target="styles.xml"/>'
            f'<Relationship Id="rId{n + 2}" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings" Target="sharedStrings.xml"/>'
            "</Relationships>",
        )
        z.writestr(
            "xl/styles.xml",
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
            '<styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
            '<fonts count="2"><font><sz val="11"/><name val="Calibri"/></font>'
            '<font><b/><sz val="11"/><name val="Calibri"/></font></fonts>'
            '<fills count="2"><fill><patternFill patternType="none"/></fill>'
            '<fill><patternFill patternType="gray125"/></fill></fills>'
            '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
            '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
            '<cellXfs count="2"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
            '<xf numFmtId="0" fontId="1" fillId="0" borderId="0" xfId="0" applyFont="1"/></cellXfs>'
            '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>'
            "</styleSheet>",
        )
        with z.open("xl/sharedStrings.xml", "w") as f:
            f.write(
                f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
                f'<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
                f'count="{len(self.strings)}" uniqueCount="{len(self.strings)}">'.encode()
            )
            buffer = []
            for text in self.strings:
                space = ' xml:space="preserve"' if text[:1].isspace() or text[-1:].isspace() else ""
                buffer.append(f"<si><t{space}>{_xml_text(text)}</t></si>")
                if len(buffer) >= 1000:
                    f.write("".join(buffer).encode("utf-8"))
                    buffer.clear()
            f.write("".join(buffer).encode("utf-8"))
            f.write(b"</sst>")
        z.close()


def write_xlsx(
    export: Export,
    path_or_file: Any,
    *,
    chunk_size: int = CHUNK_SIZE,
    aggregates: Callable[[Export], dict[str, list[list[Any]]]] | None = None,
) -> None:
    sheets = (aggregates or aggregate_sheets)(export)
    writer = XlsxWriter(path_or_file)
    writer.sheet("About", [["Item", "Value"], *[[k, v] for k, v in export.about()]])
    if export.raw:
        writer.sheet(
            "Responses",
            [[v.name for v in export.variables], [v.label for v in export.variables]],
            header_rows=2,
            chunks=iter_chunks(
                export.survey, export.variables, export.weighting, chunk_size=chunk_size
            ),
            text_columns=[
                j
                for j, v in enumerate(export.variables)
                if v.kind in ("code", "text", "meta", "date")
            ],
        )
    writer.sheet("Labels", [LABEL_COLUMNS, *label_rows(export, escape=False)])
    for name in ("Representation", "Weighted results", "Priorities"):
        writer.sheet(name, sheets.get(name) or [["Nothing to show"]])
    writer.close()
