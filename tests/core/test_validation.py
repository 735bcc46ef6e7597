"""Validating charge rows: every error collected, named by row, column, value and reason."""
from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from daemon.config import builtin_dir
from daemon.core.cells import parse_money, parse_quantity
from daemon.core.reading import RawTable, read_table
from daemon.core.schema import parse_schema
from daemon.core.sources.charges import Validated, validate_table

SCHEMA = parse_schema((builtin_dir("inbox_schemas") / "charges.toml").read_text(encoding="utf-8"), "charges")
HEADER = (
    "Договор;Лицевой счет;Клиент;ИНН;КПП;Email;Услуга;Период;Дата подключения;Дата отключения;"
    "Абонплата;Цена;Сумма;Мусор"
)


def validate(*rows: str) -> Validated:
    table = read_table(("\n".join((HEADER, *rows)) + "\n").encode(), "x.csv", SCHEMA)
    assert isinstance(table, RawTable), table
    return validate_table(table, SCHEMA)


def test_good_row_becomes_a_record():
    """Defaults fill quantity and unit; unknown columns are reported as ignored."""
    result = validate("Д-1;100230;ООО Ромашка;6672002970;667001001;a@b.ru;Интернет;11.2026;;;;;3500,00;x")
    record = result.records[0]
    assert result.errors == () and result.ignored_columns == ("Мусор",)
    assert (record.row, record.amount, record.quantity, record.unit, record.period) == (
        2,
        Decimal("3500.00"),
        Decimal(1),
        "мес",
        date(2026, 11, 1),
    )


def test_every_error_of_every_row_is_collected():
    """Bad ИНН, bad e-mail and text in the amount: three errors over two rows, each fully named."""
    result = validate(
        "Д-1;1;ООО Ромашка;6672002971;667001001;not-an-email;Интернет;11.2026;;;;;3500,00;",
        "Д-2;2;АО Вектор;6677276935;667001001;a@b.ru;Интернет;11.2026;;;;;шесть;",
    )
    found = {(e.line, e.column, e.value) for e in result.errors}
    assert found == {(2, "ИНН", "6672002971"), (2, "Email", "not-an-email"), (3, "Сумма", "шесть")}
    assert all(e.reason for e in result.errors) and result.records == ()


def test_prorated_amount_is_checked_against_fee_and_dates():
    """Fee 590, connected 02.11: 570.33 passes, 580.00 is refused with the expected figure."""
    good = validate("Д-1;1;ИП Сидоров;661909802738;;a@b.ru;Тел;11.2026;02.11.2026;;590,00;;570,33;")
    bad = validate("Д-1;1;ИП Сидоров;661909802738;;a@b.ru;Тел;11.2026;02.11.2026;;590,00;;580,00;")
    assert good.errors == () and good.records[0].amount == Decimal("570.33")
    assert bad.errors[0].column == "Сумма" and "570,33 руб." in bad.errors[0].reason


def test_amount_computed_from_fee_when_missing():
    """No amount column value: the pro-rated monthly fee is the amount."""
    result = validate("Д-1;1;ООО Ромашка;6672002970;;a@b.ru;Волокно;11.2026;01.11.2026;11.11.2026;15000;;;")
    assert result.records[0].amount == Decimal("5500.00")


def test_cross_field_rules():
    """КПП with a 12-digit ИНН, dates outside the period, price that does not give the amount."""
    result = validate(
        "Д-1;1;ИП Сидоров;661909802738;667001001;a@b.ru;Тел;11.2026;;;;;590,00;",
        "Д-2;2;ООО Ромашка;6672002970;;a@b.ru;Тел;11.2026;05.12.2026;;;;590,00;",
        "Д-3;3;ООО Ромашка;6672002970;;a@b.ru;Тел;11.2026;;;;100,00;590,00;",
    )
    assert {(e.line, e.column) for e in result.errors} == {(2, "КПП"), (3, "Дата подключения"), (4, "Сумма")}


def test_money_rules():
    """Negative sums and three decimals are refused; an empty required cell is named."""
    result = validate(
        "Д-1;1;ООО Ромашка;6672002970;;;Интернет;11.2026;;;;;-5;",
        "Д-2;2;ООО Ромашка;6672002970;;;Интернет;11.2026;;;;;1,005;",
        "Д-3;3;;6672002970;;;Интернет;11.2026;;;;;1;",
    )
    assert {(e.line, e.column) for e in result.errors} == {(2, "Сумма"), (3, "Сумма"), (4, "Клиент")}


def test_totals_rows_become_control_totals():
    """«Итого» rows are not charges; their amounts are kept to reconcile."""
    result = validate("Д-1;1;ООО Ромашка;6672002970;;;Интернет;11.2026;;;;;10;", "Итого;;;;;;;;;;;;10,00;")
    assert len(result.records) == 1 and result.control_totals[0].amount == Decimal("10.00")
    assert result.control_totals[0].scope == "file"


def test_shared_samples_validate_cleanly(shared_samples):
    """Both ISP samples: every row valid, the CSV's control total equals the sum of its lines."""
    for name, rows in (("isp_charges_2026-11.csv", 61), ("isp_charges_2026-10.xlsx", 30)):
        data = (shared_samples / "charges" / name).read_bytes()
        result = validate_table(read_table(data, name, SCHEMA), SCHEMA)
        assert result.errors == () and len(result.records) == rows
        assert sum(r.amount for r in result.records) == result.control_totals[0].amount


@pytest.mark.parametrize(
    ("parse", "text", "reason"),
    [
        (parse_money, "99999999999,99", None),
        (parse_money, "100000000000,00", "сумма больше 99\u00a0999\u00a0999\u00a0999,99"),
        (parse_quantity, "999999999,999", None),
        (parse_quantity, "1000000000", "количество больше 999999999,999"),
        (parse_quantity, "0,0001", "больше трёх знаков после запятой"),
    ],
)
def test_amounts_and_quantities_are_bounded_by_what_1c_holds(parse, text, reason):
    if reason is None:
        assert parse(text) is not None
    else:
        with pytest.raises(ValueError, match=reason):
            parse(text)
