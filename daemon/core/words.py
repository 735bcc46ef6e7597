"""Amounts in words for invoices: «Двадцать одна тысяча рублей 21 копейка» (core)."""
from __future__ import annotations

from decimal import Decimal

from pytils import numeral

from daemon.core.formats import plural_word
from daemon.core.money import to_kopecks

ROUBLES = ("рубль", "рубля", "рублей")
KOPECKS = ("копейка", "копейки", "копеек")


def amount_in_words(amount: Decimal) -> str:
    """Roubles in words, kopecks in two digits, first letter capitalised."""
    if amount < 0:
        raise ValueError("сумма прописью: отрицательная сумма")
    kopecks_total = int(to_kopecks(amount) * 100)
    roubles, kopecks = divmod(kopecks_total, 100)
    words = numeral.sum_string(roubles, numeral.MALE, ROUBLES) if roubles else f"ноль {ROUBLES[2]}"
    text = f"{words} {kopecks:02d} {plural_word(kopecks, *KOPECKS)}"
    return text[0].upper() + text[1:]
