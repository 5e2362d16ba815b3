"""One entry point for the web and the command line."""

from __future__ import annotations

import os
import tempfile
from typing import Any

from .csv import stream_csv
from .excel import write_xlsx
from .json import stream_json
from .request import Export
from .spss import write_sav


def write_export(export: Export, out: Any) -> None:
    """Write a whole export to a binary file object."""
    if export.format == "csv":
        for part in stream_csv(export):
            out.write(part)
    elif export.format == "json":
        for part in stream_json(export):
            out.write(part)
    elif export.format == "xlsx":
        write_xlsx(export, out)
    else:
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "export.sav")
            write_sav(export, path)
            with open(path, "rb") as f:
                while block := f.read(1 << 20):
                    out.write(block)


def spooled(export: Export) -> tempfile.SpooledTemporaryFile[bytes]:
    """Excel and SPSS files are built whole (their formats need the end to
    write the start); built into a temporary file, then sent."""
    spool: tempfile.SpooledTemporaryFile[bytes] = tempfile.SpooledTemporaryFile(max_size=8 << 20)
    write_export(export, spool)
    spool.seek(0)
    return spool
