"""A one-sheet XLSX workbook written straight as SpreadsheetML, row by row: openpyxl spends some
10 µs a cell (30 s and more for 100,000 organisations of 30 columns, holding the event loop);
this writes the same sheet in a few seconds and little memory. Text is inline text (never a
formula), numbers are numbers, the rate columns show as percentages (0.00%)."""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import AsyncIterable, AsyncIterator, Iterable, Sequence
from typing import Any
from xml.sax.saxutils import escape

MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
RELATIONSHIPS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PACKAGE = "http://schemas.openxmlformats.org/package/2006/relationships"
PERCENT_STYLE = 1
"""The cell style showing a fraction as 0.00% (built-in number format 10)."""
NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
"""Characters XML 1.0 cannot carry: dropped."""

CONTENT_TYPES = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">
<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>
<Default Extension="xml" ContentType="application/xml"/>
<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>
<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>
<Override PartName="/xl/styles.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>
</Types>"""
ROOT_RELS = f"""<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="{PACKAGE}">
<Relationship Id="rId1" Type="{RELATIONSHIPS}/officeDocument" Target="xl/workbook.xml"/>
</Relationships>"""
WORKBOOK_RELS = f"""<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="{PACKAGE}">
<Relationship Id="rId1" Type="{RELATIONSHIPS}/worksheet" Target="worksheets/sheet1.xml"/>
<Relationship Id="rId2" Type="{RELATIONSHIPS}/styles" Target="styles.xml"/>
</Relationships>"""
STYLES = f"""<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<styleSheet xmlns="{MAIN}">
<fonts count="1"><font><sz val="11"/><name val="Calibri"/></font></fonts>
<fills count="2"><fill><patternFill patternType="none"/></fill><fill><patternFill patternType="gray125"/></fill></fills>
<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>
<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>
<cellXfs count="2"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/><xf numFmtId="10" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/></cellXfs>
<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>
</styleSheet>"""


def _workbook(title: str) -> str:
    name = escape(title, {'"': "&quot;"})
    return f"""<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<workbook xmlns="{MAIN}" xmlns:r="{RELATIONSHIPS}">
<sheets><sheet name="{name}" sheetId="1" r:id="rId1"/></sheets>
</workbook>"""


def column_name(index: int) -> str:
    """0 → A, 25 → Z, 26 → AA."""
    name = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        name = chr(65 + rest) + name
    return name


def _cell(reference: str, value: Any, percent: bool) -> str:
    if value is None or value == "":
        return ""
    if isinstance(value, bool):
        value = "是" if value else "否"
    if isinstance(value, str):
        text = escape(NOT_XML.sub("", value))
        return f'<c r="{reference}" t="inlineStr"><is><t xml:space="preserve">{text}</t></is></c>'
    style = f' s="{PERCENT_STYLE}"' if percent else ""
    return f'<c r="{reference}"{style}><v>{value!r}</v></c>'


def _rows(
    headers: Sequence[str],
    values: Iterable[Sequence[Any]],
    rate_columns: frozenset[int],
    start: int = 1,
) -> Iterable[str]:
    """The rows numbered from `start` (1: the headers first, then `values`)."""
    columns = [column_name(i) for i in range(len(headers))]
    rows = [headers, *values] if start == 1 else values
    for number, row in enumerate(rows, start=start):
        cells = "".join(
            _cell(f"{columns[i]}{number}", value, number > 1 and i in rate_columns)
            for i, value in enumerate(row)
        )
        yield f'<row r="{number}">{cells}</row>'


class _Pipe(io.RawIOBase):
    """A write-only, unseekable sink the zip is written to and taken from piece by piece
    (zipfile then writes each entry's sizes after its data)."""

    def __init__(self) -> None:
        self.parts: list[bytes] = []

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        self.parts.append(bytes(data))
        return len(data)

    def take(self) -> bytes:
        out = b"".join(self.parts)
        self.parts.clear()
        return out


async def stream(
    title: str,
    headers: Sequence[str],
    batches: AsyncIterable[Sequence[Sequence[Any]]],
    rate_columns: frozenset[int] = frozenset(),
) -> AsyncIterator[bytes]:
    """The same workbook as `workbook`, written while `batches` of rows arrive and given out
    piece by piece: memory stays that of one batch, whatever the number of rows. (No
    dimension element: it would need the row count before the first row.)"""
    pipe = _Pipe()
    with zipfile.ZipFile(pipe, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as book:
        _parts(book, title)
        with book.open("xl/worksheets/sheet1.xml", "w") as sheet:
            sheet.write(
                f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
                f'<worksheet xmlns="{MAIN}"><sheetData>'.encode()
            )
            sheet.write("".join(_rows(headers, [], rate_columns)).encode())
            number = 2
            async for batch in batches:
                sheet.write("".join(_rows(headers, batch, rate_columns, number)).encode())
                number += len(batch)
                if piece := pipe.take():
                    yield piece
            sheet.write(b"</sheetData></worksheet>")
    yield pipe.take()


def _parts(book: zipfile.ZipFile, title: str) -> None:
    """Every part of the package but the sheet."""
    book.writestr("[Content_Types].xml", CONTENT_TYPES)
    book.writestr("_rels/.rels", ROOT_RELS)
    book.writestr("xl/workbook.xml", _workbook(title))
    book.writestr("xl/_rels/workbook.xml.rels", WORKBOOK_RELS)
    book.writestr("xl/styles.xml", STYLES)


def workbook(
    title: str,
    headers: Sequence[str],
    values: Sequence[Sequence[Any]],
    rate_columns: frozenset[int] = frozenset(),
) -> bytes:
    """One sheet named `title`: the headers, then the rows; the rate columns (0-based) as
    percentages. Cells None or empty are left empty."""
    dimension = f"A1:{column_name(max(len(headers), 1) - 1)}{len(values) + 1}"
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as book:
        _parts(book, title)
        with book.open("xl/worksheets/sheet1.xml", "w") as sheet:
            sheet.write(
                f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
                f'<worksheet xmlns="{MAIN}"><dimension ref="{dimension}"/><sheetData>'.encode()
            )
            chunk: list[str] = []
            for row in _rows(headers, values, rate_columns):
                chunk.append(row)
                if len(chunk) == 1000:
                    sheet.write("".join(chunk).encode())
                    chunk.clear()
            sheet.write(("".join(chunk) + "</sheetData></worksheet>").encode())
    return buffer.getvalue()
