"""The one reader for uploaded spreadsheets (.xlsx): translation imports and
XLSForm imports both come through here.

An .xlsx file is a zip of XML parts, and a small one can describe an
enormous sheet. openpyxl trusts the sheet's declared `<dimension>` and pads
every row out to it, and lists every row before anyone can count them: a
1.5 KB file declaring A1:XFD1048576 asks for about 137 GB. So this reader
never looks at the declared dimension. It streams the sheet's XML through a
hardened SAX parser (defusedxml: no DTD, no entities), keeps only cells that
hold a value, and stops at the first cell past the row or column limit.

The zip itself is checked twice: the sizes its central directory declares
(each part and the total) before anything is decompressed, and the bytes
actually produced while decompressing, because those headers are written by
whoever made the file and can lie. Memory therefore stays bounded by the
limits, whatever the file says about itself."""

from __future__ import annotations

import codecs
import io
import posixpath
import re
import zipfile
import zlib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import IO, Any
from xml.sax import SAXException
from xml.sax.handler import ContentHandler

from defusedxml import DefusedXmlException
from defusedxml.expatreader import DefusedExpatParser

from . import ServiceError
from .safexml import WHOLE_DECLARATION, XMLFileError, detect_encoding

# Limits. An exported translation file of 20,000 texts in eight languages is
# about 10 MB of XML; these leave room for that and nothing like a bomb.
MAX_MEMBERS = 1000
MAX_MEMBER_BYTES = 32 * 1024 * 1024
MAX_TOTAL_BYTES = 64 * 1024 * 1024
MAX_COLUMNS = 200
MAX_CELLS = 500_000
MAX_SHARED_STRINGS = 500_000
MAX_CELL_CHARACTERS = 32_767  # Excel's own limit for one cell
# A full translation file (20,000 rows of a dozen cells) has about 750,000;
# a million empty ones take the parser a second or two.
MAX_ELEMENTS = 1_000_000
CHUNK = 64 * 1024

NOT_A_WORKBOOK = "the file is not an Excel workbook (.xlsx)"
DAMAGED = "the workbook is damaged and cannot be read: open it in Excel and save it again"
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
CELL_REFERENCE = re.compile(r"^([A-Za-z]{1,7})([0-9]{1,9})$")


class SpreadsheetError(ServiceError):
    """An uploaded spreadsheet that is refused; `problems` say why, in words
    the officer can act on."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("The file cannot be read; nothing was saved")
        self.problems = problems


@dataclass
class Workbook:
    """The sheets asked for, by lower-case name: rows of cell values (str,
    int, float or bool; None for an empty cell), blank rows kept in place so
    row numbers match the spreadsheet, trailing blank rows and cells left out."""

    sheet_names: list[str]
    sheets: dict[str, list[list[Any]]] = field(default_factory=dict)


@dataclass
class _Budget:
    """Bytes decompressed so far across the whole file."""

    total: int = 0


class _Limited(io.RawIOBase):
    """A zip member's bytes, counted as they are decompressed: more than the
    member declared, or than the limits allow, stops the read."""

    def __init__(self, raw: IO[bytes], name: str, declared: int, budget: _Budget) -> None:
        self._raw = raw
        self._name = name
        self._allowed = min(declared, MAX_MEMBER_BYTES)
        self._read = 0
        self._budget = budget

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        data = self._raw.read(CHUNK if size is None or size < 0 else min(size, CHUNK))
        self._read += len(data)
        self._budget.total += len(data)
        if self._read > self._allowed or self._budget.total > MAX_TOTAL_BYTES:
            raise SpreadsheetError([_too_big()])
        return data


def _too_big() -> str:
    return (
        f"the workbook unpacks to more than {MAX_MEMBER_BYTES // (1024 * 1024)} MB in one part "
        f"or {MAX_TOTAL_BYTES // (1024 * 1024)} MB in all, which no questionnaire or "
        "translation file needs: it is refused"
    )


def _column_number(letters: str) -> int:
    number = 0
    for letter in letters.upper():
        number = number * 26 + ord(letter) - 64
    return number


def _number(text: str) -> Any:
    text = text.strip()
    if re.fullmatch(r"[-+]?[0-9]{1,15}", text):
        return int(text)
    try:
        value = float(text)
    except ValueError:
        return text
    return int(value) if value.is_integer() and abs(value) < 1e15 else value


class _Text:
    """Collects the characters of one element, refusing a text longer than a cell can hold."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.length = 0

    def add(self, content: str) -> None:
        self.length += len(content)
        if self.length > MAX_CELL_CHARACTERS:
            raise SpreadsheetError(
                [f"a cell holds more than {MAX_CELL_CHARACTERS:,} characters, Excel's own limit"]
            )
        self.parts.append(content)

    def value(self) -> str:
        return "".join(self.parts)


class _Handler(ContentHandler):
    """SAX handler that sees element and attribute names without their
    prefix, and stops a part made of millions of empty elements (they hold
    no value, so the row and cell limits never see them).

    Namespace processing is left off: it triples the parser's cost per
    element, and the names in these parts are unambiguous without it."""

    elements = 0

    def startElement(self, name: str, attrs: Any) -> None:
        self.elements += 1
        if self.elements > MAX_ELEMENTS:
            raise SpreadsheetError(
                [f"a part of the workbook has more than {MAX_ELEMENTS:,} XML elements"]
            )
        self.start(name.rpartition(":")[2] if ":" in name else name, attrs)

    def endElement(self, name: str) -> None:
        self.end(name.rpartition(":")[2] if ":" in name else name)

    def start(self, name: str, attrs: Any) -> None:
        pass

    def end(self, name: str) -> None:
        pass


class _ListHandler(_Handler):
    """Attributes of every element with a given local name (sheets, relationships)."""

    def __init__(self, wanted: str) -> None:
        self.wanted = wanted
        self.found: list[dict[str, str]] = []

    def start(self, name: str, attrs: Any) -> None:
        if name == self.wanted and len(self.found) < MAX_MEMBERS:
            self.found.append({key.rpartition(":")[2]: value for key, value in attrs.items()})


class _SharedStrings(_Handler):
    def __init__(self) -> None:
        self.strings: list[str] = []
        self.text: _Text | None = None
        self.in_t = False
        self.phonetic = 0

    def start(self, name: str, attrs: Any) -> None:
        if name == "si":
            if len(self.strings) >= MAX_SHARED_STRINGS:
                raise SpreadsheetError(
                    [f"the workbook has more than {MAX_SHARED_STRINGS:,} different texts"]
                )
            self.text = _Text()
        elif name == "rPh":
            self.phonetic += 1  # reading aids for East Asian text, not the text itself
        elif name == "t":
            self.in_t = True

    def end(self, name: str) -> None:
        if name == "si" and self.text is not None:
            self.strings.append(self.text.value())
            self.text = None
        elif name == "rPh":
            self.phonetic -= 1
        elif name == "t":
            self.in_t = False

    def characters(self, content: str) -> None:
        if self.in_t and self.text is not None and not self.phonetic:
            self.text.add(content)


class _SheetRows(_Handler):
    def __init__(
        self, sheet: str, shared: list[str], max_rows: int, max_columns: int, cells: list[int]
    ) -> None:
        self.sheet = sheet
        self.shared = shared
        self.max_rows = max_rows
        self.max_columns = max_columns
        self.cells = cells  # one counter shared by every sheet read from the file
        self.rows: list[list[Any]] = []
        self.row = 0
        self.column = 0
        self.cell_type = "n"
        self.text: _Text | None = None
        self.in_inline = False
        self.collecting = False  # inside a <v>, or a <t> of an inline string
        self.phonetic = 0

    def _position(self, reference: str | None) -> tuple[int, int]:
        if reference:
            match = CELL_REFERENCE.match(reference)
            if match is None:
                raise SpreadsheetError([DAMAGED])
            return int(match.group(2)), _column_number(match.group(1))
        return self.row, self.column + 1

    def start(self, name: str, attrs: Any) -> None:
        if name == "row":
            number = attrs.get("r")
            if number is None:
                self.row += 1
            elif number.isdigit() and len(number) <= 9:
                self.row = int(number)
            else:
                raise SpreadsheetError([DAMAGED])
            self.column = 0
        elif name == "c":
            self.row, self.column = self._position(attrs.get("r"))
            self.cell_type = attrs.get("t", "n")
            self.text = None
        elif name == "v" or (name == "t" and self.in_inline and not self.phonetic):
            self.text = self.text or _Text()
            self.collecting = True
        elif name == "is":
            self.in_inline = True
        elif name == "rPh":
            self.phonetic += 1  # reading aids for East Asian text, not the text itself

    def characters(self, content: str) -> None:
        if self.collecting and self.text is not None:
            self.text.add(content)

    def end(self, name: str) -> None:
        if name in ("v", "t"):
            self.collecting = False
        elif name == "rPh":
            self.phonetic -= 1
        elif name == "is":
            self.in_inline = False
        elif name == "c":
            if self.text is not None:
                self._store(self.text.value())
            self.text = None

    def _store(self, raw: str) -> None:
        kind = self.cell_type
        value: Any
        if kind == "s":
            index = int(raw) if raw.strip().isdigit() and len(raw.strip()) <= 9 else -1
            if not 0 <= index < len(self.shared):
                raise SpreadsheetError([DAMAGED])
            value = self.shared[index]
        elif kind == "b":
            value = raw.strip() == "1"
        elif kind in ("str", "inlineStr", "e", "d"):
            value = raw
        else:
            value = _number(raw)
        if value is None or value == "":
            return
        # Only cells with a value count: Excel writes empty formatted cells
        # far to the right and below, and those must not trip the limits.
        if self.row > self.max_rows:
            raise SpreadsheetError(
                [f"the sheet “{self.sheet}” has more than {self.max_rows:,} rows"]
            )
        if self.column > self.max_columns:
            raise SpreadsheetError(
                [f"the sheet “{self.sheet}” has more than {self.max_columns:,} columns"]
            )
        if self.row < 1 or self.column < 1:
            raise SpreadsheetError([DAMAGED])
        self.cells[0] += 1
        if self.cells[0] > MAX_CELLS:
            raise SpreadsheetError([f"the workbook has more than {MAX_CELLS:,} filled cells"])
        while len(self.rows) < self.row:
            self.rows.append([])
        cells = self.rows[self.row - 1]
        if len(cells) < self.column:
            cells.extend([None] * (self.column - len(cells)))
        cells[self.column - 1] = value


class _Reader:
    def __init__(self, content: bytes) -> None:
        if content.startswith(OLE_MAGIC):
            raise SpreadsheetError(
                [
                    "the file is an old Excel 97–2003 workbook (.xls) or has a password: "
                    "save it as an Excel workbook (.xlsx) without a password"
                ]
            )
        try:
            self.zip = zipfile.ZipFile(io.BytesIO(content))
            members = self.zip.infolist()
        except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError):
            raise SpreadsheetError([NOT_A_WORKBOOK]) from None
        # The central directory first: refuse before decompressing anything.
        if len(members) > MAX_MEMBERS:
            raise SpreadsheetError([f"the workbook has more than {MAX_MEMBERS} parts"])
        if any(m.file_size > MAX_MEMBER_BYTES for m in members) or (
            sum(m.file_size for m in members) > MAX_TOTAL_BYTES
        ):
            raise SpreadsheetError([_too_big()])
        self.members = {m.filename: m for m in members}
        self.budget = _Budget()

    def parse(self, path: str, handler: ContentHandler) -> None:
        info = self.members.get(path)
        if info is None:
            raise SpreadsheetError([NOT_A_WORKBOOK])
        parser = DefusedExpatParser(forbid_dtd=True, forbid_entities=True, forbid_external=True)
        parser.setContentHandler(handler)
        with self.zip.open(info) as raw:
            stream = _Limited(raw, path, info.file_size, self.budget)
            for chunk in _utf8_chunks(stream):
                parser.feed(chunk)
        parser.close()

    def part(self, path: str) -> bool:
        return path in self.members


def _utf8_chunks(stream: _Limited) -> Iterator[bytes]:
    """The part's XML as UTF-8, whatever Unicode encoding it was saved in
    (the declaration is dropped once honoured, so expat reads UTF-8)."""
    first = stream.read(CHUNK)
    encoding, skip = detect_encoding(first[:256])
    if encoding == "utf-8":
        yield first[skip:]
        while chunk := stream.read(CHUNK):
            yield chunk
        return
    decoder = codecs.getincrementaldecoder(encoding)()
    text = WHOLE_DECLARATION.sub("", decoder.decode(first[skip:]), count=1)
    yield text.encode("utf-8")
    while chunk := stream.read(CHUNK):
        yield decoder.decode(chunk).encode("utf-8")
    yield decoder.decode(b"", final=True).encode("utf-8")


def _target(base: str, target: str) -> str:
    if target.startswith("/"):
        return target.lstrip("/")
    return posixpath.normpath(posixpath.join(posixpath.dirname(base), target))


def _rels_path(part: str) -> str:
    directory, name = posixpath.split(part)
    return posixpath.join(directory, "_rels", f"{name}.rels")


def read_xlsx(
    content: bytes,
    wanted: Sequence[str],
    *,
    max_rows: int | Mapping[str, int],
    max_columns: int = MAX_COLUMNS,
    one_of: bool = False,
) -> Workbook:
    """Read the sheets named in `wanted` (case-insensitive) that exist; with
    `one_of`, only the first of them that exists, else the first sheet. `max_rows` is the
    most rows (header included) a sheet may have, one figure or per sheet.
    Raises SpreadsheetError, with a message fit for the officer, for any
    file that is not a readable workbook or is over a limit."""
    try:
        return _read(content, wanted, max_rows, max_columns, one_of)
    except (SpreadsheetError, MemoryError):
        raise
    except XMLFileError as error:
        raise SpreadsheetError(error.problems) from None
    except DefusedXmlException:
        raise SpreadsheetError(
            ["the workbook contains an XML <!DOCTYPE> or entity, which is refused for safety"]
        ) from None
    except (
        SAXException,
        zipfile.BadZipFile,
        zlib.error,
        EOFError,
        OSError,
        ValueError,
        KeyError,
        NotImplementedError,  # zipfile: a compression method it cannot unpack
        RuntimeError,  # an encrypted member
        UnicodeError,
    ):
        raise SpreadsheetError([DAMAGED]) from None


def _read(
    content: bytes,
    wanted: Sequence[str],
    max_rows: int | Mapping[str, int],
    max_columns: int,
    one_of: bool,
) -> Workbook:
    reader = _Reader(content)
    # The workbook part is named by the package's relationships; almost
    # always xl/workbook.xml.
    workbook_path = "xl/workbook.xml"
    if reader.part("_rels/.rels"):
        package = _ListHandler("Relationship")
        reader.parse("_rels/.rels", package)
        for rel in package.found:
            if rel.get("Type", "").endswith("/officeDocument"):
                workbook_path = _target("", rel.get("Target", ""))
    if not reader.part(workbook_path):
        raise SpreadsheetError([NOT_A_WORKBOOK])
    sheets = _ListHandler("sheet")
    reader.parse(workbook_path, sheets)
    rels = _ListHandler("Relationship")
    if reader.part(_rels_path(workbook_path)):
        reader.parse(_rels_path(workbook_path), rels)
    targets = {r.get("Id", ""): _target(workbook_path, r.get("Target", "")) for r in rels.found}
    shared_path = next(
        (
            _target(workbook_path, r.get("Target", ""))
            for r in rels.found
            if r.get("Type", "").endswith("/sharedStrings")
        ),
        "xl/sharedStrings.xml",
    )
    names = [s.get("name", "") for s in sheets.found]
    paths = {s.get("name", "").lower(): targets.get(s.get("id", "")) for s in sheets.found}
    if not names:
        raise SpreadsheetError(["the workbook has no sheets"])
    chosen = [n.lower() for n in wanted if n.lower() in paths]
    if one_of:
        chosen = chosen[:1] or [names[0].lower()]
    shared: list[str] = []
    if chosen and reader.part(shared_path):
        strings = _SharedStrings()
        reader.parse(shared_path, strings)
        shared = strings.strings
    book = Workbook(sheet_names=names)
    cells = [0]
    for name in chosen:
        path = paths[name]
        if path is None or not reader.part(path):
            raise SpreadsheetError([DAMAGED])
        limit = (
            max_rows if isinstance(max_rows, int) else max_rows.get(name, max(max_rows.values()))
        )
        original = next(n for n in names if n.lower() == name)
        handler = _SheetRows(original, shared, limit, max_columns, cells)
        reader.parse(path, handler)
        book.sheets[name] = handler.rows
    return book
