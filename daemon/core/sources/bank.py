"""Bank statements: credits to our accounts matched to invoices, and invoice payment status (core).

Rules, in order, each allocation explained:
1. invoice numbers written in the purpose («сч.2611-00002», «№ 2611 - 00003», several at once; a
   number without its prefix — «счёт 4» — only among the payer's own invoices) are paid in the
   order written; what is left over stays with the payer as a balance;
2. with no number, the payer's oldest unpaid invoices (by ИНН) are paid;
3. the rest is the payer's balance, or the payment is unmatched when the payer is unknown.

A file that is no statement of ours (another company's, or a payment file for the bank) is refused
before any matching (`refuse_foreign`).
"""
from __future__ import annotations

import datetime as dt
import re
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal

from daemon.core.bankstatement import (
    Payment,
    StatementDocument,
    StatementFailure,
    incoming_payments,
    parse_statement,
)
from daemon.core.formats import format_roubles, plural
from daemon.core.reading import FileError
from daemon.core.report import RowError
from daemon.core.rows import Checked

ZERO = Decimal("0.00")
_DASHES = re.compile(r"\s*[-\u2010-\u2015]\s*")
_TOKEN = re.compile(r"[0-9A-Za-zА-Яа-яЁё/_-]+")
_SHORT_NUMBER = re.compile(r"(?:сч[её]т[а-я]*|сч)\.?\s*(?:№|N|#)?\s*(\d{1,6})(?![\d.\-/])", re.IGNORECASE)


@dataclass(frozen=True)
class OpenInvoice:
    number: str
    inn: str
    date: dt.date   # `dt.date`: a field named `date` shadows the type in the annotations after it
    total: Decimal
    paid: Decimal

    @property
    def outstanding(self) -> Decimal:
        return max(ZERO, self.total - self.paid)


@dataclass(frozen=True)
class Allocation:
    payment_key: str
    invoice_number: str
    amount: Decimal
    rule: str          # number | inn_oldest
    explanation: str


@dataclass(frozen=True)
class MatchResult:
    allocations: tuple[Allocation, ...]
    balances: dict[str, Decimal]          # overpayment added per ИНН
    unmatched: tuple[Payment, ...]
    duplicates: tuple[Payment, ...]


def numbers_in_purpose(
    purpose: str, invoices: dict[str, OpenInvoice], payer_invoices: Sequence[OpenInvoice]
) -> list[OpenInvoice]:
    """Invoices named in a payment purpose, in the order written, each once."""
    text = _DASHES.sub("-", purpose)
    found: list[OpenInvoice] = []
    for token in _TOKEN.findall(text):
        invoice = invoices.get(token.strip("-/").upper())
        if invoice and invoice not in found:
            found.append(invoice)
    if not found:
        by_sequence = {int(inv.number.rsplit("-", 1)[-1]): inv for inv in payer_invoices
                       if inv.number.rsplit("-", 1)[-1].isdigit()}
        for short in _SHORT_NUMBER.findall(text):
            invoice = by_sequence.get(int(short))
            if invoice and invoice not in found:
                found.append(invoice)
    return found


def match_payments(payments: Sequence[Payment], invoices: Sequence[OpenInvoice], seen_keys: Collection[str],
                   known_inns: Collection[str]) -> MatchResult:
    """Allocate each new payment; `known_inns` are counterparties we have (for balances)."""
    state = {inv.number.upper(): inv for inv in invoices}
    allocations: list[Allocation] = []
    balances: dict[str, Decimal] = {}
    unmatched: list[Payment] = []
    duplicates: list[Payment] = []
    seen = set(seen_keys)
    for payment in sorted(payments, key=lambda p: (p.date, p.number)):
        if payment.key in seen:
            duplicates.append(payment)
            continue
        seen.add(payment.key)
        payer_open = sorted(
            (inv for inv in state.values() if inv.inn == payment.payer_inn and inv.outstanding > 0),
            key=lambda inv: (inv.date, inv.number),
        )
        named = numbers_in_purpose(
            payment.purpose, state, [i for i in state.values() if i.inn == payment.payer_inn]
        )
        targets, rule = (named, "number") if named else (payer_open, "inn_oldest")
        remaining = payment.amount
        for target in targets:
            invoice = state[target.number.upper()]   # as this file's earlier payments left it
            amount = min(remaining, invoice.outstanding)
            if amount <= 0:
                continue
            remaining -= amount
            state[invoice.number.upper()] = replace(invoice, paid=invoice.paid + amount)
            allocations.append(
                Allocation(payment.key, invoice.number, amount, rule, _explain(payment, invoice, rule))
            )
        if remaining > 0:
            if payment.payer_inn in known_inns:
                balances[payment.payer_inn] = balances.get(payment.payer_inn, ZERO) + remaining
            elif remaining == payment.amount:
                unmatched.append(payment)
    return MatchResult(tuple(allocations), balances, tuple(unmatched), tuple(duplicates))


def _explain(payment: Payment, invoice: OpenInvoice, rule: str) -> str:
    head = f"платёж № {payment.number} от {payment.date:%d.%m.%Y} на {format_roubles(payment.amount)}"
    if rule == "number":
        owner = (
            ""
            if invoice.inn == payment.payer_inn
            else f" (счёт выставлен ИНН {invoice.inn}, плательщик ИНН {payment.payer_inn})"
        )
        return f"{head}: номер счёта {invoice.number} найден в назначении платежа{owner}"
    return (f"{head}: номера счёта в назначении нет; оплачен самый ранний неоплаченный счёт {invoice.number} "
            f"плательщика ИНН {payment.payer_inn}")


def invoice_status(total: Decimal, paid: Decimal, due: date | None, today: date) -> str:
    """unpaid | partly_paid | paid | overdue (not fully paid after the due date)."""
    if paid >= total:
        return "paid"
    if due is not None and today > due:
        return "overdue"
    return "partly_paid" if paid > 0 else "unpaid"


# ---- the source protocol ---------------------------------------------------------------------------

@dataclass(frozen=True)
class BankRules:
    """Which accounts are ours: only credits to them are payments to us."""

    own_accounts: frozenset[str]


@dataclass(frozen=True)
class BankLedger:
    """What matching depends on: every invoice with what is paid on it, payments seen, known payers."""

    invoices: Sequence[OpenInvoice]
    seen_keys: Collection[str]
    known_inns: Collection[str]


@dataclass(frozen=True)
class PaymentPlan:
    payments: tuple[Payment, ...]
    result: MatchResult


def check(data: bytes, file_name: str, schema: None = None) -> Checked[StatementDocument] | FileError:
    """Parse a 1CClientBankExchange statement: its documents, or every line that is wrong."""
    statement = parse_statement(data)
    if isinstance(statement, StatementFailure):
        if statement.reason:
            return FileError(statement.reason)
        return Checked((), tuple(RowError(e.line, e.key, e.value, e.reason) for e in statement.errors))
    return Checked(statement.documents, ())


def _listed(accounts: Iterable[str], own_accounts: Collection[str] = (), limit: int = 5) -> str:
    """«40702810016540012345 (наш), 40702810900000000123 и ещё 3»."""
    shown = [f"{a} (наш)" if a in own_accounts else a for a in dict.fromkeys(a for a in accounts if a)]
    rest = f" и ещё {len(shown) - limit}" if len(shown) > limit else ""
    return (", ".join(shown[:limit]) or "нет") + rest


def refuse_foreign(documents: Sequence[StatementDocument],
                   own_accounts: Collection[str]) -> tuple[RowError, ...]:
    """Why a well-formed file is no statement of ours, with the accounts it holds and those configured.

    A payment file for the bank (billdrop's outbox/bank, an ERP's upload) has no СекцияРасчСчет and no
    document with ДатаПоступило or ДатаСписано: the bank fills those in. A statement is ours when one of
    our accounts is the РасчСчет of a section or the payer's or payee's account of a document.
    """
    if not documents:
        return ()
    first = documents[0]
    sections = first.statement_accounts
    configured = (f"наши счета — {_listed(sorted(own_accounts))} "
                  "(company.bank.account и company.other_accounts)")
    if not sections and not any(d.received or d.debited for d in documents):
        payers = [d.payer_account for d in documents]
        orders = plural(len(documents), "платёжка", "платёжки", "платёжек")
        source = "со счёта" if len(set(payers)) == 1 else "со счетов"
        return (RowError(first.line, "СекцияДокумент", first.kind, (
            "это файл платёжных поручений для загрузки в банк, а не выписка: в нём нет СекцияРасчСчет, а в "
            f"документах — ДатаПоступило и ДатаСписано; в нём {orders} {source} "
            f"{_listed(payers, own_accounts)}, {configured}. Такой файл загружают в клиент-банк, "
            "а в inbox/bank кладут выписку, выгруженную из клиент-банка для 1С")),)
    touched = {a.account for a in sections}
    touched.update(account for d in documents for account in (d.payer_account, d.payee_account))
    if not touched.isdisjoint(own_accounts):
        return ()
    if sections:
        line, column, held = sections[0].line, "РасчСчет", _listed(a.account for a in sections)
    else:
        line, column, held = first.line, "СекцияДокумент", _listed(sorted(touched))
    return (RowError(line, column, held, (
        f"выписка не по нашему счёту: ни счёт выписки, ни счета в её документах не наши; {configured}. "
        "Если счёт наш, добавьте его в company.other_accounts в billdrop.toml и положите файл "
        "в inbox/bank снова")),)


def plan_payments(
    documents: Sequence[StatementDocument], ledger: BankLedger, rules: BankRules
) -> PaymentPlan | tuple[RowError, ...]:
    """Each new credit to our accounts matched to invoices (never twice: `seen_keys`); a file that is not a
    statement of ours is refused (`refuse_foreign`)."""
    refusal = refuse_foreign(documents, rules.own_accounts)
    if refusal:
        return refusal
    payments = incoming_payments(documents, rules.own_accounts)
    return PaymentPlan(
        payments, match_payments(payments, ledger.invoices, ledger.seen_keys, ledger.known_inns)
    )
