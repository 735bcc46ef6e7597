"""Cell parsers shared by every table source: cell text in, a value or a ValueError in Russian (core).

The parsers are memoised (exports repeat the same cells: a client's ИНН on every line, one period, a few
rates); the Annotated types wrap them for the sources validated row by row with pydantic.
"""
from __future__ import annotations

import functools
import re
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from typing import Annotated, TypeVar

from pydantic import BeforeValidator

from daemon.core import cleaning
from daemon.core.cleaning import parse_decimal
from daemon.core.formats import format_money, format_quantity
from daemon.core.ids import inn_error, kpp_error
from daemon.core.money import VatRate

# What 1C's ТипСумма (15 digits, 2 after the point) holds for a document of many lines, and what its
# ТипКоличество (15 digits, 3 after the point) holds.
MAX_LINE_AMOUNT = Decimal("99999999999.99")
MAX_QUANTITY = Decimal("999999999.999")
_EMAIL = re.compile(r"^[^@\s;,]+@[^@\s;,]+\.[^@\s;,]+$")

_T = TypeVar("_T")


# Exports repeat the same cells (a client's ИНН on every line, one period, a few rates and fees): the
# pure parsers are memoised, which more than doubles the rows validated per second.
def _cached(parse: Callable[[str], _T]) -> Callable[[str], _T]:
    """`parse` memoised (an LRU cache), typed as the parser it wraps."""
    return functools.lru_cache(maxsize=65536)(parse)


def optional(parse: Callable[[str], _T]) -> Callable[[str], _T | None]:
    """A parser for an optional cell: blank → None."""
    return lambda text: parse(text) if text.strip() else None


parse_text: Callable[[str], str] = _cached(cleaning.clean_text)
parse_date: Callable[[str], date] = _cached(cleaning.parse_date)
parse_period: Callable[[str], date] = _cached(cleaning.parse_period)
parse_vat_rate: Callable[[str], VatRate | None] = _cached(cleaning.parse_vat_rate)


@_cached
def parse_required_text(text: str) -> str:
    value = parse_text(text)
    if not value:
        raise ValueError("не заполнено")
    return value


def limited(parse: Callable[[str], str], limit: int) -> Callable[[str], str]:
    """`parse`, refusing a value longer than `limit` characters (a field an output holds fewer of)."""

    def parse_limited(text: str) -> str:
        value = parse(text)
        if len(value) > limit:
            raise ValueError(f"длиннее {limit} знаков ({len(value)})")
        return value

    return _cached(parse_limited)


# ФНС's РеквНомерДок (the contract in «Основание») and КодТов (a service's code) hold no more.
parse_contract_number = limited(parse_required_text, 255)
parse_optional_contract_number = limited(parse_text, 255)
parse_service_code = limited(parse_text, 100)


@_cached
def parse_inn(text: str) -> str:
    value = text.strip()
    problem = inn_error(value)
    if problem:
        raise ValueError(problem)
    return value


@_cached
def parse_kpp(text: str) -> str | None:
    value = text.strip().upper()
    if not value:
        return None
    problem = kpp_error(value)
    if problem:
        raise ValueError(problem)
    return value


@_cached
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
    if value > MAX_LINE_AMOUNT:
        raise ValueError(f"сумма больше {format_money(MAX_LINE_AMOUNT)}: проверьте разделители и единицы")
    return value


@_cached
def parse_quantity(text: str) -> Decimal | None:
    value = parse_decimal(text) if text.strip() else None
    if value is None:
        return None
    if value <= 0:
        raise ValueError("должно быть больше нуля")
    if value != value.quantize(Decimal("0.001")):
        raise ValueError("больше трёх знаков после запятой")
    if value > MAX_QUANTITY:
        raise ValueError(f"количество больше {format_quantity(MAX_QUANTITY)}")
    return value


parse_optional_money, parse_optional_date = _cached(optional(parse_money)), _cached(optional(parse_date))

Text = Annotated[str, BeforeValidator(parse_text)]
ContractNumber = Annotated[str, BeforeValidator(parse_optional_contract_number)]
RequiredText = Annotated[str, BeforeValidator(parse_required_text)]
Money = Annotated[Decimal | None, BeforeValidator(parse_optional_money)]
RequiredDate = Annotated[date, BeforeValidator(parse_date)]
OptionalDate = Annotated[date | None, BeforeValidator(parse_optional_date)]
Inn = Annotated[str, BeforeValidator(parse_inn)]
Kpp = Annotated[str | None, BeforeValidator(parse_kpp)]
Email = Annotated[str | None, BeforeValidator(parse_email)]
