"""Reading CSV and XLSX exports into text tables, and refusing what cannot be read."""
from __future__ import annotations

import io

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from openpyxl import Workbook

from daemon.config import builtin_dir
from daemon.core.reading import FileError, RawTable, read_table
from daemon.core.schema import parse_schema

SCHEMA = parse_schema((builtin_dir("inbox_schemas") / "charges.toml").read_text(encoding="utf-8"), "charges")
HEADER = "Договор;Лицевой счет;Клиент;ИНН;КПП;Услуга;Период;Сумма"
ROW = 'Д-1;100230;"ООО ""Ромашка""";6672002970;667001001;Интернет;11.2026;3500,00'


def table(data: bytes, name: str = "x.csv") -> RawTable:
    result = read_table(data, name, SCHEMA)
    assert isinstance(result, RawTable), result
    return result


def test_cp1251_with_title_lines_before_the_header():
    """The header is found below a title and a blank line; line numbers are the editor's."""
    data = f"Выгрузка за 11.2026\r\n\r\n{HEADER}\r\n{ROW}\r\n".encode("cp1251")
    result = table(data)
    assert result.header_row == 3 and result.rows[0].line == 4
    assert result.rows[0].cells[2] == 'ООО "Ромашка"'


def test_utf8_bom_and_comma_delimiter_with_quoted_decimal_commas():
    """UTF-8 with BOM, `,` as delimiter, amounts quoted because of the decimal comma."""
    row = 'Д-1,100230,Ромашка,6672002970,,Интернет,11.2026,"3500,50"'
    data = ("\ufeff" + HEADER.replace(";", ",") + "\n" + row + "\n").encode()
    assert table(data).rows[0].cells[-1] == "3500,50"


def test_inn_keeps_its_leading_zero():
    """Every cell is text: 0274853498 is not turned into a number."""
    data = f"{HEADER}\n{ROW.replace('6672002970', '0274853498')}\n".encode()
    assert table(data).rows[0].cells[3] == "0274853498"


def test_missing_required_column_is_named():
    """No ИНН column: the file is refused naming the column."""
    data = (HEADER.replace("ИНН;", "") + "\n").encode()
    result = read_table(data, "x.csv", SCHEMA)
    assert isinstance(result, FileError) and "ИНН" in result.reason


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "пустой"),
        (b"\x00\x01\x02PK\x00junk" * 50, "двоичные"),
        ((HEADER + "\n" + ROW + "\n").encode("koi8_r") * 5, "кодировка"),
    ],
)
def test_unreadable_files(data, reason):
    """Empty, binary and wrongly encoded files are refused with a reason."""
    result = read_table(data, "x.csv", SCHEMA)
    assert isinstance(result, FileError) and reason in result.reason


def test_header_only_file_has_no_rows():
    """A header-only export is readable and simply empty."""
    assert table(f"{HEADER}\n".encode()).rows == ()


def test_shared_xlsx_sample_and_truncated_copy(shared_samples):
    """The XLSX register reads with its title row; a truncated copy is refused."""
    data = (shared_samples / "charges" / "isp_charges_2026-10.xlsx").read_bytes()
    result = table(data, "r.xlsx")
    assert result.header_row == 3 and result.rows[0].cells[9] == "2026-10-01"
    broken = read_table(data[: len(data) // 2], "r.xlsx", SCHEMA)
    assert isinstance(broken, FileError) and "XLSX" in broken.reason


def test_xlsx_zip_bomb_is_refused():
    """A workbook that unpacks beyond the limit is refused before it is parsed."""
    book = Workbook()
    sheet = book.active
    sheet.append(HEADER.split(";"))
    for n in range(2000):
        sheet.append(["Д-1", "1", "x" * 200, "6672002970", "", "Интернет", "11.2026", n])
    buffer = io.BytesIO()
    book.save(buffer)
    tight = parse_schema(
        (builtin_dir("inbox_schemas") / "charges.toml").read_text(encoding="utf-8").replace(
            "max_xlsx_megabytes = 200", "max_xlsx_megabytes = 0"
        ),
        "charges",
    )
    result = read_table(buffer.getvalue(), "bomb.xlsx", tight)
    assert isinstance(result, FileError) and "распаковывается" in result.reason


def test_row_limit():
    """More rows than the schema allows: refused with the limit named, not read into memory."""
    tight = parse_schema(
        (builtin_dir("inbox_schemas") / "charges.toml").read_text(encoding="utf-8").replace(
            "max_rows = 1000000", "max_rows = 10"
        ),
        "charges",
    )
    data = (HEADER + "\n" + (ROW + "\n") * 11).encode()
    result = read_table(data, "x.csv", tight)
    assert isinstance(result, FileError) and "10" in result.reason


@settings(max_examples=200)
@given(st.binary(max_size=400))
def test_random_bytes_never_raise(data):
    """Whatever the bytes, the result is a table or a FileError."""
    assert isinstance(read_table(data, "x.csv", SCHEMA), RawTable | FileError)
