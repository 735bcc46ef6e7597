"""Bytes of a CSV or XLSX export to a RawTable whose every cell is text (core).

CSV: strict UTF-8 (BOM or not) first, then Windows-1251 checked for plausible Cyrillic; the delimiter
and the header row (not necessarily line 1) are found by matching the schema's required columns.
XLSX: read by python-calamine (Rust), cells shown as text by `excel_cell_text` exactly as openpyxl's were.
"""
from __future__ import annotations

import csv
import io
import itertools
import re
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from xml.parsers import expat

from daemon.core.cleaning import excel_cell_text
from daemon.core.schema import SourceSchema, header_key

HEADER_SEARCH_ROWS = 30
DELIMITERS = (";", "\t", ",")
XLSX_MAGIC = b"PK\x03\x04"
_CYRILLIC_PAIR = re.compile("(?=[\u0410-\u044f\u0401\u0451]{2})")
_CASE_FLIP = re.compile("[\u0430-\u044f\u0451](?=[\u0410-\u042f\u0401])")
# calamine lays a sheet out as one dense grid from its first to its last cell, 32 bytes a cell, and aborts
# the whole process when that cannot be allocated: an 8 KB file with cells in A1 and XFD1048576 asks for
# 512 GB. Sheets spanning more cells than this are refused before calamine sees them (512 MB).
XLSX_MAX_CELLS = 2**24
_SHEET_FOLDERS = ("xl/worksheets/", "xl/chartsheets/", "xl/dialogsheets/")  # where calamine finds sheets
_FOLD = bytes.maketrans(b"\t\n\r'abcdefghijklmnopqrstuvwxyz", b'   "ABCDEFGHIJKLMNOPQRSTUVWXYZ')
_FAR_REF = re.compile(rb' R *= *"[A-Z]*([0-9]{6,})"')   # row 100000 and below
_WIDE_REF = re.compile(rb' R *= *"([A-Z]{2,})')         # column AA and right of it
_LETTER_REF = re.compile(rb' R *= *"([A-Z])[0-9]')
_ODD_CELL = re.compile(rb"<C[>/]")              # a cell without attributes
_PREFIXED_CELL = re.compile(rb":C[ >/]")         # <x:c …>
_DIMENSION = re.compile(rb'<DIMENSION REF="(?:[A-Z]*[0-9]*:)?([A-Z]*)')
_ERROR_CELL = re.compile(rb'<C R="([A-Z]+)([0-9]+)"[^>]* T="E"[^>]*>')


@dataclass(frozen=True, slots=True)
class RawRow:
    line: int                 # as the operator sees it: Excel's row number, the editor's line number
    cells: tuple[str, ...]


@dataclass(frozen=True)
class RawTable:
    headers: tuple[str, ...]  # as the file writes them
    header_row: int
    rows: tuple[RawRow, ...]


@dataclass(frozen=True)
class FileError:
    """The file as a whole cannot be read; `reason` is for the operator, in Russian."""

    reason: str


def read_table(data: bytes, file_name: str, schema: SourceSchema) -> RawTable | FileError:
    if not data.strip():
        return FileError("файл пустой")
    if data.startswith(XLSX_MAGIC) or file_name.lower().endswith((".xlsx", ".xlsm")):
        return _read_xlsx(data, schema)
    text = _decode(data)
    if isinstance(text, FileError):
        return text
    return _read_csv(text, schema)


def _decode(data: bytes) -> str | FileError:
    if b"\x00" in data[:65536]:
        return FileError("файл не похож на текстовую таблицу CSV (двоичные данные); нужен CSV или XLSX")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    text = data.decode("cp1251", errors="replace")
    if "\ufffd" in text or _looks_misdecoded(text):
        return FileError(
            "кодировка файла не распознана (не UTF-8 и не Windows-1251, возможно KOI8-R); "
            "сохраните выгрузку в UTF-8 или Windows-1251"
        )
    return text


def _looks_misdecoded(text: str) -> bool:
    """Russian words are Capitalised or lowercase; KOI8-R read as cp1251 flips case inside words
    («дПЗПЧПТ»), so many lower→upper steps between Cyrillic letters mean the wrong code page.
    The first 64 KB tell as well as the whole file."""
    sample = text[:65536]
    steps = len(_CYRILLIC_PAIR.findall(sample))
    return steps > 20 and len(_CASE_FLIP.findall(sample)) / steps > 0.15


def _header_match(cells: tuple[str, ...], schema: SourceSchema) -> tuple[int, list[str]]:
    """How many required fields the row names, and which required fields it misses."""
    keys = {header_key(c) for c in cells if c.strip()}
    missing = [f.aliases[0] if f.aliases else f.name for f in schema.required if not (f.keys & keys)]
    return len(schema.required) - len(missing), missing


def _find_header(rows: list[RawRow], schema: SourceSchema) -> int | list[str]:
    """Index of the header row among `rows`, or the required columns the best candidate lacks."""
    best_missing: list[str] = [f.aliases[0] if f.aliases else f.name for f in schema.required]
    for index, row in enumerate(rows[:HEADER_SEARCH_ROWS]):
        found, missing = _header_match(row.cells, schema)
        if not missing:
            return index
        if found and len(missing) < len(best_missing):
            best_missing = missing
    return best_missing


def _missing_columns(missing: list[str]) -> FileError:
    return FileError(f"не найдены обязательные столбцы: {', '.join(missing)}")


def _table(rows: list[RawRow], header_index: int) -> RawTable:
    header = rows[header_index]
    width = len(header.cells)
    body = tuple(
        r if len(r.cells) == width else RawRow(r.line, (r.cells + ("",) * (width - len(r.cells)))[:width])
        for r in rows[header_index + 1 :]
    )
    return RawTable(headers=tuple(c.strip() for c in header.cells), header_row=header.line, rows=body)


def _csv_rows(text: str, delimiter: str, limit: int | None) -> list[RawRow]:
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    rows, start = [], 1
    # Exports repeat most cells (period, КПП, service, fee, rate) on every line: one str object per
    # distinct text keeps a 100,000-row table a third smaller.
    distinct: dict[str, str] = {}
    for cells in reader:
        rows.append(RawRow(start, tuple([distinct.setdefault(c, c) for c in cells])))
        start = reader.line_num + 1
        if limit is not None and len(rows) >= limit:
            break
    return rows


def _read_csv(text: str, schema: SourceSchema) -> RawTable | FileError:
    best: list[str] | None = None
    for delimiter in DELIMITERS:
        try:
            head = _csv_rows(text, delimiter, HEADER_SEARCH_ROWS)
        except csv.Error as exc:
            return FileError(f"файл CSV повреждён: {exc}")
        found = _find_header(head, schema)
        if isinstance(found, int):
            rows = _csv_rows(text, delimiter, schema.max_rows + found + 2)
            if len(rows) - found - 1 > schema.max_rows:
                return FileError(f"в файле больше {schema.max_rows} строк: разбейте выгрузку на части")
            return _table(rows, found)
        if best is None or len(found) < len(best):
            best = found
    return _missing_columns(best or [])


def _read_xlsx(data: bytes, schema: SourceSchema) -> RawTable | FileError:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        unpacked = sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, ValueError, OSError, NotImplementedError):  # the last: an unknown zip version
        return FileError("файл XLSX повреждён или обрезан (не открывается как архив Excel)")
    if unpacked > schema.max_xlsx_bytes:
        return FileError(
            f"файл XLSX распаковывается в {unpacked // 2**20} МБ, больше допустимых "
            f"{schema.max_xlsx_bytes // 2**20} МБ: сохраните выгрузку в CSV или разбейте её"
        )
    read = _read_sheet(data, archive, schema)
    if isinstance(read, FileError):
        return read
    rows, extent = read
    while rows and not any(c.strip() for c in rows[-1].cells):
        rows.pop()
    found = _find_header(rows, schema)
    if not isinstance(found, int):
        return _missing_columns(found)
    # openpyxl gave every row the width `<dimension>` claims (styled empty cells widen it), so the header
    # did too; kept, but never wider than the cells really written, so a lying dimension costs nothing.
    header = rows[found]
    named = len(header.cells) - len(tuple(itertools.takewhile(lambda c: not c, reversed(header.cells))))
    claimed = min(extent.dimension_width, extent.width) if extent is not None else 0
    rows[found] = RawRow(header.line, (header.cells + ("",) * claimed)[: max(named, claimed)])
    return _table(rows, found)


def _read_sheet(
    data: bytes, archive: zipfile.ZipFile, schema: SourceSchema
) -> tuple[list[RawRow], SheetExtent | None] | FileError:
    """The schema's sheet as rows with error cells put back, and its extent (None if not in the archive)."""
    row_limit = schema.max_rows + HEADER_SEARCH_ROWS
    try:
        extents = _sheet_extents(archive, schema, row_limit)
        if isinstance(extents, FileError):
            return extents
        sheet = _calamine_rows(data, schema, row_limit)
        if isinstance(sheet, FileError):
            return sheet
        name, rows = sheet
        extent = extents.get(_sheet_part(archive, name) or "")
        if extent is None and any(e.errors for e in extents.values()):
            return FileError(
                f"в книге есть ячейки с ошибками Excel (#Н/Д…), а лист «{name}» не найден в архиве"
            )
        if extent is not None and extent.errors:
            rows = _with_errors(rows, extent.errors)
    except ImportError:
        raise  # calamine is imported lazily, in `_calamine_rows`: not installed is the machine's fault
    # Damaged workbooks make calamine, zipfile, zlib and expat raise many kinds, not one family: flipping
    # bytes of test workbooks gave CalamineError, XmlError, BadZipFile, zlib.error, EOFError, ValueError,
    # NotImplementedError and RuntimeError. Every one is the file's fault (bad input is data, style §3),
    # and a kind no test has met yet must end as a FileError too, not as a crash.
    except Exception as exc:  # noqa: BLE001 -- see above; the reason names the type
        return FileError(f"файл XLSX повреждён: {type(exc).__name__}: {exc}")
    except BaseException as exc:
        # A panic inside the Rust code arrives as pyo3's PanicException, a BaseException: the file is bad,
        # the process is fine.
        if type(exc).__name__ != "PanicException":
            raise
        return FileError(f"файл XLSX повреждён: {exc}")
    return rows, extent


def _sheet_extents(
    archive: zipfile.ZipFile, schema: SourceSchema, row_limit: int
) -> dict[str, SheetExtent] | FileError:
    """Every sheet part's extent, or why one is too large for calamine to lay out."""
    # Every part calamine could take for a sheet is measured: no lookup of ours can miss the one it reads.
    extents = {
        info.filename: _sheet_extent(archive.read(info))
        for info in archive.infolist()
        if info.filename.replace("\\", "/").lstrip("/").lower().startswith(_SHEET_FOLDERS)
    }
    for extent in extents.values():
        if extent.height > row_limit:
            return FileError(f"в файле больше {schema.max_rows} строк: разбейте выгрузку на части")
        if extent.height * extent.width > XLSX_MAX_CELLS:
            return FileError(
                f"лист XLSX растянут на {extent.height} строк × {extent.width} столбцов (ячейки "
                f"далеко от таблицы), больше {XLSX_MAX_CELLS} ячеек: удалите лишние ячейки или "
                "сохраните выгрузку в CSV"
            )
    return extents


def _calamine_rows(
    data: bytes, schema: SourceSchema, row_limit: int
) -> tuple[str, list[RawRow]] | FileError:
    """The schema's sheet (else the first worksheet) read by calamine: its name and its rows."""
    # Imported here so that CSV-only runs never load calamine.
    from python_calamine import CalamineWorkbook, SheetTypeEnum, WorksheetNotFound  # noqa: PLC0415

    try:
        book = CalamineWorkbook.from_object(io.BytesIO(data))
        worksheets = (m.name for m in book.sheets_metadata if m.typ == SheetTypeEnum.WorkSheet)
        name = schema.sheet or next(worksheets, "")
        if not name:
            return FileError("в книге нет ни одного листа с таблицей")
        sheet = book.get_sheet_by_name(name)
        end = sheet.end
        if end is not None and end[0] + 1 > row_limit:
            return FileError(f"в файле больше {schema.max_rows} строк: разбейте выгрузку на части")
        rows = _sheet_rows(sheet.iter_rows(), sheet.start[1] if sheet.start else 0)
        book.close()
    except WorksheetNotFound:
        return FileError(f"в книге нет листа «{schema.sheet}»")
    return name, rows


def _sheet_rows(values: Iterable[Sequence[object]], first_column: int) -> list[RawRow]:
    """Calamine's rows as text, numbered as Excel numbers them; columns left of the data put back as empty
    cells, as Excel (and openpyxl) show them."""
    rows: list[RawRow] = []
    pad = ("",) * first_column
    distinct: dict[str, str] = {}  # one str object per distinct text, as for CSV
    keep, text = distinct.setdefault, excel_cell_text
    for number, cells in enumerate(values, start=1):
        # Most cells are already str: they skip excel_cell_text's type tests.
        texts = [keep(v, v) if v.__class__ is str else keep(t := text(v), t) for v in cells]
        rows.append(RawRow(number, pad + tuple(texts)))
    return rows


def _column_number(letters: bytes) -> int:
    """Excel's column letters as a number: A = 1, Z = 26, AA = 27."""
    number = 0
    for letter in letters.upper():
        number = number * 26 + letter - 64
    return number


@dataclass(frozen=True)
class SheetExtent:
    """Rows × columns calamine lays out densely for a sheet (exact or larger, never smaller), and the error
    cells (#N/A, #DIV/0!…) it reads as empty: (Excel row, column) → the error's text."""

    height: int
    width: int
    errors: dict[tuple[int, int], str]
    dimension_width: int = 0  # columns `<dimension ref>` claims (openpyxl's width), 0 without one


def _sheet_extent(xml: bytes) -> SheetExtent:
    """The extent of a sheet's XML, from its first to its last cell whatever `<dimension>` claims.

    Mainstream writers give every cell `r="A1"` first; then the refs alone say it, found by a few passes
    of C-speed search over a copy with whitespace, quotes and case folded (byte for byte, so offsets hold).
    Anything else (cells without `r`, prefixed elements, UTF-16) goes through an XML parser that follows
    calamine's own counting."""
    if xml[:2] in (b"\xff\xfe", b"\xfe\xff") or b"\x00" in xml[:512]:
        return _sheet_extent_parsed(xml)
    folded = xml.translate(_FOLD)
    cells = folded.count(b"<C ")
    if cells != folded.count(b'<C R="') or _ODD_CELL.search(folded) or _PREFIXED_CELL.search(folded):
        return _sheet_extent_parsed(xml)
    head = folded[: folded.find(b"<SHEETDATA")]
    dimension = _DIMENSION.search(head)
    dimension_width = _column_number(dimension[1]) if dimension else 0
    if not cells:
        return SheetExtent(0, 0, {}, dimension_width)
    # Every ` R="…"` in the sheet counts (a repeated attribute too: calamine keeps the last one).
    # Refs of one letter and five digits need no look: they stay within Z99999.
    height = max(map(int, set(_FAR_REF.findall(folded))), default=99_999)
    width = max(map(_column_number, set(_WIDE_REF.findall(folded))), default=26)
    if width == 26 and height * width > XLSX_MAX_CELLS:
        width = max(map(_column_number, set(_LETTER_REF.findall(folded))), default=26)
    errors: dict[tuple[int, int], str] = {}
    if b' T="E"' in folded:
        for m in _ERROR_CELL.finditer(folded):
            start, close = folded.find(b"<V>", m.end()), folded.find(b"</C>", m.end())
            if not m[0].endswith(b"/>") and start != -1 and (close == -1 or start < close):
                value = xml[start + 3 : folded.find(b"</V>", start)]
                errors[int(m[2]), _column_number(m[1])] = value.decode("utf-8", "replace")
    return SheetExtent(height, width, errors, dimension_width)


def _sheet_extent_parsed(xml: bytes) -> SheetExtent:
    """`_sheet_extent` by expat for unusual sheets: positions counted as calamine counts them (a cell without
    `r` follows the previous one, a row without `r` the previous row), each kept at or above calamine's."""
    row = column = height = width = dimension_width = 0
    errors: dict[tuple[int, int], str] = {}
    error_at: tuple[int, int] | None = None
    text: list[str] | None = None

    def start(name: str, attributes: dict[str, str]) -> None:
        nonlocal row, column, height, width, error_at, text, dimension_width
        local = name.rpartition(":")[2]
        if local == "dimension":
            dimension_width = _ref_column(attributes.get("ref", "").rpartition(":")[2])
        elif local == "row" and "r" in attributes:
            row = max(row, _ref_row(attributes["r"]) - 1)
        elif local == "c":
            if "r" in attributes:
                cell_row, cell_column = _ref_row(attributes["r"]) - 1, _ref_column(attributes["r"]) - 1
                column = max(column, cell_column)
            else:
                cell_row, cell_column = row, column
            height, width = max(height, cell_row + 1), max(width, cell_column + 1)
            column += 1
            error_at = (cell_row + 1, cell_column + 1) if attributes.get("t") == "e" else None
        elif local == "v" and error_at:
            text = []

    def end(name: str) -> None:
        nonlocal row, column, error_at, text
        local = name.rpartition(":")[2]
        if local == "row":
            row, column = row + 1, 0
        elif local == "v" and error_at and text is not None:
            errors[error_at] = "".join(text)
            error_at, text = None, None

    def characters(data: str) -> None:
        if text is not None:
            text.append(data)

    parser = expat.ParserCreate()
    parser.StartElementHandler, parser.EndElementHandler, parser.CharacterDataHandler = start, end, characters
    parser.Parse(xml, True)
    return SheetExtent(height, width, errors, dimension_width)


def _with_errors(rows: list[RawRow], errors: dict[tuple[int, int], str]) -> list[RawRow]:
    """Error cells put back as the text openpyxl gave them («#N/A»): calamine reads them as empty, which
    would let a broken formula pass for a blank cell."""
    by_row: dict[int, dict[int, str]] = {}
    for (row, column), text in errors.items():
        by_row.setdefault(row, {})[column] = text
    rows = rows + [RawRow(n, ()) for n in range(len(rows) + 1, max(by_row) + 1)]
    for row, cells in by_row.items():
        old = rows[row - 1].cells
        new = list(old) + [""] * (max(cells) - len(old))
        for column, text in cells.items():
            new[column - 1] = text
        rows[row - 1] = RawRow(row, tuple(new))
    return rows


def _sheet_part(archive: zipfile.ZipFile, name: str) -> str | None:
    """The zip member calamine reads for sheet `name`: workbook.xml's r:id → its relationship's target."""
    entries = _elements(archive, "xl/workbook.xml", "sheet")
    sheets = {a.get("name"): a.get("r:id") or a.get("relationships:id") for a in entries}
    relationships = _elements(archive, "xl/_rels/workbook.xml.rels", "Relationship")
    targets = {a.get("Id"): a.get("Target", "") for a in relationships}
    target = targets.get(sheets.get(name))
    if target is None:
        return None
    path = target[1:] if target.startswith("/xl/") else target if target.startswith("xl/") else f"xl/{target}"
    return next((n for n in archive.namelist() if n.lower() == path.lower()), None)


def _elements(archive: zipfile.ZipFile, path: str, local: str) -> list[dict[str, str]]:
    """Attributes of each `local` element of a small XML member, found case-insensitively as calamine does."""
    member = next((n for n in archive.namelist() if n.lower() == path), None)
    found: list[dict[str, str]] = []
    if member is None:
        return found
    parser = expat.ParserCreate()
    parser.StartElementHandler = lambda n, a: found.append(a) if n.rpartition(":")[2] == local else None
    parser.Parse(archive.read(member), True)
    return found


def _ref_row(ref: str) -> int:
    digits = ref.lstrip("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")
    return int(digits) if digits.isdigit() else 0


def _ref_column(ref: str) -> int:
    letters = ref[: len(ref) - len(ref.lstrip("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"))]
    return _column_number(letters.encode("ascii"))
