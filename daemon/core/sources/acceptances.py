"""Acceptances: the agent accepted a payout's act, so billdrop writes the payment order paying it (core)."""
from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from pydantic import BaseModel, ConfigDict

from daemon.core.cells import RequiredDate, RequiredText
from daemon.core.documents import Document, DocumentKind, IssueRules, next_number
from daemon.core.formats import PURPOSE_LIMIT
from daemon.core.money import VatRate
from daemon.core.reading import FileError, RawTable, read_table
from daemon.core.records import Contract, Counterparty
from daemon.core.report import RowError
from daemon.core.rows import Checked, validate_rows
from daemon.core.schema import SourceSchema


@dataclass(frozen=True)
class PaymentOrder:
    """Our payment order (платёжное поручение) paying an agent's accepted act.

    `number` is digits only (banks take at most 6); `purpose` is the НазначениеПлатежа text, VAT clause
    included, as the bank and 1C show it.
    """

    number: str
    # `dt.date` in this class: the field `date` shadows the type for the annotations below it
    date: dt.date
    amount: Decimal
    payee: Counterparty          # its `bank` is where the money goes
    contract: Contract
    act_number: str
    act_date: dt.date
    payout_id: str
    vat_rate: VatRate
    vat: Decimal
    purpose: str


@dataclass(frozen=True)
class Acceptance:
    """The agent accepted the act of `payout_id` on `accepted_on`."""

    row: int
    payout_id: str
    accepted_on: date


class AcceptanceRow(BaseModel):
    model_config = ConfigDict(frozen=True)

    payout_id: RequiredText
    accepted_at: RequiredDate


def validate_acceptances(table: RawTable, schema: SourceSchema) -> Checked[Acceptance]:
    return validate_rows(
        table, schema, AcceptanceRow, lambda row, line: Acceptance(line, row.payout_id, row.accepted_at)
    )


def check(data: bytes, file_name: str, schema: SourceSchema) -> Checked[Acceptance] | FileError:
    """Read and validate the platform's list of accepted acts."""
    table = read_table(data, file_name, schema)
    return table if isinstance(table, FileError) else validate_acceptances(table, schema)


@dataclass(frozen=True)
class IssuedPayout:
    """A payout's act and, once the agent accepted it, the payment order that pays it."""

    act: Document
    order_number: str | None = None


@dataclass(frozen=True)
class OrderPlan:
    orders: tuple[PaymentOrder, ...]
    sequences: Mapping[tuple[DocumentKind, str], int]


def payment_purpose(act: Document) -> str:
    """«Оплата по акту № … от … по договору № … от …. В т.ч. НДС 22% - 123.45 руб.» or «Без налога (НДС)»."""
    contract = act.contract
    signed = f" от {contract.date:%d.%m.%Y}" if contract.date else ""
    vat = "Без налога (НДС)" if act.vat_exempt else (
        f"В т.ч. НДС {act.lines[0].vat_rate.label} - {act.vat} руб." if len(act.lines) == 1
        else f"В т.ч. НДС {act.vat} руб."
    )
    text = (
        f"Оплата по акту № {act.number} от {act.date:%d.%m.%Y} по договору № {contract.number}{signed}. {vat}"
    )
    return text[:PURPOSE_LIMIT]


def _payable(
    payout_id: str, payouts: Mapping[str, IssuedPayout], seen: Mapping[str, int]
) -> IssuedPayout | str:
    """The issued payout an acceptance lets us pay, or why it cannot be paid."""
    issued = payouts.get(payout_id)
    if payout_id in seen:
        return f"выплата повторяется: она уже в строке {seen[payout_id]}"
    if issued is None:
        return "выплата не найдена: акт по ней billdrop не оформлял"
    if issued.order_number is not None:
        return (f"акт № {issued.act.number} уже принят и оплачивается платёжным поручением "
                f"№ {issued.order_number}")
    return issued


def plan_payment_orders(
    acceptances: Sequence[Acceptance],
    payouts: Mapping[str, IssuedPayout],
    sequences: Mapping[tuple[DocumentKind, str], int],
    rules: IssueRules,
    today: date,
) -> OrderPlan | tuple[RowError, ...]:
    """A payment order per accepted payout; an unknown, repeated or already paid payout is an error."""
    kind = DocumentKind.PAYMENT_ORDER
    counters = dict(sequences)
    orders: list[PaymentOrder] = []
    errors: list[RowError] = []
    seen: dict[str, int] = {}
    for acceptance in acceptances:
        payable = _payable(acceptance.payout_id, payouts, seen)
        seen.setdefault(acceptance.payout_id, acceptance.row)
        if isinstance(payable, str):
            errors.append(RowError(acceptance.row, "payout_id", acceptance.payout_id, payable))
            continue
        number = next_number(kind, rules, counters, period=today, row=acceptance.row)
        if isinstance(number, RowError):
            errors.append(number)
            continue
        act = payable.act
        orders.append(PaymentOrder(
            number=number, date=today, amount=act.total, payee=act.counterparty, contract=act.contract,
            act_number=act.number, act_date=act.date, payout_id=acceptance.payout_id,
            vat_rate=act.lines[0].vat_rate, vat=act.vat, purpose=payment_purpose(act),
        ))
    if errors:
        return tuple(errors)
    return OrderPlan(tuple(orders), {k: v for k, v in counters.items() if sequences.get(k) != v})
