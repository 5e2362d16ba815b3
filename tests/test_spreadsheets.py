"""The safe spreadsheet reader (consult.services.spreadsheets): it reads real
workbooks as openpyxl does, and refuses the hostile files of issue 13 (a
dimension bomb, zip bombs with honest and lying headers, malformed zips,
DTDs inside the workbook) with a clear message and bounded memory."""

from __future__ import annotations

import io
import tracemalloc
import zipfile
from functools import cache

import pytest
from openpyxl import Workbook
from openpyxl.cell.rich_text import CellRichText, TextBlock
from openpyxl.cell.text import InlineFont

from bench.hostile_files import (
    SHEET_TAIL,
    dimension_bomb,
    malformed_zip,
    sheet_head,
    utf16_xliff_with_entity,
    xlsx,
    zip_bomb,
)
from consult.services import spreadsheets
from consult.services.spreadsheets import SpreadsheetError, read_xlsx

MB = 1024 * 1024


@cache
def bomb(lie: bool) -> bytes:
    return zip_bomb(lie=lie)


def saved(workbook: Workbook) -> bytes:
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def refused(content: bytes, **kwargs) -> list[str]:
    kwargs.setdefault("max_rows", 1000)
    with pytest.raises(SpreadsheetError) as caught:
        read_xlsx(content, ("translations",), one_of=True, **kwargs)
    assert caught.value.message == "The file cannot be read; nothing was saved"
    return caught.value.problems


def test_reads_what_excel_and_openpyxl_write():
    book = Workbook()
    sheet = book.active
    sheet.title = "Survey"
    sheet.append(["type", "name", "label::Urdu (ur)", "weight"])
    sheet.append(["text", "q1", "آپ کی عمر؟", 1.5])
    sheet.append([])  # a blank row stays in place: messages name spreadsheet rows
    sheet.append(["integer", 7, True, None, "=1+1"])
    sheet["B6"] = CellRichText("rich ", TextBlock(InlineFont(b=True), "text"))
    # A formatted but empty cell far away, as Excel leaves after formatting a
    # column: it holds no value and must not count against the limits.
    sheet["ZZ900"].number_format = "0.00"
    choices = book.create_sheet("choices")
    choices.append(["list_name", "name"])
    content = saved(book)
    read = read_xlsx(content, ("survey", "choices", "settings"), max_rows=10, max_columns=5)
    assert read.sheet_names == ["Survey", "choices"]
    assert read.sheets["survey"] == [
        ["type", "name", "label::Urdu (ur)", "weight"],
        ["text", "q1", "آپ کی عمر؟", 1.5],
        [],
        # A formula is read by its saved value, as openpyxl's data_only does;
        # this one was never calculated, so it has none.
        ["integer", 7, True],
        [],
        [None, "rich text"],
    ]
    assert read.sheets["choices"] == [["list_name", "name"]]
    # One of several names, else the first sheet.
    assert list(read_xlsx(content, ("missing",), max_rows=10, one_of=True).sheets) == ["survey"]
    assert list(read_xlsx(content, ("choices", "survey"), max_rows=10, one_of=True).sheets) == [
        "choices"
    ]


def test_the_dimension_bomb_is_refused_at_its_one_far_cell():
    content = dimension_bomb()
    assert len(content) < 2000
    tracemalloc.start()
    problems = refused(content, max_rows=20_001)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert problems == ["the sheet “translations” has more than 20,001 rows"]
    assert peak < 5 * MB, f"peak {peak / MB:.1f} MB for one cell"


def test_a_huge_declared_dimension_over_a_small_sheet_is_simply_read():
    content = dimension_bomb(corner=False)
    tracemalloc.start()
    read = read_xlsx(content, ("translations",), max_rows=20_001, one_of=True)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert read.sheets == {"translations": [["key"]]}
    assert peak < 5 * MB, f"peak {peak / MB:.1f} MB for one cell"


def test_a_zip_bomb_is_refused_from_its_central_directory():
    content = bomb(lie=False)
    assert 1_800_000 < len(content) < 5 * MB  # under the upload cap
    tracemalloc.start()
    problems = refused(content)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert problems == [
        "the workbook unpacks to more than 32 MB in one part or 64 MB in all, which no "
        "questionnaire or translation file needs: it is refused"
    ]
    assert peak < 5 * MB


def test_a_zip_bomb_with_lying_headers_stops_at_the_row_limit():
    content = bomb(lie=True)
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        declared = sum(info.file_size for info in archive.infolist())
    assert declared < spreadsheets.MAX_TOTAL_BYTES  # the headers pass the first check
    tracemalloc.start()
    problems = refused(content, max_rows=20_001)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert problems == ["the sheet “translations” has more than 20,001 rows"]
    assert peak < 50 * MB, f"peak {peak / MB:.1f} MB"


def test_bytes_are_counted_while_decompressing_whatever_the_header_says():
    budget = spreadsheets._Budget()
    stream = spreadsheets._Limited(io.BytesIO(b"x" * 5000), "part.xml", 1000, budget)
    with pytest.raises(SpreadsheetError) as caught:
        while stream.read(600):
            pass
    assert "unpacks to more than" in caught.value.problems[0]
    # And across parts: the total is counted too.
    budget = spreadsheets._Budget(total=spreadsheets.MAX_TOTAL_BYTES - 10)
    stream = spreadsheets._Limited(io.BytesIO(b"x" * 100), "other.xml", 100, budget)
    with pytest.raises(SpreadsheetError):
        stream.read()


def test_a_member_longer_than_its_header_says_is_damaged():
    # Lying small: zipfile stops at the declared size and the checksum fails.
    content = bytearray(xlsx(sheet_head() + "<row><c><v>1</v></c></row>" * 500 + SHEET_TAIL))
    from bench.hostile_files import _claim_small

    lying = _claim_small(bytes(content), "xl/worksheets/sheet1.xml", claimed=200)
    assert refused(lying) == [spreadsheets.DAMAGED]


def test_rows_and_columns_stop_one_past_the_limit():
    rows = "".join(f'<row r="{n}"><c r="A{n}"><v>{n}</v></c></row>' for n in range(1, 12))
    assert refused(xlsx(sheet_head() + rows + SHEET_TAIL), max_rows=10) == [
        "the sheet “translations” has more than 10 rows"
    ]
    ok = read_xlsx(xlsx(sheet_head() + rows + SHEET_TAIL), ("translations",), max_rows=11)
    assert len(ok.sheets["translations"]) == 11
    wide = '<row r="1"><c r="F1"><v>1</v></c></row>'
    assert refused(xlsx(sheet_head() + wide + SHEET_TAIL), max_columns=5) == [
        "the sheet “translations” has more than 5 columns"
    ]
    # One cell at the bottom of the largest sheet: refused, never padded to.
    far = '<row r="1048576"><c r="XFD1048576"><v>1</v></c></row>'
    assert refused(xlsx(sheet_head("A1:XFD1048576") + far + SHEET_TAIL)) == [
        "the sheet “translations” has more than 1,000 rows"
    ]


def test_millions_of_empty_elements_are_refused():
    empty = '<row r="1">' + "<c/>" * (spreadsheets.MAX_ELEMENTS + 10) + "</row>"
    assert refused(xlsx(sheet_head() + empty + SHEET_TAIL)) == [
        "a part of the workbook has more than 1,000,000 XML elements"
    ]


def test_a_cell_longer_than_excel_allows_is_refused():
    long = f'<row><c t="inlineStr"><is><t>{"x" * 40_000}</t></is></c></row>'
    assert refused(xlsx(sheet_head() + long + SHEET_TAIL)) == [
        "a cell holds more than 32,767 characters, Excel's own limit"
    ]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (malformed_zip(), "the file is not an Excel workbook (.xlsx)"),
        (b"junk", "the file is not an Excel workbook (.xlsx)"),
        (utf16_xliff_with_entity(), "the file is not an Excel workbook (.xlsx)"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 600, "old Excel 97–2003 workbook"),
        (
            xlsx(sheet_head() + '<row><c t="s"><v>99</v></c></row>' + SHEET_TAIL),
            "the workbook is damaged",
        ),
        (xlsx(sheet_head() + "<row><c><v>1</v></c>"), "the workbook is damaged"),
        (xlsx(sheet_head() + '<row r="x"/>' + SHEET_TAIL), "the workbook is damaged"),
        (
            xlsx(
                '<?xml version="1.0"?><!DOCTYPE w [<!ENTITY e "PLANTED">]>'
                + sheet_head().split("?>", 1)[1]
                + '<row><c t="inlineStr"><is><t>&e;</t></is></c></row>'
                + SHEET_TAIL
            ),
            "the workbook contains an XML <!DOCTYPE> or entity, which is refused for safety",
        ),
    ],
    ids=[
        "malformed-zip",
        "not-a-zip",
        "xliff",
        "xls-or-password",
        "bad-index",
        "cut",
        "row",
        "dtd",
    ],
)
def test_malformed_files_get_one_clear_message(content, message):
    problems = refused(content)
    assert len(problems) == 1 and message in problems[0], problems


def test_a_sheet_saved_in_utf16_is_read():
    xml = sheet_head().replace('encoding="UTF-8"', 'encoding="UTF-16"')
    xml += '<row><c t="inlineStr"><is><t>ਪੰਜਾਬੀ</t></is></c></row>' + SHEET_TAIL
    for encoded in (xml.encode("utf-16"), xml.encode("utf-16-le")):
        read = read_xlsx(xlsx(encoded), ("translations",), max_rows=5)
        assert read.sheets["translations"] == [["ਪੰਜਾਬੀ"]]


def test_too_many_parts_are_refused(monkeypatch):
    monkeypatch.setattr(spreadsheets, "MAX_MEMBERS", 5)
    # Five parts, as the smallest workbook has: still read.
    assert read_xlsx(dimension_bomb(corner=False), ("translations",), max_rows=5).sheets
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for n in range(6):
            archive.writestr(f"part{n}.xml", "<x/>")
    assert refused(buffer.getvalue()) == ["the workbook has more than 5 parts"]


def test_only_values_are_read_not_formulas_or_reading_aids():
    xml = (
        sheet_head()
        + '<row r="1"><c r="A1"><f>SUM(B1:B2)</f><v>3</v></c>'
        + '<c r="B1" t="inlineStr"><is><r><t>東京</t></r><rPh sb="0" eb="2"><t>トウキョウ</t></rPh>'
        + "</is></c>"
        + '<c r="C1" t="str"><f>"a"&amp;"b"</f><v>ab</v></c></row>'
        + SHEET_TAIL
    )
    read = read_xlsx(xlsx(xml), ("translations",), max_rows=5)
    assert read.sheets["translations"] == [[3, "東京", "ab"]]
