"""Cell parsers: numbers, dates, periods, VAT rates."""
import contextlib
from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from daemon.core.cleaning import excel_cell_text, parse_date, parse_decimal, parse_period, parse_vat_rate
from daemon.core.money import NO_VAT, VatRate


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("1 234,50", "1234.50"),
        ("1\u00a0234,5", "1234.5"),
        ("3500", "3500"),
        ("\u2212590,00", "-590.00"),
        (",5", "0.5"),
    ],
)
def test_parse_decimal(text, value):
    """Spaces/NBSP as thousands separators, decimal comma, a Unicode minus."""
    assert parse_decimal(text) == Decimal(value)


@pytest.mark.parametrize("text", ["abc", "1,2,3", "", "12 руб", "1e5"])
def test_parse_decimal_refuses_garbage(text):
    """Anything but a plain number is a ValueError with a Russian reason."""
    with pytest.raises(ValueError, match="ожидается число"):
        parse_decimal(text)


@given(st.text(max_size=30))
def test_parse_decimal_never_raises_anything_else(text):
    """Random text gives a Decimal or a ValueError, nothing else."""
    with contextlib.suppress(ValueError):
        assert isinstance(parse_decimal(text), Decimal)


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("02.11.2026", date(2026, 11, 2)),
        ("2.11.26", date(2026, 11, 2)),
        ("2026-11-02", date(2026, 11, 2)),
        ("46328", date(2026, 11, 2)),
        ("2026-11-02 00:00:00", date(2026, 11, 2)),
    ],
)
def test_parse_date(text, value):
    """Russian, ISO and Excel-serial dates."""
    assert parse_date(text) == value


@pytest.mark.parametrize(
    "text", ["11.2026", "2026-11", "01.11.2026", "ноябрь 2026", "Ноябрь 2026 г.", "2026-11-01"]
)
def test_parse_period(text):
    """Every way exports write a month gives its first day."""
    assert parse_period(text) == date(2026, 11, 1)


def test_parse_vat_rate():
    """«Без НДС», «22%», «НДС 10%»; empty means the source default; nonsense is refused."""
    assert parse_vat_rate("Без НДС") == NO_VAT
    assert parse_vat_rate("22%") == VatRate(Decimal(22))
    assert parse_vat_rate("НДС 10%") == VatRate(Decimal(10))
    assert parse_vat_rate(" ") is None
    with pytest.raises(ValueError, match="неизвестная ставка НДС"):
        parse_vat_rate("двадцать")


def test_excel_cell_text_keeps_numbers_as_excel_shows_them():
    """304.52 stays 304.52 (not a binary float tail), 3500.0 shows as 3500."""
    assert excel_cell_text(304.52) == "304.52" and excel_cell_text(3500.0) == "3500"
    assert excel_cell_text(200100) == "200100" and excel_cell_text(None) == ""
