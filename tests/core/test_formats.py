"""Formats for people: money, quantities, dates, month names and plural forms."""
from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from daemon.core.formats import (
    FILTERS,
    format_date,
    format_date_long,
    format_money,
    format_quantity,
    format_roubles,
    month_name,
    plural,
    plural_word,
)
from daemon.core.money import to_kopecks

NBSP = "\u00a0"
ERRORS = ("ошибка", "ошибки", "ошибок")


@pytest.mark.parametrize(
    ("amount", "text"),
    [
        ("10632.67", f"10{NBSP}632,67"),
        ("0", "0,00"),
        ("0.00", "0,00"),
        ("-0.00", "0,00"),
        ("0.05", "0,05"),
        ("7", "7,00"),
        ("999.99", "999,99"),
        ("1000", f"1{NBSP}000,00"),
        ("-1234.5", f"-1{NBSP}234,50"),
        ("-0.01", "-0,01"),
        ("123456789012.34", f"123{NBSP}456{NBSP}789{NBSP}012,34"),
        ("1000000", f"1{NBSP}000{NBSP}000,00"),
    ],
)
def test_money(amount, text):
    """A no-break space between thousands, a decimal comma, two kopeck digits, a leading minus."""
    assert format_money(Decimal(amount)) == text


def test_money_rounds_kopecks_half_up():
    """A third kopeck digit of 5 goes up, as `to_kopecks` rounds (Decimal's own format would go to even)."""
    assert (format_money(Decimal("0.125")), format_money(Decimal("-2.675"))) == ("0,13", "-2,68")


def test_money_takes_an_int_but_never_a_float():
    """Jinja's `sum` of an empty list is 0; a float is a bug upstream, not a sum to print."""
    assert format_money(0) == "0,00"
    with pytest.raises(TypeError):
        format_money(10632.67)  # type: ignore[arg-type]


def test_roubles():
    """«10 632,67 руб.», as mails, reports and the status table print a sum."""
    assert format_roubles(Decimal("10632.67")) == f"10{NBSP}632,67 руб."


@given(st.decimals(min_value=-(10**12), max_value=10**12, places=2, allow_nan=False, allow_infinity=False))
def test_money_reads_back_as_the_same_amount(amount):
    """Dropping the grouping and putting the point back gives the kopeck amount that was formatted."""
    text = format_money(amount)
    assert Decimal(text.replace(NBSP, "").replace(",", ".")) == to_kopecks(amount)
    whole = text.lstrip("-").partition(",")[0]
    assert all(len(group) == 3 for group in whole.split(NBSP)[1:]) and 1 <= len(whole.split(NBSP)[0]) <= 3


@pytest.mark.parametrize(
    ("quantity", "text"), [("1", "1"), ("1.500", "1,5"), ("100", "100"), ("0.001", "0,001"), ("30.00", "30")]
)
def test_quantity(quantity, text):
    """No trailing zeros and no exponent («100», not «1E+2»), a decimal comma."""
    assert format_quantity(Decimal(quantity)) == text


def test_date():
    """Day and month in two digits: «02.12.2026»."""
    assert format_date(date(2026, 12, 2)) == "02.12.2026"


@pytest.mark.parametrize(
    ("day", "text"),
    [(date(2026, 11, 1), "1 ноября 2026 г."), (date(2026, 3, 8), "8 марта 2026 г."),
     (date(2027, 1, 31), "31 января 2027 г."), (date(2026, 5, 9), "9 мая 2026 г.")],
)
def test_long_date(day, text):
    """The day without a leading zero and the month in the genitive, as the print forms write it."""
    assert format_date_long(day) == text


@pytest.mark.parametrize(
    ("month", "name"),
    [(1, "январь"), (2, "февраль"), (3, "март"), (4, "апрель"), (5, "май"), (6, "июнь"), (7, "июль"),
     (8, "август"), (9, "сентябрь"), (10, "октябрь"), (11, "ноябрь"), (12, "декабрь")],
)
def test_month_name(month, name):
    """The nominative month and the year, whatever the day: «ноябрь 2026»."""
    assert month_name(date(2026, month, 17)) == f"{name} 2026"


@pytest.mark.parametrize(
    ("count", "text"),
    [(0, "0 ошибок"), (1, "1 ошибка"), (2, "2 ошибки"), (3, "3 ошибки"), (4, "4 ошибки"), (5, "5 ошибок"),
     (11, "11 ошибок"), (12, "12 ошибок"), (14, "14 ошибок"), (21, "21 ошибка"), (22, "22 ошибки"),
     (25, "25 ошибок"), (101, "101 ошибка"), (111, "111 ошибок"), (112, "112 ошибок"), (1000, "1000 ошибок"),
     (1001, "1001 ошибка")],
)
def test_plural(count, text):
    """One, few and many: 1 and 21 but not 11; 2–4 and 22–24 but not 12–14; everything else many."""
    assert plural(count, *ERRORS) == text


@pytest.mark.parametrize(
    ("count", "word"),
    [(1, "документ"), (3, "документа"), (5, "документов"), (-1, "документ"), (-12, "документов")],
)
def test_plural_word(count, word):
    """Only the noun, for counts printed apart from it; a negative count takes its absolute value's form."""
    assert plural_word(count, "документ", "документа", "документов") == word


@given(st.integers(min_value=0, max_value=10**6))
def test_plural_depends_on_the_last_two_digits(count):
    """The form of n is the form of n mod 100."""
    assert plural_word(count, *ERRORS) == plural_word(count % 100, *ERRORS)


def test_filters_name_the_formatters():
    """Both template environments get the same filters from one table."""
    assert FILTERS["money"] is format_money and FILTERS["roubles"] is format_roubles
    assert FILTERS["short_date"] is format_date and FILTERS["long_date"] is format_date_long
    assert (FILTERS["plural"] is plural and FILTERS["month_name"] is month_name
            and FILTERS["qty"] is format_quantity)
