"""Cell parsers shared by every table source: cell text in, a value out or ValueError with a Russian reason (core).

The parsers are memoised (exports repeat the same cells: a client's ИНН on every line, one period, a few
rates); the Annotated types wrap them for the sources validated row by row with pydantic.
"""
from __future__ import annotations

import functools
import re
from datetime import date
from decimal import Decimal
from typing import Annotated

from pydantic import BeforeValidator

from daemon.core.cleaning import normalize_text, parse_date, parse_decimal, parse_period, parse_vat_rate
from daemon.core.ids import inn_error, kpp_error

_EMAIL = re.compile(r"^[^@\s;,]+@[^@\s;,]+\.[^@\s;,]+$")


def optional(parse):
    """A parser for an optional cell: blank → None."""
    return lambda text: parse(text) if text.strip() else None


def parse_required_text(text: str) -> str:
    value = normalize_text(text)
    if not value:
        raise ValueError("не заполнено")
    return value


def parse_inn(text: str) -> str:
    value = text.strip()
    problem = inn_error(value)
    if problem:
        raise ValueError(problem)
    return value


def parse_kpp(text: str) -> str | None:
    value = text.strip().upper()
    if not value:
        return None
    problem = kpp_error(value)
    if problem:
        raise ValueError(problem)
    return value


def parse_email(text: str) -> str | None:
    value = text.strip()
    if not value:
        return None
    if not _EMAIL.match(value):
        raise ValueError(f"неверный адрес e-mail «{value}»")
    return value


def parse_money(text: str) -> Decimal:
    value = parse_decimal(text)
    if value < 0:
        raise ValueError("сумма не может быть отрицательной")
    if value != value.quantize(Decimal("0.01")):
        raise ValueError("больше двух знаков после запятой")
    return value


def parse_quantity(text: str) -> Decimal | None:
    value = parse_decimal(text) if text.strip() else None
    if value is not None and value <= 0:
        raise ValueError("должно быть больше нуля")
    return value


# Exports repeat the same cells (a client's ИНН on every line, one period, a few rates and fees): the
# pure parsers are memoised, which more than doubles the rows validated per second.
_cached = functools.lru_cache(maxsize=65536)
normalize_text, parse_date, parse_period, parse_vat_rate = (
    _cached(f) for f in (normalize_text, parse_date, parse_period, parse_vat_rate)
)
parse_required_text, parse_inn, parse_kpp, parse_email, parse_quantity = (
    _cached(f) for f in (parse_required_text, parse_inn, parse_kpp, parse_email, parse_quantity)
)
parse_optional_money, parse_optional_date = _cached(optional(parse_money)), _cached(optional(parse_date))

Text = Annotated[str, BeforeValidator(normalize_text)]
RequiredText = Annotated[str, BeforeValidator(parse_required_text)]
Money = Annotated[Decimal | None, BeforeValidator(parse_optional_money)]
RequiredDate = Annotated[date, BeforeValidator(parse_date)]
OptionalDate = Annotated[date | None, BeforeValidator(parse_optional_date)]
Inn = Annotated[str, BeforeValidator(parse_inn)]
Kpp = Annotated[str | None, BeforeValidator(parse_kpp)]
Email = Annotated[str | None, BeforeValidator(parse_email)]
