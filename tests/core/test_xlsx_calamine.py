"""XLSX read by python-calamine gives the RawTable the openpyxl reader gave; hostile sheets are refused."""
from __future__ import annotations

import io
import re
import subprocess
import sys
import zipfile
from datetime import date, datetime, time, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from openpyxl import Workbook, load_workbook
from openpyxl.cell.rich_text import CellRichText, TextBlock
from openpyxl.cell.text import InlineFont

from daemon.config import builtin_dir
from daemon.core.cleaning import excel_cell_text
from daemon.core.reading import (
    HEADER_SEARCH_ROWS,
    FileError,
    RawRow,
    RawTable,
    _find_header,
    _missing_columns,
    _table,
    read_table,
)
from daemon.core.schema import SourceSchema, parse_schema

ROOT = Path(__file__).resolve().parents[2]
CHARGES = (builtin_dir("inbox_schemas") / "charges.toml").read_text(encoding="utf-8")
SCHEMA = parse_schema(CHARGES, "charges")
HEADER = [
    "Договор", "Лицевой счет", "Клиент", "ИНН", "КПП", "Услуга", "Период", "Сумма", "Дата подключения",
    "Примечание",
]


def openpyxl_read_xlsx(data: bytes, schema: SourceSchema) -> RawTable | FileError:
    """The golden reference: reading.py's `_read_xlsx` as it was with openpyxl, copied unchanged."""
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
    # The golden copy catches what the former reader caught: openpyxl raises many kinds on a damaged
    # workbook, and the equivalence tests compare the FileError each one became.
    except Exception as exc:  # noqa: BLE001 -- kept as it was, see above
        return FileError(f"файл XLSX повреждён: {type(exc).__name__}: {exc}")
    while rows and not any(c.strip() for c in rows[-1].cells):
        rows.pop()
    found = _find_header(rows, schema)
    return _table(rows, found) if isinstance(found, int) else _missing_columns(found)


def _schema(sheet: str = "", max_rows: int | None = None) -> SourceSchema:
    text = CHARGES.replace('sheet = ""', f'sheet = "{sheet}"')
    if max_rows is not None:
        text = text.replace("max_rows = 1000000", f"max_rows = {max_rows}")
    return parse_schema(text, "charges")


def _save(book: Workbook) -> bytes:
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _edit_sheet(data: bytes, edit, part: str = "xl/worksheets/sheet1.xml") -> bytes:
    """The workbook with one member's XML changed by `edit` (bytes → bytes)."""
    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            body = source.read(info.filename)
            target.writestr(info, edit(body) if info.filename == part else body)
    return out.getvalue()


def _fill(sheet, start_row: int, rows: list[list[object]], start_column: int = 1) -> None:
    for r, values in enumerate(rows, start=start_row):
        for c, value in enumerate(values, start=start_column):
            if value is not None:
                sheet.cell(row=r, column=c, value=value)


def _varied_rows() -> list[list[object]]:
    return [
        ["Д-000001", "00100230", 'ООО "Ромашка"', "0274853498", "667001001", "Интернет", "11.2026", 3500,
         date(2026, 11, 1), "ведущие нули"],
        ["Д-000002", 100231, "ИП Иванов И.И.", 770123456789, None, "IP-телефония", datetime(2026, 11, 1),
         0.1 + 0.2, datetime(2026, 11, 3, 14, 30, 15), None],
        ["Д-000003", 100232, "Пётр\u00a0Ёлкин", 667000001400, "", "Аренда", "ноябрь 2026", 1234.5,
         time(10, 10, 10), True],
        ["Д-000004", None, "  пробелы по краям  ", 6670000014, 667001001, "Возврат", "2026-11", -1234.56,
         False, "строка\nвторая"],
        ["Д-000005", 100234, "Число как текст", "6672002970", "667001001", "Видео", "11.2026",
         "3\u00a0500,00", 46000, -5],
        ["Д-000006", 100235, "Дробные", "6672002970", "667001001", "Видео", "11.2026", 1e20, 1.5e-10,
         2**53 + 1],
        ["Д-000007", 100236, "Микросекунды", "6672002970", "667001001", "Видео", "11.2026", 1 / 3,
         datetime(2026, 11, 3, 14, 30, 15, 123456), time(12, 0, 0, 500000)],
        ["Д-000008", 100237, "Длительность", "6672002970", "667001001", "Видео", "11.2026", -0.0,
         timedelta(hours=30, minutes=5), datetime(1900, 1, 15)],
        ["Итого", None, None, None, None, None, None, 12345.67, None, None],
    ]


def _varied_book() -> Workbook:
    """A title, a blank line, the header on row 4, every kind of value, a percent, empty cells in the
    middle, styled empty cells after the table (trailing rows and columns), and a second sheet."""
    book = Workbook()
    sheet = book.active
    sheet.title = "Начисления"
    sheet["A1"] = "Реестр начислений за ноябрь 2026 г."
    sheet["A2"] = "ООО «СеверНет»"
    _fill(sheet, 4, [HEADER])
    _fill(sheet, 5, _varied_rows())
    sheet["K5"], sheet["K6"] = 0.22, 0.2
    sheet["K5"].number_format = sheet["K6"].number_format = "0%"
    sheet["I9"].number_format = "DD.MM.YYYY"
    sheet["I10"].number_format = "[h]:mm:ss"
    sheet["H7"].number_format = "# ##0.00"
    sheet["N20"].number_format = "0.00"  # a styled empty cell: the sheet's dimension reaches N20
    sheet["B30"].number_format = "@"
    other = book.create_sheet("Справочник")
    _fill(other, 1, [["Код", "Название"], ["01", "Интернет"]])
    return book


def _cases() -> dict[str, tuple[bytes, SourceSchema]]:
    cases: dict[str, tuple[bytes, SourceSchema]] = {"varied": (_save(_varied_book()), SCHEMA)}

    book = _varied_book()
    book.move_sheet("Справочник", offset=-1)
    cases["named second sheet"] = (_save(book), _schema("Начисления"))
    cases["first sheet read when it has no table"] = (_save(book), SCHEMA)

    book = _varied_book()
    book.create_sheet("Скрытый", 0).sheet_state = "hidden"
    _fill(book["Скрытый"], 1, [HEADER, ["Д-9", 1, "Скрыт", "6672002970", "", "Интернет", "11.2026", 1]])
    cases["hidden first sheet"] = (_save(book), SCHEMA)

    book = Workbook()
    _fill(book.active, 3, [HEADER, *_varied_rows()], start_column=3)
    cases["table starting at column C"] = (_save(book), SCHEMA)

    book = Workbook()
    _fill(book.active, 1, [HEADER, *_varied_rows()])
    book.active["A1"].value, book.active["D5"].value = None, None
    cases["missing required column"] = (_save(book), SCHEMA)

    book = Workbook()
    rich = CellRichText(["жир", TextBlock(InlineFont(b=True), "ный")])
    _fill(book.active, 1, [
        HEADER,
        ["Д-1", 1, rich, "6672002970", "", "=1+2", "11.2026", "#N/A"],
        ["Д-2", 2, "#DIV/0!", "6672002970", "", "#VALUE!", "11.2026", 1],
    ])
    cases["rich text, formula without cached value, error cells"] = (_save(book), SCHEMA)

    book = Workbook()
    book.epoch = datetime(1904, 1, 1)
    _fill(book.active, 1, [
        HEADER, ["Д-1", 1, "1904", "6672002970", "", "Интернет", datetime(2026, 11, 1), 1, date(2026, 11, 30)]
    ])
    cases["1904 date system"] = (_save(book), SCHEMA)

    book = Workbook()
    _fill(book.active, 1, [HEADER, *(_varied_rows()[:2])])
    cases["shared strings"] = (_as_shared_strings(_save(book)), SCHEMA)

    book = Workbook()
    _fill(book.active, 2, [HEADER, *_varied_rows()])
    data = _edit_sheet(_save(book), lambda xml: re.sub(rb'<c r="[A-Z]+[0-9]+"', b"<c", xml))
    cases["cells without r (positions counted)"] = (data, SCHEMA)

    book = Workbook()
    book.active.append(["только", "заголовок"])
    cases["no header row at all"] = (_save(book), SCHEMA)
    return cases


def _as_shared_strings(data: bytes) -> bytes:
    """The workbook with its inline strings moved into xl/sharedStrings.xml, as Excel writes them."""
    source = zipfile.ZipFile(io.BytesIO(data))
    strings: list[bytes] = []

    def share(match: re.Match[bytes]) -> bytes:
        strings.append(match[2])
        return match[1] + b't="s"><v>' + str(len(strings) - 1).encode() + b"</v></c>"

    inline = rb'(<c r="[A-Z]+[0-9]+" )t="inlineStr"><is>(.*?)</is></c>'
    sheet = re.sub(inline, share, source.read("xl/worksheets/sheet1.xml"))
    table = b'<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">' + b"".join(
        b"<si>" + s + b"</si>" for s in strings) + b"</sst>"
    types = source.read("[Content_Types].xml").replace(
        b"</Types>",
        b'<Override PartName="/xl/sharedStrings.xml" ContentType='
        b'"application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/></Types>',
    )
    rels = source.read("xl/_rels/workbook.xml.rels").replace(
        b"</Relationships>",
        b'<Relationship Id="rIdS" Type='
        b'"http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings"'
        b' Target="sharedStrings.xml"/></Relationships>',
    )
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            body = {"xl/worksheets/sheet1.xml": sheet, "[Content_Types].xml": types,
                    "xl/_rels/workbook.xml.rels": rels}.get(info.filename, source.read(info.filename))
            target.writestr(info, body)
        target.writestr("xl/sharedStrings.xml", table)
    return out.getvalue()


CASES = _cases()


@pytest.mark.parametrize("name", list(CASES))
def test_calamine_reads_what_openpyxl_read(name):
    """Every case gives the very RawTable (or FileError) the openpyxl reader gave."""
    data, schema = CASES[name]
    expected = openpyxl_read_xlsx(data, schema)
    assert read_table(data, "x.xlsx", schema) == expected


def test_varied_cells_as_text():
    """The varied sheet as the operator sees it: leading zeros, ints, floats as written, ISO dates."""
    result = read_table(CASES["varied"][0], "x.xlsx", SCHEMA)
    assert isinstance(result, RawTable) and result.header_row == 4
    cells = [row.cells for row in result.rows]
    assert cells[0][:4] == ("Д-000001", "00100230", 'ООО "Ромашка"', "0274853498")
    assert cells[1][3] == "770123456789" and cells[1][7] == "0.3" and cells[1][8] == "2026-11-03 14:30:15"
    assert cells[1][6] == "2026-11-01" and cells[0][8] == "2026-11-01" and cells[2][8] == "10:10:10"
    assert cells[2][2] == "Пётр\u00a0Ёлкин" and cells[2][7] == "1234.5" and cells[2][9] == "1"
    assert cells[3][7] == "-1234.56" and cells[3][8] == "0" and cells[4][7] == "3\u00a0500,00"
    # I10 has an [h]:mm:ss format
    assert cells[5][7:10] == ("100000000000000000000", "0:00:00", "9007199254740992")
    assert cells[6][7:10] == ("0.3333333333333333", "2026-11-03 14:30:15.123000", "12:00:00.500000")
    assert cells[7][7:10] == ("0", "1 day, 6:05:00", "1900-01-15")
    assert len(result.headers) == 14 and result.rows[-1].cells[0] == "Итого"  # the dimension reaches N20


def test_error_cells_stay_visible():
    """#N/A and #DIV/0! keep their text (calamine alone reads them as empty): a broken formula is reported."""
    result = read_table(CASES["rich text, formula without cached value, error cells"][0], "x.xlsx", SCHEMA)
    assert isinstance(result, RawTable)
    assert [row.cells[2:8] for row in result.rows] == [
        ("жирный", "6672002970", "", "", "11.2026", "#N/A"),
        ("#DIV/0!", "6672002970", "", "#VALUE!", "11.2026", "1"),
    ]


@pytest.mark.parametrize(
    "sample", sorted((ROOT.parent / "shared" / "samples").glob("**/*.xlsx")), ids=lambda p: p.name
)
def test_shared_samples_read_as_before(sample):
    """Each shared sample XLSX reads to the table the openpyxl reader gave."""
    data = sample.read_bytes()
    expected = openpyxl_read_xlsx(data, SCHEMA)
    assert isinstance(expected, RawTable) and read_table(data, sample.name, SCHEMA) == expected


def test_shared_samples_exist(shared_samples):
    """The sample comparison above is not vacuous."""
    assert list(shared_samples.glob("**/*.xlsx"))


def test_a_dimension_smaller_than_the_data_no_longer_hides_rows():
    """Behaviour change: openpyxl trusted `<dimension ref="A1:B2"/>` and dropped the rest; calamine reads
    every cell, as Excel does."""
    book = Workbook()
    _fill(book.active, 1, [HEADER, ["Д-1", 1, "Клиент", "6672002970", "", "Интернет", "11.2026", 1]])
    data = _edit_sheet(
        _save(book), lambda xml: re.sub(rb'<dimension ref="[^"]*"/>', b'<dimension ref="A1:B2"/>', xml)
    )
    assert isinstance(openpyxl_read_xlsx(data, SCHEMA), FileError)
    result = read_table(data, "x.xlsx", SCHEMA)
    assert isinstance(result, RawTable) and result.rows[0].cells[7] == "1"


def _far_cell_book(far: bytes, dimension: bytes = b"A1:XFD1048576") -> bytes:
    """A small table plus `far` (a `<row>` with cells) appended to sheetData, its dimension rewritten."""
    book = Workbook()
    _fill(book.active, 1, [HEADER, ["Д-1", 1, "Клиент", "6672002970", "", "Интернет", "11.2026", 1]])

    def edit(xml: bytes) -> bytes:
        xml = re.sub(rb'<dimension ref="[^"]*"/>', b'<dimension ref="' + dimension + b'"/>', xml)
        return xml.replace(b"</sheetData>", far + b"</sheetData>")

    return _edit_sheet(_save(book), edit)


FAR_CELLS = {
    "XFD1048576": (b'<row r="1048576"><c r="XFD1048576"><v>1</v></c></row>', "больше 1000000 строк"),
    "XFD500000": (
        b'<row r="500000"><c r="XFD500000"><v>1</v></c></row>', "растянут на 500000 строк × 16384 столбцов"
    ),
    "xfd500000 in single quotes": (
        b"<row r='500000'><c t='n' r = 'xfd500000'><v>1</v></c></row>", "растянут"
    ),
    "prefixed cell": (
        (
            b'<x:row xmlns:x="http://schemas.openxmlformats.org/spreadsheetml/2006/main" r="700000">'
            b'<x:c r="AAA700000"><x:v>1</x:v></x:c></x:row>'
        ),
        "растянут на 700000 строк × 703 столбцов",
    ),
    "cell without r in a far row": (b'<row r="900000"><c r="ZZ900000"><v>1</v></c><c><v>2</v></c></row>',
                                    "растянут на 900000 строк × 703 столбцов"),
}


@pytest.mark.parametrize("name", list(FAR_CELLS))
def test_far_cell_is_refused_before_calamine_lays_it_out(name):
    """A few KB with one cell far from the table: calamine would allocate (and abort on) a grid of up to
    512 GB; refused with the reason instead."""
    far, reason = FAR_CELLS[name]
    data = _far_cell_book(far)
    assert len(data) < 10_000
    result = read_table(data, "x.xlsx", SCHEMA)
    assert isinstance(result, FileError) and reason in result.reason, result


def test_far_cell_file_stays_small_in_memory():
    """The 8 KB XFD1048576 file costs a subprocess less than 500 MB of RSS growth (openpyxl took 13 GB)."""
    (far, _), = [FAR_CELLS["XFD1048576"]]
    data = _far_cell_book(far)
    script = (
        "import resource, sys\n"
        "from daemon.config import builtin_dir\n"
        "from daemon.core.reading import FileError, read_table\n"
        "from daemon.core.schema import parse_schema\n"
        "charges = (builtin_dir('inbox_schemas') / 'charges.toml').read_text(encoding='utf-8')\n"
        "schema = parse_schema(charges, 'charges')\n"
        "data = sys.stdin.buffer.read()\n"
        "import python_calamine\n"
        "before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
        "result = read_table(data, 'far.xlsx', schema)\n"
        "after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
        "print(type(result).__name__, (after - before) // 1024)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], input=data, capture_output=True, cwd=ROOT, timeout=300, check=False
    )
    assert done.returncode == 0, done.stderr.decode()
    kind, growth_mb = done.stdout.decode().split()
    assert kind == "FileError" and int(growth_mb) < 500


def test_near_cells_are_read():
    """Cells a little beyond the table (AB40) are read normally."""
    data = _far_cell_book(b'<row r="40"><c r="AB40"><v>7</v></c></row>', b"A1:AB40")
    result = read_table(data, "x.xlsx", SCHEMA)
    expected = openpyxl_read_xlsx(data, SCHEMA)
    assert result == expected and isinstance(result, RawTable) and result.rows[-1].line == 40


def test_xlsx_row_limit():
    """More XLSX rows than the schema allows: refused naming the limit, as the openpyxl reader did."""
    book = Workbook()
    rows = [["Д-1", 1, "Клиент", "6672002970", "", "Интернет", "11.2026", n] for n in range(60)]
    _fill(book.active, 1, [HEADER, *rows])
    data, tight = _save(book), _schema(max_rows=10)
    assert read_table(data, "x.xlsx", tight) == openpyxl_read_xlsx(data, tight) == FileError(
        "в файле больше 10 строк: разбейте выгрузку на части")


def test_missing_named_sheet():
    """A schema naming a sheet the book lacks: refused with its name, as before."""
    data = CASES["varied"][0]
    schema = _schema("Нет такого")
    assert read_table(data, "x.xlsx", schema) == openpyxl_read_xlsx(data, schema)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.integers(0, 10**6), st.integers(0, 255)), min_size=1, max_size=8))
# The central directory then claims zip version 6.4: zipfile raised NotImplementedError.
@example([(21977, 64)])
def test_damaged_xlsx_never_raises(flips):
    """Bytes of a real workbook changed here and there: a table or a FileError, never an exception."""
    data = bytearray(CASES["shared strings"][0])
    for position, value in flips:
        data[position % len(data)] = value
    assert isinstance(read_table(bytes(data), "x.xlsx", SCHEMA), RawTable | FileError)
