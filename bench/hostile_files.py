"""Hostile upload files, built byte by byte, shared by the tests and
bench/bench_upload_bombs.py: the files the authorised hostile test used
(issue 13), so every one of them is re-run as a test.

* dimension_bomb: 1.5 KB; the sheet declares A1:XFD1048576 and holds one
  cell, in its last corner (openpyxl's read-only mode pads every row before
  it to the declared width: about 137 GB). `corner=False` puts the cell in A1
  instead: a huge declaration over a tiny sheet, which must simply be read.
* zip_bomb: about 1.9 MB, under the 5 MB upload cap; one sheet of rows that
  unpacks to about 560 MB (some 8 million rows). `lie=True` rewrites the
  zip's size fields to claim 30 MB, under the reader's cap, so the central
  directory passes and only the reading itself (bytes counted, rows
  stopped at the limit) protects the worker.
* utf16_xliff_with_entity: XLIFF in UTF-16LE without a byte-order mark
  declaring an internal entity, the DOCTYPE check bypass.
* malformed_zip: a zip's signature followed by garbage."""

from __future__ import annotations

import io
import struct
import zipfile

CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
    '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
    "</Types>"
)
PACKAGE_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/>'
    "</Relationships>"
)
WORKBOOK_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/>'
    "</Relationships>"
)
MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
RELS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"


def workbook_xml(sheet: str) -> str:
    return (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        f'<workbook xmlns="{MAIN}" xmlns:r="{RELS}"><sheets>'
        f'<sheet name="{sheet}" sheetId="1" r:id="rId1"/></sheets></workbook>'
    )


def sheet_head(dimension: str = "A1") -> str:
    return (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        f'<worksheet xmlns="{MAIN}" xmlns:r="{RELS}"><dimension ref="{dimension}"/><sheetData>'
    )


SHEET_TAIL = "</sheetData></worksheet>"


def xlsx(sheet_xml: str | bytes, sheet: str = "translations") -> bytes:
    """A minimal workbook with one sheet whose XML is given."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as book:
        book.writestr("[Content_Types].xml", CONTENT_TYPES)
        book.writestr("_rels/.rels", PACKAGE_RELS)
        book.writestr("xl/workbook.xml", workbook_xml(sheet))
        book.writestr("xl/_rels/workbook.xml.rels", WORKBOOK_RELS)
        book.writestr("xl/worksheets/sheet1.xml", sheet_xml)
    return buffer.getvalue()


def dimension_bomb(sheet: str = "translations", *, corner: bool = True) -> bytes:
    """One cell, declared as the largest sheet Excel allows."""
    cell = (
        '<row r="1048576"><c r="XFD1048576" t="inlineStr"><is><t>boom</t></is></c></row>'
        if corner
        else '<row r="1"><c r="A1" t="inlineStr"><is><t>key</t></is></c></row>'
    )
    return xlsx(sheet_head("A1:XFD1048576") + cell + SHEET_TAIL, sheet)


ROW = b'<row><c t="inlineStr"><is><t>boom</t></is></c><c><v>1</v></c></row>'


def zip_bomb(
    sheet: str = "translations", *, compressed: int = 1_900_000, lie: bool = False
) -> bytes:
    """A workbook of `compressed` bytes or so whose one sheet unpacks to
    about 300 times that: row after row, streamed into the zip so
    building it takes little memory."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as book:
        book.writestr("[Content_Types].xml", CONTENT_TYPES)
        book.writestr("_rels/.rels", PACKAGE_RELS)
        book.writestr("xl/workbook.xml", workbook_xml(sheet))
        book.writestr("xl/_rels/workbook.xml.rels", WORKBOOK_RELS)
        block = ROW * 20_000
        with book.open("xl/worksheets/sheet1.xml", "w") as part:
            part.write(sheet_head().encode())
            written = 0
            # Under 2 GiB unpacked, so the zip needs no ZIP64 extension.
            while buffer.tell() < compressed and written < 2_000_000_000:
                part.write(block)
                written += len(block)
            part.write(SHEET_TAIL.encode())
    content = buffer.getvalue()
    return _claim_small(content, "xl/worksheets/sheet1.xml") if lie else content


def _claim_small(content: bytes, name: str, claimed: int = 30_000_000) -> bytes:
    """Rewrite the member's uncompressed size, in its local header, its
    data descriptor and the central directory, to `claimed` bytes."""
    data = bytearray(content)
    encoded = name.encode()
    # Central directory entry: signature, then uncompressed size at offset 24.
    central = data.rfind(b"PK\x01\x02")
    while central != -1:
        name_length = struct.unpack_from("<H", data, central + 28)[0]
        if bytes(data[central + 46 : central + 46 + name_length]) == encoded:
            struct.pack_into("<I", data, central + 24, claimed)
            local = struct.unpack_from("<I", data, central + 42)[0]
            struct.pack_into("<I", data, local + 22, claimed)
            break
        central = data.rfind(b"PK\x01\x02", 0, central)
    return bytes(data)


def utf16_xliff_with_entity(source_language: str = "en", target_language: str = "ur") -> bytes:
    """An XLIFF file in UTF-16LE with no byte-order mark whose DTD declares
    an internal entity used as a target."""
    text = (
        '<?xml version="1.0" encoding="UTF-16"?>'
        '<!DOCTYPE xliff [<!ENTITY planted "PLANTED-BY-ENTITY">]>'
        f'<xliff xmlns="urn:oasis:names:tc:xliff:document:2.0" version="2.0" '
        f'srcLang="{source_language}" trgLang="{target_language}">'
        '<file id="f1"><unit id="survey.title"><segment state="translated">'
        "<source>x</source><target>&planted;</target></segment></unit></file></xliff>"
    )
    return text.encode("utf-16-le")


def malformed_zip() -> bytes:
    return b"PK\x03\x04" + bytes(range(256)) * 4


def compressed_ratio(content: bytes) -> float:
    """Uncompressed bytes declared per byte of file (for the bench's report)."""
    with zipfile.ZipFile(io.BytesIO(content)) as book:
        return sum(i.file_size for i in book.infolist()) / len(content)


__all__ = [
    "dimension_bomb",
    "malformed_zip",
    "utf16_xliff_with_entity",
    "xlsx",
    "zip_bomb",
]
