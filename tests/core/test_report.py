"""Quarantine reports: capped, complete counts, inert values."""
import io
import json
import zipfile

import pytest
from openpyxl import load_workbook

from daemon.core.report import (
    REPORT_ROW_CAP,
    SIDECAR_MAX_BYTES,
    SIDECAR_SUFFIXES,
    FileReport,
    RowError,
    display_name,
    is_sidecar,
    report_html,
    report_json,
    report_sidecars,
    report_xlsx,
    sidecar_name,
)


def test_report_caps_rows_and_keeps_the_count():
    """More than the cap: the first rows are listed and the total is kept."""
    errors = [
        RowError(n, "ИНН", "1", "ИНН: неверная контрольная сумма") for n in range(REPORT_ROW_CAP + 5, 1, -1)
    ]
    report = FileReport.for_rows("f.csv", "charges", errors)
    data = json.loads(report_json(report))
    assert data["total_errors"] == REPORT_ROW_CAP + 4 and len(data["errors"]) == REPORT_ROW_CAP
    assert data["errors"][0]["line"] == 2


def test_html_escapes_formula_and_markup():
    """A cell like =HYPERLINK(…) or <script> shows as text, never as markup."""
    report = FileReport.for_rows(
        "f.csv", "charges", [RowError(2, "Клиент", '=HYPERLINK("x")<script>', "плохо")]
    )
    html = report_html(report).decode()
    assert "<script>" not in html and "&lt;script&gt;" in html and "=HYPERLINK(&quot;x&quot;)" in html


def test_file_level_reason():
    """A file that cannot be read has one reason and no rows."""
    report = FileReport.for_file("f.xlsx", "charges", "файл XLSX повреждён")
    assert report.as_text() == "f.xlsx: файл XLSX повреждён" and report.errors == ()


@pytest.mark.parametrize(
    "value", ['=HYPERLINK("http://evil.example","Клик")', "+7(912)", "-1+2", "@SUM(A1)", "\t=1+1"]
)
def test_xlsx_cells_that_excel_would_evaluate_stay_text(value):
    """Formula injection: the value is an inline string with Excel's quote prefix, never a formula."""
    data = report_xlsx(
        FileReport.for_rows("f.csv", "charges", [RowError(4, "Клиент", value, "ИНН: неверная")])
    )
    cell = load_workbook(io.BytesIO(data)).active["C3"]
    assert (cell.value, cell.data_type, cell.quotePrefix) == (value, "s", True)
    sheet = zipfile.ZipFile(io.BytesIO(data)).read("xl/worksheets/sheet1.xml").decode()
    assert "<f>" not in sheet and 't="inlineStr"' in sheet


@pytest.mark.parametrize(("count", "reason"), [(1, "1 ошибка в строках"), (3, "3 ошибки в строках"),
                                               (11, "11 ошибок в строках"), (21, "21 ошибка в строках")])
def test_reason_counts_errors_in_russian(count, reason):
    """The reason puts the count before the noun, in the form the count takes."""
    errors = [RowError(n + 2, "ИНН", "1", "ИНН: неверная контрольная сумма") for n in range(count)]
    assert FileReport.for_rows("f.csv", "charges", errors).reason == reason


def test_capped_report_counts_the_rest_in_russian():
    """Past the cap the text and the HTML say how many more, with the plural the number takes."""
    errors = [RowError(n, "ИНН", "1", "ИНН: неверная") for n in range(2, REPORT_ROW_CAP + 4)]
    report = FileReport.for_rows("f.csv", "charges", errors)
    assert report.as_text().endswith("… и ещё 2 ошибки")
    assert f"… и ещё 2 ошибки (показаны первые {REPORT_ROW_CAP})" in report_html(report).decode()


def test_sidecars_are_named_beside_the_file():
    """Each report format is the quarantined file's name plus its suffix; JSON comes first."""
    report = FileReport.for_file("f.csv", "charges", "файл CSV повреждён")
    sidecars = report_sidecars(report)
    assert tuple(sidecars) == SIDECAR_SUFFIXES == (".errors.json", ".errors.html", ".errors.xlsx")
    names = [sidecar_name("f.csv", suffix) for suffix in sidecars]
    assert names == ["f.csv.errors.json", "f.csv.errors.html", "f.csv.errors.xlsx"]
    assert sidecars[".errors.json"] == report_json(report) and sidecars[".errors.html"] == report_html(report)


def test_sidecar_name_refuses_an_unknown_suffix():
    """A typo in a suffix fails loudly instead of writing a report `status` would count as a file."""
    with pytest.raises(ValueError, match="not a quarantine report suffix"):
        sidecar_name("f.csv", ".errors.pdf")


@pytest.mark.parametrize(("name", "sidecar"), [
    ("f.csv.errors.json", True), ("f.csv.errors.html", True), ("f.csv.errors.xlsx", True),
    ("f.csv", False), ("errors.xlsx", False), ("f.xlsx", False), ("f.errors.txt", False),
    (".errors.json", False),
])
def test_is_sidecar(name, sidecar):
    """Only a name with a report suffix after a file's own name is a sidecar."""
    assert is_sidecar(name) is sidecar


@pytest.mark.parametrize(("name", "shown"), [
    ("Начисления.csv", "Начисления.csv"),
    (b"charges_\xff\xfe.csv".decode("utf-8", "surrogateescape"), "charges_\\xff\\xfe.csv"),
    (b"\xcd\xe0\xf7.csv".decode("utf-8", "surrogateescape"), "\\xcd\\xe0\\xf7.csv"),  # cp1251 «Нач»
    ("two\nlines.csv", "two\\x0alines.csv"),
])
def test_display_name_escapes_what_is_not_text(name, shown):
    """Bytes that are not UTF-8 and control characters show as \\xNN; the result encodes as UTF-8."""
    assert display_name(name) == shown
    shown.encode("utf-8")


def test_a_report_shows_an_undecodable_name_escaped():
    """The JSON, HTML and XLSX of a file whose name has byte 0xFF carry «\\xff», and encode."""
    report = FileReport.for_file(b"\xff.csv".decode("utf-8", "surrogateescape"), "charges", "файл повреждён")
    assert report.file_name == "\\xff.csv"
    assert json.loads(report_json(report))["file"] == "\\xff.csv"
    assert all(report_sidecars(report).values())


@pytest.mark.parametrize("name", [
    "ж" * 120 + ".csv",
    "x" * 255,
    b"charges_\xff.csv".decode("utf-8", "surrogateescape"),
])
def test_a_long_or_undecodable_name_gets_short_text_sidecars(name):
    """Each sidecar name is UTF-8 text within SIDECAR_MAX_BYTES, still a sidecar, and unique to its file."""
    for suffix in SIDECAR_SUFFIXES:
        sidecar = sidecar_name(name, suffix)
        assert len(sidecar.encode("utf-8")) <= SIDECAR_MAX_BYTES
        assert sidecar.endswith(suffix) and is_sidecar(sidecar)
        assert sidecar != sidecar_name(name[:-1] + "я", suffix)
