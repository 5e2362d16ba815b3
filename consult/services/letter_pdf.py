"""The letters' PDF machinery: each letter's own part (the address, the code
and the QR code) written straight into the PDF, and the mailing's PDF put
together from the shared typeset pages and those parts.

WeasyPrint typesets the pages every letter shares once per mailing
(`consult.services.letters`); what differs from letter to letter is two
lines of PDF text operators in Noto Sans (`LetterFont`, embedded once for
the whole file, cut down to the glyphs used) and the QR code as a one-bit
inline image (`QrCodes`). `assemble` draws the shared front page as one form
under each letter's part, so the fonts and typeset text are in the file once.
`Slots` is the page geometry both sides agree on."""

from __future__ import annotations

import io
import subprocess
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import segno

from ..models import SampleAddress
from . import ServiceError

MM = 72 / 25.4
PAGE_WIDTH, PAGE_HEIGHT = 210 * MM, 297 * MM
MAX_ADDRESS_LINES = 7
QR_MASK = 0


@dataclass(frozen=True)
class Slots:
    """Where each letter's own part goes on the front page, in millimetres
    from the top left: the address in a DL window envelope's window, the
    code and the QR code beside it. templates/letters/letter.html leaves
    these places empty."""

    address_left: float = 22
    address_top: float = 50
    right_left: float = 130
    code_label_top: float = 46
    code_baseline: float = 58
    qr_top: float = 62
    qr_size: float = 30


SLOTS = Slots()


# --- each letter's own part, written straight into the PDF --------------------------------


def _font_file(pattern: str, fallback: str) -> str:
    try:
        found = subprocess.run(
            ["fc-match", "-f", "%{file}", pattern], capture_output=True, text=True, timeout=10
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        found = ""
    return found if found and Path(found).suffix.lower() == ".ttf" else fallback


class LetterFont:
    """A TrueType face for the letters' own parts, written as glyph ids
    (Identity-H) and embedded once, cut down to the glyphs used."""

    def __init__(self, path: str) -> None:
        from fontTools.ttLib import TTFont

        self.path = path
        font = TTFont(path, lazy=True)
        order = font.getReverseGlyphMap()
        self.gid = {cp: order[name] for cp, name in font.getBestCmap().items()}
        scale = 1000 / font["head"].unitsPerEm
        metrics = font["hmtx"].metrics
        names = font.getGlyphOrder()
        self.width = [round(metrics[n][0] * scale) for n in names]
        self.name = font["name"].getDebugName(6) or Path(path).stem
        head, hhea = font["head"], font["hhea"]
        self.bbox = [round(v * scale) for v in (head.xMin, head.yMin, head.xMax, head.yMax)]
        self.ascent, self.descent = round(hhea.ascent * scale), round(hhea.descent * scale)
        self.cap_height = round(getattr(font["OS/2"], "sCapHeight", hhea.ascent) * scale)

    def glyphs(self, text: str) -> list[int]:
        """Glyph ids for `text`, or ServiceError for a character the face
        does not have (the letters never print a box for a letter)."""
        ids = []
        for char in unicodedata.normalize("NFC", text):
            gid = self.gid.get(ord(char))
            if gid is None:
                raise ServiceError(
                    f"An address has a character the letters cannot print "
                    f"(U+{ord(char):04X}): correct the address file and draw again"
                )
            ids.append(gid)
        return ids


@lru_cache(maxsize=1)
def letter_fonts() -> tuple[LetterFont, LetterFont]:
    regular = _font_file(
        "Noto Sans:style=Regular", "/usr/share/fonts/truetype/noto/NotoSans-Regular.ttf"
    )
    bold = _font_file("Noto Sans:style=Bold", "/usr/share/fonts/truetype/noto/NotoSans-Bold.ttf")
    return LetterFont(regular), LetterFont(bold)


def _text(font_name: str, size: float, x: float, y: float, gids: list[int]) -> str:
    hexed = "".join(f"{g:04X}" for g in gids)
    return f"BT /{font_name} {size:g} Tf 1 0 0 1 {x:.2f} {y:.2f} Tm <{hexed}> Tj ET\n"


class QrCodes:
    """QR codes for links that differ only in their code, fast.

    segno lays out and masks each symbol in pure Python (2 ms a code with a
    fixed mask, 14 ms choosing one), which would be most of a 10,000-letter
    mailing. Every link here has the same length and mode, so the symbol's
    version, its fixed patterns, format information and the place of every
    data bit are the same for all of them: they are taken once from segno,
    and each code needs only segno's codewords (with error correction),
    placed and masked with numpy. tests/test_letters.py checks the result
    against segno's own symbol."""

    def __init__(self, sample_link: str) -> None:
        import numpy as np
        from segno import consts, encoder

        self.np, self.encoder, self.consts = np, encoder, consts
        self.error = consts.ERROR_LEVEL_M
        reference = segno.make(sample_link, error="m", micro=False, mask=QR_MASK, boost_error=False)
        self.version = reference.version
        self.length = len(sample_link)
        self.base = np.array([list(row) for row in reference.matrix], dtype=np.uint8)
        size = len(self.base)
        skeleton = encoder.make_matrix(size, size)
        encoder.add_finder_patterns(skeleton, size, size)
        encoder.add_alignment_patterns(skeleton, size, size)
        rows, cols = [], []
        # The placement order of ISO/IEC 18004 7.7.3, as segno's add_codewords.
        for right in range(size - 1, 0, -2):
            if right <= 6:
                right -= 1
            for vertical in range(size):
                for z in range(2):
                    j = right - z
                    upwards = ((right & 2) == 0) ^ (j < 6)
                    i = (size - 1 - vertical) if upwards else vertical
                    if skeleton[i][j] == 0x2:
                        rows.append(i)
                        cols.append(j)
        self.rows, self.cols = np.array(rows), np.array(cols)
        masks = encoder.get_data_mask_functions(False)
        mask = masks[QR_MASK]
        self.flip = np.array(
            [1 if mask(i, j) else 0 for i, j in zip(rows, cols, strict=True)], dtype=np.uint8
        )

    def matrix(self, link: str) -> Any:
        np, encoder = self.np, self.encoder
        if len(link) != self.length:
            return np.array(
                [
                    list(r)
                    for r in segno.make(
                        link, error="m", micro=False, mask=QR_MASK, boost_error=False
                    ).matrix
                ],
                dtype=np.uint8,
            )
        buff = encoder.Buffer()
        version_range = encoder.version_range(self.version)
        for segment in encoder.prepare_data(link, None, None):
            encoder.write_segment(buff, segment, None, version_range, False)
        capacity = self.consts.SYMBOL_CAPACITY[self.version][self.error]  # type: ignore[index]
        encoder.write_terminator(buff, capacity, None, len(buff))
        encoder.write_padding_bits(buff, self.version, len(buff))
        encoder.write_pad_codewords(buff, self.version, capacity, len(buff))
        bits = encoder.make_final_message(self.version, self.error, buff).getbits()
        data = np.zeros(len(self.rows), dtype=np.uint8)
        data[: len(bits)] = np.frombuffer(bytes(bits), dtype=np.uint8)[: len(self.rows)]
        out = self.base.copy()
        out[self.rows, self.cols] = data ^ self.flip
        return out

    def image(self, link: str) -> str:
        """The QR code as an inline one-bit image, one pixel per module with
        a quiet zone, drawn at SLOTS.qr_size (sharp: PDF scales images
        without smoothing unless asked)."""
        np = self.np
        matrix = self.matrix(link)
        border = 2
        padded = np.pad(matrix, border)
        width = padded.shape[0]
        row_bits = -(-width // 8) * 8
        # 1 is white in DeviceGray; pad each row to whole bytes.
        grey = np.ones((width, row_bits), dtype=np.uint8)
        grey[:, :width] = 1 - padded
        data = np.packbits(grey, axis=1).tobytes()
        side = SLOTS.qr_size * MM
        x = SLOTS.right_left * MM
        y = PAGE_HEIGHT - (SLOTS.qr_top + SLOTS.qr_size) * MM
        return (
            f"q {side:.2f} 0 0 {side:.2f} {x:.2f} {y:.2f} cm "
            f"BI /W {width} /H {width} /BPC 1 /CS /G /F /AHx ID {data.hex().upper()}> EI Q\n"
        )


def letter_part(
    address: SampleAddress,
    code: str,
    link: str,
    fonts: tuple[LetterFont, LetterFont],
    qr: QrCodes,
) -> tuple[str, set[int], set[int]]:
    """One letter's own part of its front page as PDF operators, and the
    glyphs it uses of each face."""
    regular, bold = fonts
    lines = [line.strip() for line in address.lines.splitlines() if line.strip()]
    lines = lines[: MAX_ADDRESS_LINES - 1] + [address.postcode.strip()]
    ops = ["0 g\n"]
    used_regular: set[int] = set()
    x = SLOTS.address_left * MM
    y = PAGE_HEIGHT - (SLOTS.address_top + 4) * MM
    for line in lines:
        gids = regular.glyphs(line)
        used_regular.update(gids)
        ops.append(_text("FL", 11, x, y, gids))
        y -= 14
    code_gids = bold.glyphs(code)
    ops.append(
        _text("FB", 17, SLOTS.right_left * MM, PAGE_HEIGHT - SLOTS.code_baseline * MM, code_gids)
    )
    ops.append(qr.image(link))
    return "".join(ops), used_regular, set(code_gids)


# --- putting the PDF together ---------------------------------------------------------------


def assemble(template: bytes, parts: list[dict[str, Any]], fonts: tuple[LetterFont, ...]) -> bytes:
    """One PDF: for each letter a front page (the shared front, drawn as one
    form, with the letter's own part over it) and the shared back pages."""
    from pypdf import PdfReader, PdfWriter
    from pypdf.generic import (
        ArrayObject,
        DecodedStreamObject,
        DictionaryObject,
        FloatObject,
        NameObject,
        NumberObject,
    )

    reader = PdfReader(io.BytesIO(template))
    writer = PdfWriter()
    shared = [writer.add_page(page) for page in reader.pages]
    # pypdf's own page tree (a pinned version): letters' pages are added to it directly.
    pages_root: Any = writer._pages.get_object()
    kids = pages_root["/Kids"]
    # The typeset pages leave the tree: letters use them through references.
    del kids[:]
    front = shared[0]
    form = DecodedStreamObject()
    contents = front.get_contents()  # a stream object: an empty dict, so falsy
    form.set_data(contents.get_data() if contents is not None else b"")
    form.update(
        {
            NameObject("/Type"): NameObject("/XObject"),
            NameObject("/Subtype"): NameObject("/Form"),
            NameObject("/BBox"): ArrayObject(
                [FloatObject(0), FloatObject(0), FloatObject(PAGE_WIDTH), FloatObject(PAGE_HEIGHT)]
            ),
            NameObject("/Resources"): front["/Resources"],
        }
    )
    form_ref = writer._add_object(form.flate_encode())
    used = [
        sorted({g for p in parts for g in p["regular"]}),
        sorted({g for p in parts for g in p["bold"]}),
    ]
    font_refs = [
        _embed_font(writer, font, gids, f"{tag}+{font.name}")
        for font, gids, tag in zip(fonts, used, ("CSLTRA", "CSLTRB"), strict=True)
    ]
    resources = writer._add_object(
        DictionaryObject(
            {
                NameObject("/XObject"): DictionaryObject({NameObject("/T"): form_ref}),
                NameObject("/Font"): DictionaryObject(
                    {NameObject("/FL"): font_refs[0], NameObject("/FB"): font_refs[1]}
                ),
            }
        )
    )
    media = ArrayObject(
        [NumberObject(0), NumberObject(0), FloatObject(PAGE_WIDTH), FloatObject(PAGE_HEIGHT)]
    )
    back_pages = []
    for page in shared[1:]:
        back_pages.append(
            {
                "/Resources": page["/Resources"],
                "/Contents": page.raw_get("/Contents"),
                "/MediaBox": page["/MediaBox"],
            }
        )
    parent = writer._pages
    for part in parts:
        for ops in part["pages"]:
            stream = DecodedStreamObject()
            stream.set_data(b"q /T Do Q\n" + ops.encode("latin-1"))
            letter = DictionaryObject(
                {
                    NameObject("/Type"): NameObject("/Page"),
                    NameObject("/Parent"): parent,
                    NameObject("/MediaBox"): media,
                    NameObject("/Resources"): resources,
                    NameObject("/Contents"): writer._add_object(stream.flate_encode()),
                }
            )
            kids.append(writer._add_object(letter))
            for back in back_pages:
                reverse = DictionaryObject(
                    {
                        NameObject("/Type"): NameObject("/Page"),
                        NameObject("/Parent"): parent,
                        **{NameObject(k): v for k, v in back.items()},
                    }
                )
                kids.append(writer._add_object(reverse))
    pages_root[NameObject("/Count")] = NumberObject(len(kids))
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def _embed_font(writer: Any, font: LetterFont, gids: list[int], name: str) -> Any:
    """A Type 0 font over the face cut down to `gids` (ids kept, so the
    letters' operators stay valid), with the widths and a ToUnicode map so
    the text can be searched and copied."""
    from fontTools import subset
    from fontTools.ttLib import TTFont
    from pypdf.generic import (
        ArrayObject,
        DecodedStreamObject,
        DictionaryObject,
        NameObject,
        NumberObject,
        TextStringObject,
    )

    options = subset.Options()
    options.retain_gids = True
    options.notdef_outline = True
    options.layout_features = []
    options.hinting = False
    # Unshaped Latin text needs no layout tables; cutting them takes seconds.
    options.drop_tables += ["GSUB", "GPOS", "GDEF", "JSTF", "BASE", "MATH"]
    face = TTFont(font.path)
    subsetter = subset.Subsetter(options)
    subsetter.populate(gids=[0, *gids])
    subsetter.subset(face)
    buffer = io.BytesIO()
    face.save(buffer)
    data = buffer.getvalue()
    file_stream = DecodedStreamObject()
    file_stream.set_data(data)
    file_stream[NameObject("/Length1")] = NumberObject(len(data))
    file_ref = writer._add_object(file_stream.flate_encode())
    descriptor = DictionaryObject(
        {
            NameObject("/Type"): NameObject("/FontDescriptor"),
            NameObject("/FontName"): NameObject("/" + name),
            NameObject("/Flags"): NumberObject(32),
            NameObject("/FontBBox"): ArrayObject([NumberObject(v) for v in font.bbox]),
            NameObject("/ItalicAngle"): NumberObject(0),
            NameObject("/Ascent"): NumberObject(font.ascent),
            NameObject("/Descent"): NumberObject(font.descent),
            NameObject("/CapHeight"): NumberObject(font.cap_height),
            NameObject("/StemV"): NumberObject(80),
            NameObject("/FontFile2"): file_ref,
        }
    )
    widths = ArrayObject()
    for gid in gids:
        widths += [NumberObject(gid), ArrayObject([NumberObject(font.width[gid])])]
    cid_font = DictionaryObject(
        {
            NameObject("/Type"): NameObject("/Font"),
            NameObject("/Subtype"): NameObject("/CIDFontType2"),
            NameObject("/BaseFont"): NameObject("/" + name),
            NameObject("/CIDSystemInfo"): DictionaryObject(
                {
                    NameObject("/Registry"): TextStringObject("Adobe"),
                    NameObject("/Ordering"): TextStringObject("Identity"),
                    NameObject("/Supplement"): NumberObject(0),
                }
            ),
            NameObject("/FontDescriptor"): writer._add_object(descriptor),
            NameObject("/W"): widths,
            NameObject("/CIDToGIDMap"): NameObject("/Identity"),
        }
    )
    to_unicode = DecodedStreamObject()
    to_unicode.set_data(_to_unicode(font, gids))
    return writer._add_object(
        DictionaryObject(
            {
                NameObject("/Type"): NameObject("/Font"),
                NameObject("/Subtype"): NameObject("/Type0"),
                NameObject("/BaseFont"): NameObject("/" + name),
                NameObject("/Encoding"): NameObject("/Identity-H"),
                NameObject("/DescendantFonts"): ArrayObject([writer._add_object(cid_font)]),
                NameObject("/ToUnicode"): writer._add_object(to_unicode.flate_encode()),
            }
        )
    )


def _to_unicode(font: LetterFont, gids: list[int]) -> bytes:
    char_of: dict[int, int] = {}
    for codepoint, gid in sorted(font.gid.items()):
        char_of.setdefault(gid, codepoint)
    entries = [
        f"<{gid:04X}> <{char_of[gid]:04X}>"
        for gid in gids
        if gid in char_of and char_of[gid] <= 0xFFFF
    ]
    body = []
    for start in range(0, len(entries), 100):
        block = entries[start : start + 100]
        body.append(f"{len(block)} beginbfchar\n" + "\n".join(block) + "\nendbfchar")
    return (
        "/CIDInit /ProcSet findresource begin\n12 dict begin\nbegincmap\n"
        "/CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def\n"
        "/CMapName /Adobe-Identity-UCS def\n/CMapType 2 def\n"
        "1 begincodespacerange\n<0000> <FFFF>\nendcodespacerange\n"
        + "\n".join(body)
        + "\nendcmap\nCMapName currentdict /CMapResource defineresource pop\nend\nend\n"
    ).encode()
