"""Reading XML that someone uploaded: find its encoding the way the XML
specification says (appendix F), then parse it with a hardened parser.

Two defences, on purpose. The text is decoded here first so that a check
for a DOCTYPE sees characters, not bytes: "<!DOCTYPE" in UTF-16LE without a
byte-order mark is "<\\0!\\0D\\0…", which a byte search misses and which
expat nevertheless recognises (the hostile test got an internal entity
expanded into a stored translation that way). And whatever the encoding,
defusedxml refuses every DTD, entity declaration and external reference
inside the parser itself, so a file that gets past the first check still
cannot declare an entity."""

from __future__ import annotations

import codecs
import re
import xml.etree.ElementTree as ET

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring as defused_fromstring

from . import ServiceError

# Byte-order marks, longest first (the UTF-32LE mark begins with UTF-16LE's).
BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
DECLARATION = re.compile(r"""^<\?xml[^>]*?encoding\s*=\s*["']([A-Za-z0-9._-]+)["']""")
WHOLE_DECLARATION = re.compile(r"^\s*<\?xml[^>]*\?>")
# Single-byte encodings a declaration may name and Python decodes exactly.
ASCII_COMPATIBLE = {"utf-8", "utf8", "us-ascii", "ascii", "iso-8859-1", "latin-1", "latin1"}
DOCTYPE = re.compile(r"<!\s*(DOCTYPE|ENTITY)", re.IGNORECASE)


class XMLFileError(ServiceError):
    """An uploaded XML file that cannot be read safely; `problems` say why."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("The file cannot be read; nothing was saved")
        self.problems = problems


NOT_TEXT = "the file is not text in UTF-8 or UTF-16: save it again as UTF-8"
REFUSED_DTD = (
    "the file contains a <!DOCTYPE> or <!ENTITY> declaration, which is refused "
    "for safety (it can make the server read files or exhaust memory)"
)


def detect_encoding(head: bytes) -> tuple[str, int]:
    """The encoding of an XML document from its first bytes, and the length
    of its byte-order mark (0 if none). Raises XMLFileError for an encoding
    we do not read."""
    for bom, name in BOMS:
        if head.startswith(bom):
            return name, len(bom)
    first = head[:4]
    if len(first) == 4:
        # No mark: the zero bytes around the first characters give the width
        # and order ('<' is 3C; appendix F of the XML specification).
        if first[1:] == b"\0\0\0" and first[0]:
            return "utf-32-le", 0
        if first[:3] == b"\0\0\0" and first[3]:
            return "utf-32-be", 0
        if first[0] and not first[1] and first[2] and not first[3]:
            return "utf-16-le", 0
        if not first[0] and first[1] and not first[2] and first[3]:
            return "utf-16-be", 0
    declared = DECLARATION.match(head[:200].decode("ascii", "replace"))
    if declared:
        name = declared.group(1).lower()
        if name in ASCII_COMPATIBLE:
            return ("utf-8" if name in ("utf-8", "utf8") else name), 0
        if name.startswith(("utf-16", "utf-32", "ucs")):
            # Declared wide, but the bytes are one byte per character.
            raise XMLFileError(
                [f"the file says it is {declared.group(1)}, but it is not: {NOT_TEXT}"]
            )
        raise XMLFileError(
            [f"the file is in the {declared.group(1)} encoding, which is not read here: {NOT_TEXT}"]
        )
    return "utf-8", 0


def decode(content: bytes) -> str:
    """The document as text, without its byte-order mark or XML declaration
    (the declaration's encoding has been honoured already)."""
    encoding, skip = detect_encoding(content[:256])
    try:
        text = content[skip:].decode(encoding)
    except UnicodeDecodeError:
        raise XMLFileError([NOT_TEXT]) from None
    return WHOLE_DECLARATION.sub("", text, count=1)


def parse(content: bytes) -> ET.Element:
    """The element tree of an uploaded XML document, or XMLFileError naming
    what is wrong. No DTD, entity or external reference is ever processed."""
    text = decode(content)
    if DOCTYPE.search(text):
        raise XMLFileError([REFUSED_DTD])
    try:
        # Re-encoded as UTF-8 with no declaration: expat reads exactly the
        # characters checked above.
        return defused_fromstring(
            text.encode("utf-8"), forbid_dtd=True, forbid_entities=True, forbid_external=True
        )
    except DefusedXmlException:
        raise XMLFileError([REFUSED_DTD]) from None
    except ET.ParseError as error:
        line, column = error.position
        raise XMLFileError(
            [f"line {line}, column {column}: the file is not well-formed XML ({error.msg})"]
        ) from None
