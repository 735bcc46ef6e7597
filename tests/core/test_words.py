"""Amounts in words, as invoices print them."""
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from daemon.core.words import amount_in_words


@pytest.mark.parametrize(
    ("amount", "words"),
    [
        ("21021.21", "Двадцать одна тысяча двадцать один рубль 21 копейка"),
        ("1002.02", "Одна тысяча два рубля 02 копейки"),
        ("0", "Ноль рублей 00 копеек"),
        ("5.05", "Пять рублей 05 копеек"),
        ("11.11", "Одиннадцать рублей 11 копеек"),
        ("1000000", "Один миллион рублей 00 копеек"),
    ],
)
def test_amount_in_words(amount, words):
    """Gender and plural forms of рубль, тысяча and копейка."""
    assert amount_in_words(Decimal(amount)) == words


@given(st.decimals(min_value=0, max_value=10**11 - 1, places=2))
def test_kopecks_always_two_digits(amount):
    """Every amount ends in two kopeck digits and a form of «копейка»."""
    words = amount_in_words(amount).split()
    assert words[0][0].isupper() and len(words[-2]) == 2 and words[-1].startswith("копе")


def test_negative_is_refused():
    """A negative amount has no invoice wording."""
    with pytest.raises(ValueError, match="отрицательная сумма"):
        amount_in_words(Decimal(-1))
