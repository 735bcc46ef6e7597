"""How money, quantities, dates, months and counts read for people: mails, PDFs, reports, status (core)."""
from __future__ import annotations

from collections.abc import Callable
from datetime import date
from decimal import Decimal
from typing import Any

from daemon.core.money import to_kopecks

# The thousands separator of every surface: a no-break space, as the print forms have always shown it.
THOUSANDS_SEPARATOR = "\u00a0"
CURRENCY = "руб."
# Field 24 «Назначение платежа» of a платёжное поручение (Положение Банка России 762-П);
# 1CClientBankExchange's НазначениеПлатежа takes no more.
PURPOSE_LIMIT = 210

MONTHS_NOMINATIVE = (
    "январь", "февраль", "март", "апрель", "май", "июнь",
    "июль", "август", "сентябрь", "октябрь", "ноябрь", "декабрь",
)
MONTHS_GENITIVE = (
    "января", "февраля", "марта", "апреля", "мая", "июня",
    "июля", "августа", "сентября", "октября", "ноября", "декабря",
)


def shortened(text: str, limit: int) -> str:
    """`text` cut to `limit` characters, the last one «…» when anything was cut."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def format_money(amount: Decimal | int) -> str:
    """«10 632,67»: half-up to kopecks, no-break spaces in thousands, a decimal comma, «-» if negative."""
    if isinstance(amount, float):
        raise TypeError("денежная сумма: ожидается Decimal, а не float")
    rounded = to_kopecks(Decimal(amount))
    whole, _, kopecks = f"{abs(rounded):.2f}".partition(".")
    groups: list[str] = []
    while whole:
        groups.insert(0, whole[-3:])
        whole = whole[:-3]
    sign = "-" if rounded < 0 else ""
    return f"{sign}{THOUSANDS_SEPARATOR.join(groups)},{kopecks}"


def format_roubles(amount: Decimal | int) -> str:
    """«10 632,67 руб.»: `format_money` and the currency."""
    return f"{format_money(amount)} {CURRENCY}"


def format_quantity(quantity: Decimal) -> str:
    """«1,5», «30», «0,001»: no trailing zeros, no exponent, a decimal comma."""
    return f"{quantity.normalize():f}".replace(".", ",")


def format_date(day: date) -> str:
    """«02.12.2026»."""
    return f"{day:%d.%m.%Y}"


def format_date_long(day: date) -> str:
    """«1 ноября 2026 г.»: the month in the genitive."""
    return f"{day.day} {MONTHS_GENITIVE[day.month - 1]} {day.year} г."


def month_name(period: date) -> str:
    """«ноябрь 2026»: the month of `period` in the nominative, and its year."""
    return f"{MONTHS_NOMINATIVE[period.month - 1]} {period.year}"


def plural_word(count: int, one: str, few: str, many: str) -> str:
    """The form of a noun for `count`: 1, 21, 101 → one; 2–4, 22–24 → few; 0, 5–20, 111–114 → many."""
    n = abs(count)
    if n % 10 == 1 and n % 100 != 11:
        return one
    if 2 <= n % 10 <= 4 and not 12 <= n % 100 <= 14:
        return few
    return many


def plural(count: int, one: str, few: str, many: str) -> str:
    """«1 ошибка», «3 ошибки», «5 ошибок»: the count and the noun in the form it takes."""
    return f"{count} {plural_word(count, one, few, many)}"


# The Jinja2 filters of every template environment (print forms and mails), so both write alike.
FILTERS: dict[str, Callable[..., Any]] = {
    "money": format_money,
    "roubles": format_roubles,
    "qty": format_quantity,
    "short_date": format_date,
    "long_date": format_date_long,
    "month_name": month_name,
    "plural": plural,
}
