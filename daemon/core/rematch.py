"""Payments left unmatched and payers' balances matched again once new invoices are issued (core).

A statement processed before the invoices it pays leaves its payments unmatched (their payers were not
known yet). When a file issues invoices, those payments are matched as at first (match_payments: numbers
in the purpose, else the payer's oldest unpaid invoices), and each balance — money already received from
a known payer — pays that payer's oldest unpaid invoices.
"""
from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, replace
from decimal import Decimal

from daemon.core.bankstatement import Payment
from daemon.core.documents import DocumentKind, DocumentPlan
from daemon.core.formats import format_roubles
from daemon.core.sources.bank import ZERO, Allocation, OpenInvoice, match_payments

BALANCE_RULE = "inn_oldest"


@dataclass(frozen=True)
class Balance:
    """A payer's balance and the payment that left it (the allocations of the balance name it)."""

    inn: str
    amount: Decimal
    payment: Payment


@dataclass(frozen=True)
class RematchLedger:
    """What matching again depends on: payments still unmatched, balances, invoices, known payers."""

    unmatched: Sequence[Payment]
    balances: Sequence[Balance]
    invoices: Sequence[OpenInvoice]
    known_inns: Collection[str]


@dataclass(frozen=True)
class Rematch:
    allocations: tuple[Allocation, ...]
    matched: tuple[Payment, ...]           # payments no longer unmatched: allocated or kept as a balance
    balances: Mapping[str, Decimal]        # each payer's balance change (negative: spent on invoices)


NO_MATCHES = Rematch((), (), {})


@dataclass(frozen=True)
class ChargesPlan:
    """A charges file's documents and the payments its new invoices match."""

    documents: DocumentPlan
    rematch: Rematch

    @property
    def skipped(self) -> tuple[object, ...]:
        return self.documents.skipped


def issued_invoices(plan: DocumentPlan) -> list[OpenInvoice]:
    """The plan's invoices as matching sees them: nothing paid yet."""
    return [
        OpenInvoice(d.number, d.counterparty.inn, d.date, d.total, ZERO)
        for d in plan.documents if d.kind is DocumentKind.INVOICE
    ]


def rematch_payments(ledger: RematchLedger, plan: DocumentPlan | None = None) -> Rematch:
    """Unmatched payments, then balances, against the open invoices and the plan's new ones; a plan that
    issues no invoice matches nothing."""
    new = issued_invoices(plan) if plan else []
    if plan and not new:
        return NO_MATCHES
    invoices = [*ledger.invoices, *new]
    known = {*ledger.known_inns, *(c.inn for c in plan.counterparties)} if plan else set(ledger.known_inns)
    first = match_payments(ledger.unmatched, invoices, (), known)
    left = {p.key for p in first.unmatched}
    state = {inv.number: inv for inv in invoices}
    for allocation in first.allocations:
        invoice = state[allocation.invoice_number]
        state[invoice.number] = replace(invoice, paid=invoice.paid + allocation.amount)
    allocations = list(first.allocations)
    changes = dict(first.balances)
    for balance in ledger.balances:
        spent = _spend_balance(balance, state)
        allocations.extend(spent)
        if spent:
            changes[balance.inn] = changes.get(balance.inn, ZERO) - sum((a.amount for a in spent), ZERO)
    matched = tuple(p for p in ledger.unmatched if p.key not in left)
    return Rematch(tuple(allocations), matched, {inn: amount for inn, amount in changes.items() if amount})


def _spend_balance(balance: Balance, state: dict[str, OpenInvoice]) -> list[Allocation]:
    """The balance on the payer's oldest unpaid invoices; `state` is updated with what it pays."""
    remaining = balance.amount
    spent: list[Allocation] = []
    payer_open = sorted((inv for inv in state.values() if inv.inn == balance.inn and inv.outstanding > 0),
                        key=lambda inv: (inv.date, inv.number))
    for invoice in payer_open:
        amount = min(remaining, invoice.outstanding)
        if amount <= 0:
            break
        remaining -= amount
        state[invoice.number] = replace(invoice, paid=invoice.paid + amount)
        spent.append(Allocation(balance.payment.key, invoice.number, amount, BALANCE_RULE,
                                _explain_balance(balance, invoice, amount)))
    return spent


def _explain_balance(balance: Balance, invoice: OpenInvoice, amount: Decimal) -> str:
    payment = balance.payment
    return (f"остаток {format_roubles(balance.amount)} на балансе плательщика ИНН {balance.inn} (переплата, "
            f"последний платёж № {payment.number} от {payment.date:%d.%m.%Y}): {format_roubles(amount)} "
            f"зачтено в самый ранний неоплаченный счёт {invoice.number}")
