"""Cell parsers: numbers, dates, periods, VAT rates."""
import contextlib
from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from daemon.core.cleaning import (
    TEXT_LIMIT,
    clean_text,
    excel_cell_text,
    parse_date,
    parse_decimal,
    parse_period,
    parse_vat_rate,
    shown,
)
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


@pytest.mark.parametrize(
    ("text", "value"),
    [
        (" ООО\t«Ёлка»\r\n", "ООО «Ёлка»"),             # tabs and line breaks fold into spaces
        ("Ро\u00adмаш\u200bка\ufeff", "Ромашка"),      # soft hyphen, zero-width space, BOM removed
        ("abc\u202egnp.exe", "abcgnp.exe"),             # a bidi override removed, not obeyed
        ("中文 😀 e\u0301 \ue000", "中文 😀 e\u0301 \ue000"),   # letters, emoji, marks, private use kept
    ],
)
def test_clean_text_keeps_what_outputs_hold(text, value):
    assert clean_text(text) == value


@pytest.mark.parametrize("char", ["\x00", "\x01", "\x0b", "\x1f", "\x7f", "\x85", "\x9f", "\ud800", "\uffff"])
def test_clean_text_refuses_control_characters_naming_them(char):
    with pytest.raises(ValueError, match=f"U\\+{ord(char):04X} в позиции 3"):
        clean_text("ab" + char)


def test_clean_text_refuses_more_than_the_limit():
    assert clean_text("я" * TEXT_LIMIT) == "я" * TEXT_LIMIT
    with pytest.raises(ValueError, match=f"длиннее {TEXT_LIMIT} знаков"):
        clean_text("я" * (TEXT_LIMIT + 1))


def test_shown_escapes_what_a_report_cannot_hold_and_cuts_long_text():
    assert shown("ООО \x01Р\u200b") == "ООО \\x01Р\\u200b"
    assert shown("я" * 300) == "я" * 199 + "…"
