"""Clean and validate every row of a RawTable into canonical records, collecting all errors (core).

Each field's parser turns its cell text into a value or raises ValueError with a reason in Russian;
the errors become RowError right here (row as Excel shows it, column as the file names it, the raw
value, the reason). The pydantic types below wrap the same parsers for the payout sources; charge
rows, the big files, call the parsers directly, which is twice as fast as a model per row.
"""
from __future__ import annotations

import functools
import re
from collections.abc import Callable
from dataclasses import MISSING, dataclass, fields
from datetime import date
from decimal import Decimal
from typing import Annotated

from pydantic import BeforeValidator

from daemon.core.cleaning import (
    is_blank,
    normalize_text,
    parse_date,
    parse_decimal,
    parse_period,
    parse_vat_rate,
)
from daemon.core.ids import inn_error, kpp_error
from daemon.core.money import VatRate, to_kopecks
from daemon.core.periods import month_end, month_start, prorate
from daemon.core.reading import RawRow, RawTable
from daemon.core.records import ChargeRecord
from daemon.core.report import RowError
from daemon.core.rows import columns_of
from daemon.core.schema import SourceSchema

_EMAIL = re.compile(r"^[^@\s;,]+@[^@\s;,]+\.[^@\s;,]+$")


def _optional(parse):
    """A parser for an optional cell: blank → None."""
    return lambda text: parse(text) if text.strip() else None


def _required_text(text: str) -> str:
    value = normalize_text(text)
    if not value:
        raise ValueError("не заполнено")
    return value


def _inn(text: str) -> str:
    value = text.strip()
    problem = inn_error(value)
    if problem:
        raise ValueError(problem)
    return value


def _kpp(text: str) -> str | None:
    value = text.strip().upper()
    if not value:
        return None
    problem = kpp_error(value)
    if problem:
        raise ValueError(problem)
    return value


def _email(text: str) -> str | None:
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


def _quantity(text: str) -> Decimal | None:
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
_required_text, _inn, _kpp, _email, _quantity = (
    _cached(f) for f in (_required_text, _inn, _kpp, _email, _quantity)
)
_optional_money, _optional_date = _cached(_optional(parse_money)), _cached(_optional(parse_date))

Text = Annotated[str, BeforeValidator(normalize_text)]
RequiredText = Annotated[str, BeforeValidator(_required_text)]
Money = Annotated[Decimal | None, BeforeValidator(_optional_money)]
OptionalDate = Annotated[date | None, BeforeValidator(_optional_date)]
Inn = Annotated[str, BeforeValidator(_inn)]
Kpp = Annotated[str | None, BeforeValidator(_kpp)]
Email = Annotated[str | None, BeforeValidator(_email)]


# Not frozen: built and read once per row, and a frozen __init__ would cost a tenth of the validation time.
@dataclass(slots=True)
class ChargeRow:
    """Field-level values of one charge line; cross-field rules follow in `_charge_record`."""

    contract: str
    client_name: str
    inn: str
    service_name: str
    period: date
    account: str = ""
    kpp: str | None = None
    email: str | None = None
    service_id: str = ""
    address: str = ""
    quantity: Decimal | None = None
    unit: str = ""
    price: Decimal | None = None
    amount: Decimal | None = None
    vat_rate: VatRate | None = None
    active_from: date | None = None
    active_to: date | None = None
    monthly_fee: Decimal | None = None
    manager_email: str | None = None
    edo_id: str = ""


# Each field's parser, in the order a row's errors are reported.
_CHARGE_PARSERS: dict[str, Callable[[str], object]] = {
    "contract": _required_text, "account": normalize_text, "client_name": _required_text, "inn": _inn,
    "kpp": _kpp, "email": _email, "service_id": normalize_text, "address": normalize_text,
    "service_name": _required_text, "period": parse_period, "quantity": _quantity, "unit": normalize_text,
    "price": _optional_money, "amount": _optional_money, "vat_rate": parse_vat_rate,
    "active_from": _optional_date, "active_to": _optional_date, "monthly_fee": _optional_money,
    "manager_email": _email, "edo_id": normalize_text,
}
_REQUIRED_FIELDS = frozenset(f.name for f in fields(ChargeRow) if f.default is MISSING)


@dataclass(frozen=True)
class ControlTotal:
    """An amount on a totals row: for the whole file, or for one contract («Итого по договору»)."""

    line: int
    scope: str      # "file" or a contract number
    amount: Decimal


@dataclass(frozen=True)
class Validated:
    records: tuple[ChargeRecord, ...]
    errors: tuple[RowError, ...]
    control_totals: tuple[ControlTotal, ...]
    ignored_columns: tuple[str, ...]


def validate_table(table: RawTable, schema: SourceSchema) -> Validated:
    columns, ignored = columns_of(table, schema)
    header_of = {field: table.headers[index] for field, index in columns.items()}
    # (field, column index or None when the file lacks a required column, parser), in reporting order
    plan = [(f, columns.get(f), parse) for f, parse in _CHARGE_PARSERS.items()
            if f in columns or f in _REQUIRED_FIELDS]
    totals = schema.totals_pattern
    # The first cells (contract, account, client) repeat on every line of a contract.
    is_total = functools.lru_cache(maxsize=4096)(lambda text: totals.match(text.lstrip().lower()) is not None)
    records, errors, controls = [], [], []
    for row in table.rows:
        if is_blank(row.cells):
            continue
        if any(map(is_total, row.cells[:4])):
            cells = {field: row.cells[index] for field, index in columns.items()}
            control = _control_total(row, cells, header_of)
            if isinstance(control, RowError):
                errors.append(control)
            elif control is not None:
                controls.append(control)
            continue
        values, problems = _parse_fields(row, plan)
        result = problems or _charge_record(ChargeRow(**values), row)
        if isinstance(result, ChargeRecord):
            records.append(result)
            continue
        for field, reason in result:
            value = row.cells[columns[field]] if field in columns else ""
            errors.append(RowError(row.line, header_of.get(field, field), value, reason))
    return Validated(tuple(records), tuple(errors), tuple(controls), ignored)


def _parse_fields(
    row: RawRow, plan: list[tuple[str, int | None, Callable[[str], object]]]
) -> tuple[dict[str, object], list[tuple[str, str]]]:
    """Each present field's value, and (field, reason) for each cell that does not parse."""
    values, problems = {}, []
    for field, index, parse in plan:
        if index is None:
            problems.append((field, "Field required"))
            continue
        try:
            values[field] = parse(row.cells[index])
        except ValueError as exc:
            problems.append((field, str(exc)))
    return values, problems


def _control_total(row: RawRow, cells: dict[str, str], header_of: dict[str, str]) -> ControlTotal | RowError | None:
    text = cells.get("amount", "").strip()
    if not text:
        return None
    try:
        amount = parse_decimal(text)
    except ValueError as exc:
        return RowError(row.line, header_of.get("amount", "amount"), text, f"итоговая строка: {exc}")
    contract = cells.get("contract", "").strip()
    scope = contract if contract and not contract.lower().startswith(("итого", "всего")) else "file"
    return ControlTotal(row.line, scope, amount)


def _date_problems(parsed: ChargeRow) -> list[tuple[str, str]]:
    """Service dates must overlap the billed month and run forwards."""
    first, last = month_start(parsed.period), month_end(parsed.period)
    problems = []
    if parsed.active_from and parsed.active_from > last:
        problems.append(("active_from", f"дата подключения позже конца периода {last:%d.%m.%Y}"))
    if parsed.active_to and parsed.active_to < first:
        problems.append(("active_to", f"дата отключения раньше начала периода {first:%d.%m.%Y}"))
    if parsed.active_from and parsed.active_to and parsed.active_to < parsed.active_from:
        problems.append(("active_to", "дата отключения раньше даты подключения"))
    return problems


def _charge_record(parsed: ChargeRow, row: RawRow) -> ChargeRecord | list[tuple[str, str]]:
    """Cross-field rules: the amount from price or pro-rated fee, and the dates inside the period."""
    problems: list[tuple[str, str]] = []
    quantity = parsed.quantity or Decimal(1)
    dated = parsed.active_from is not None or parsed.active_to is not None
    if len(parsed.inn) == 12 and parsed.kpp:
        problems.append(("kpp", "у ИП и физлица (ИНН из 12 цифр) КПП не бывает"))
    if dated:
        problems += _date_problems(parsed)
    if parsed.monthly_fee is None or problems:
        prorated = None
    elif dated:
        prorated = prorate(parsed.monthly_fee, parsed.period, parsed.active_from, parsed.active_to)
    else:
        prorated = parsed.monthly_fee
    amount = parsed.amount
    if amount is None:
        if parsed.price is not None:
            amount = to_kopecks(parsed.price * quantity)
        elif prorated is not None:
            amount = prorated
        else:
            problems.append(("amount", "сумма не заполнена, и нет ни цены, ни абонентской платы, чтобы её рассчитать"))
    else:
        if parsed.price is not None and to_kopecks(parsed.price * quantity) != amount:
            problems.append(("amount", f"сумма не равна количеству × цене = {to_kopecks(parsed.price * quantity)}"))
        if prorated is not None and dated and prorated != amount:
            problems.append(("amount", f"сумма не равна абонплате пропорционально дням = {prorated}"))
    if problems:
        return problems
    return ChargeRecord(
        row=row.line,
        contract=parsed.contract,
        account=parsed.account,
        client_name=parsed.client_name,
        inn=parsed.inn,
        kpp=parsed.kpp,
        email=parsed.email,
        service_id=parsed.service_id or parsed.service_name,
        address=parsed.address,
        service_name=parsed.service_name,
        period=parsed.period,
        quantity=quantity,
        unit=parsed.unit or "мес",
        price=parsed.price,
        amount=amount,
        vat_rate=parsed.vat_rate,
        active_from=parsed.active_from,
        active_to=parsed.active_to,
        monthly_fee=parsed.monthly_fee,
        manager_email=parsed.manager_email,
        edo_id=parsed.edo_id or None,
    )
