"""What a delivered file really is, before a reader for the registered format tries it.

A reader's own error describes the symptom ("invalid byte", "NUL bytes", "not a zip file"); these checks
name the cause (UTF-16 text, a PNG named .csv, UTF-8 where GBK was registered) and what to do about it.
"""

from __future__ import annotations

import codecs
import re

import filetype

from sudata.registry import Source

TEXT_FORMATS = ("csv", "json")
_BOMS = (  # longest first: the UTF-32 LE mark begins with the UTF-16 LE one
    (codecs.BOM_UTF32_LE, "UTF-32 LE"),
    (codecs.BOM_UTF32_BE, "UTF-32 BE"),
    (codecs.BOM_UTF16_LE, "UTF-16 LE"),
    (codecs.BOM_UTF16_BE, "UTF-16 BE"),
)
_CODEC = {"UTF-32 LE": "utf-32-le", "UTF-32 BE": "utf-32-be", "UTF-16 LE": "utf-16-le", "UTF-16 BE": "utf-16-be"}
_NON_ASCII = re.compile(rb"[\x80-\xff]")
_HEAD = 64 * 1024


class WrongContent(Exception):
    """The file is not what its source delivers; the message says what it is and what to do."""


def wide_unicode(data: bytes) -> tuple[str, bool] | None:
    """(encoding, has BOM) when the bytes are UTF-16 or UTF-32 text, from the byte-order mark or, without
    one, from where the NUL bytes fall: ASCII characters (digits, commas, newlines) in UTF-16 LE leave a NUL
    in every odd position, in UTF-32 three NULs in every four bytes."""
    for bom, name in _BOMS:
        if data.startswith(bom):
            return name, True
    head = data[:4096]
    head = head[: len(head) - len(head) % 4]
    nuls = [i % 4 for i, b in enumerate(head) if b == 0]
    if len(nuls) < max(8, len(head) // 20):
        return None
    at = [nuls.count(k) for k in range(4)]
    rare = len(nuls) // 20  # a character such as 一 (U+4E00) puts a NUL where text bytes usually are
    candidates = []
    if at[0] <= rare and at[3] > rare:
        candidates.append("UTF-32 LE")
    if at[3] <= rare and at[0] > rare:
        candidates.append("UTF-32 BE")
    if at[0] + at[2] <= rare:
        candidates.append("UTF-16 LE")
    if at[1] + at[3] <= rare:
        candidates.append("UTF-16 BE")
    for name in candidates:
        try:
            text = head.decode(_CODEC[name])
        except UnicodeDecodeError:
            continue
        if all(c.isprintable() or c in "\r\n\t" for c in text):
            return name, False
    return None


def looks_like_utf8(data: bytes) -> bool:
    """Non-ASCII text that decodes as UTF-8: GBK-encoded Chinese practically never does."""
    first = _NON_ASCII.search(data)
    if first is None:
        return False
    window = data[first.start(): first.start() + _HEAD]
    try:
        codecs.getincrementaldecoder("utf-8")().decode(window, final=False)
    except UnicodeDecodeError:
        return False
    return True


def check_content(data: bytes, source: Source, suffix: str) -> None:
    """Raise ``WrongContent`` when the bytes cannot be a file of the source's registered format and encoding."""
    fmt = source.format
    wide = wide_unicode(data)
    if wide:
        name, bom = wide
        what = f"{name} text{' (byte-order mark ' + data[:2].hex(' ').upper() + ')' if bom else ''}"
        if fmt in TEXT_FORMATS:
            raise WrongContent(
                f"the file is {what}, not {source.encoding} as registered (that is why it is full of NUL bytes): "
                f"ask the department to re-export it as UTF-8 or GBK"
            )
        raise WrongContent(f"the file is {what} (a text export?), not an .xlsx workbook: ask for the .xlsx export")
    kind = filetype.guess(data[:8192]) if b"\x00" in data[:_HEAD] or fmt == "xlsx" else None
    if fmt in TEXT_FORMATS and kind is not None:
        raise WrongContent(
            f"the file is {_describe(kind)} named {suffix or '(no extension)'}, not a {fmt.upper()} export: "
            f"ask the department for the {fmt.upper()} file itself"
        )
    if fmt == "xlsx" and kind is not None and kind.extension not in ("xlsx", "zip"):
        raise WrongContent(f"the file is {_describe(kind)}, not an .xlsx workbook: ask for the .xlsx export")
    if fmt in TEXT_FORMATS and source.encoding.lower() in ("gbk", "gb2312", "gb18030") and looks_like_utf8(data):
        bom = " with a UTF-8 byte-order mark" if data.startswith(codecs.BOM_UTF8) else ""
        raise WrongContent(
            f"not valid {source.encoding} text: the file is UTF-8{bom}, not {source.encoding} as registered. Ask the department to re-export it in "
            f"{source.encoding}, or change the source's 'encoding' in the registry to utf-8 if that is its export now"
        )


def _describe(kind) -> str:
    names = {"xlsx": "an Excel workbook (.xlsx)", "xls": "a legacy Excel workbook (.xls)", "zip": "a ZIP archive",
             "png": "a PNG image", "jpg": "a JPEG image", "pdf": "a PDF document", "gz": "a gzip archive",
             "docx": "a Word document (.docx)", "7z": "a 7-Zip archive", "rar": "a RAR archive"}
    return names.get(kind.extension, f"a binary {kind.extension} file") + f" ({kind.mime})"
