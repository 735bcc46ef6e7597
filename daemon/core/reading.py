"""Bytes of a CSV or XLSX export to a RawTable whose every cell is text (core).

CSV: strict UTF-8 (BOM or not) first, then Windows-1251 checked for plausible Cyrillic; the delimiter
and the header row (not necessarily line 1) are found by matching the schema's required columns.
"""
from __future__ import annotations

import csv
import io
import re
import zipfile
from dataclasses import dataclass

from daemon.core.cleaning import excel_cell_text
from daemon.core.schema import SourceSchema, header_key

HEADER_SEARCH_ROWS = 30
DELIMITERS = (";", "\t", ",")
XLSX_MAGIC = b"PK\x03\x04"
_CYRILLIC_PAIR = re.compile("(?=[\u0410-\u044f\u0401\u0451]{2})")
_CASE_FLIP = re.compile("[\u0430-\u044f\u0451](?=[\u0410-\u042f\u0401])")


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
    from openpyxl import load_workbook  # imported here: CSV-only runs never pay for it

    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        unpacked = sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, ValueError, OSError):
        return FileError("файл XLSX повреждён или обрезан (не открывается как архив Excel)")
    if unpacked > schema.max_xlsx_bytes:
        return FileError(
            f"файл XLSX распаковывается в {unpacked // 2**20} МБ, больше допустимых "
            f"{schema.max_xlsx_bytes // 2**20} МБ: сохраните выгрузку в CSV или разбейте её"
        )
    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        sheet = book[schema.sheet] if schema.sheet else book.worksheets[0]
        rows: list[RawRow] = []
        for number, values in enumerate(sheet.iter_rows(values_only=True), start=1):
            rows.append(RawRow(number, tuple(excel_cell_text(v) for v in values)))
            if len(rows) > schema.max_rows + HEADER_SEARCH_ROWS:
                return FileError(f"в файле больше {schema.max_rows} строк: разбейте выгрузку на части")
        book.close()
    except KeyError:
        return FileError(f"в книге нет листа «{schema.sheet}»")
    except Exception as exc:  # openpyxl raises many kinds on a damaged workbook
        return FileError(f"файл XLSX повреждён: {type(exc).__name__}: {exc}")
    while rows and not any(c.strip() for c in rows[-1].cells):
        rows.pop()
    found = _find_header(rows, schema)
    return _table(rows, found) if isinstance(found, int) else _missing_columns(found)
