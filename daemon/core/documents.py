"""Documents planned from validated records: invoices (счёт), acts (акт) and their lines (core)."""
from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal
from enum import Enum

from daemon.core.money import VatRate, to_kopecks
from daemon.core.numbering import ONEC_NUMBER_LIMIT, ONEC_TAX_INVOICE_LIMIT, render_number, sequence_scope
from daemon.core.onec import vat_rate_problem
from daemon.core.periods import vat_rate_period_problem
from daemon.core.records import Contract, Counterparty
from daemon.core.report import RowError


class InvoiceDate(str, Enum):
    """What date an invoice (счёт) bears: the day billdrop issues it, or the first day of its period."""

    ISSUE = "issue"
    PERIOD_START = "period_start"


class DocumentKind(str, Enum):
    INVOICE = "invoice"          # счёт на оплату
    ACT = "act"                  # акт оказания услуг (we are the seller)
    UPD = "upd"                  # УПД
    TAX_INVOICE = "tax_invoice"  # счёт-фактура
    AGENT_ACT = "agent_act"      # акт агента (the agent is the executor, we are the customer)
    PAYMENT_ORDER = "payment_order"  # платёжное поручение paying an agent's accepted act (numbered only)

    # A property over str.title() on purpose: templates (user-editable) print `kind.title`, and no code
    # calls the str method on a kind.
    @property
    def title(self) -> str:  # type: ignore[override]
        return _TITLES[self]

    @property
    def onec_number_limit(self) -> int:
        """The longest Номер 1C loads for this kind: 12 for a счёт-фактура, 11 for the others."""
        return ONEC_TAX_INVOICE_LIMIT if self is DocumentKind.TAX_INVOICE else ONEC_NUMBER_LIMIT


_TITLES = {
    DocumentKind.INVOICE: "Счёт на оплату",
    DocumentKind.ACT: "Акт оказания услуг",
    DocumentKind.UPD: "Универсальный передаточный документ",
    DocumentKind.TAX_INVOICE: "Счёт-фактура",
    DocumentKind.AGENT_ACT: "Акт оказания услуг",
    DocumentKind.PAYMENT_ORDER: "Платёжное поручение",
}


@dataclass(frozen=True, slots=True)
class DocumentLine:
    """One service line. `text` is what the forms print: the service, its address and period.

    `service_id` is the billing's id of the line (a subscriber's connection); `service_code` the
    service's or tariff's code, when the export has one. `net`, `vat` and `gross` are rounded per line;
    document totals are their sums, so the PDF, the 1C XML and the ФНС XML show the same kopecks.
    """

    position: int
    service_id: str
    service_name: str
    address: str
    text: str
    quantity: Decimal
    unit: str
    price: Decimal
    vat_rate: VatRate
    net: Decimal
    vat: Decimal
    gross: Decimal
    service_code: str = ""

    @property
    def catalog_key(self) -> str:
        """What names the service in 1C's catalogue (Номенклатура): its code, else its name."""
        return self.service_code or self.service_name


@dataclass(frozen=True)
class Document:
    """One issued document. `vat_included` tells whether line prices include VAT."""

    kind: DocumentKind
    number: str
    # `dt.date` in this class: the field `date` shadows the type for the annotations below it
    date: dt.date
    period_start: dt.date
    period_end: dt.date
    counterparty: Counterparty
    contract: Contract
    lines: tuple[DocumentLine, ...]
    vat_included: bool
    due_date: dt.date | None = None
    basis: str = ""                        # e.g. the invoice an act follows, or a payout id
    related_number: str | None = None      # the invoice number for an act, the act for a счёт-фактура

    @property
    def net(self) -> Decimal:
        return sum((line.net for line in self.lines), Decimal("0.00"))

    @property
    def vat(self) -> Decimal:
        return sum((line.vat for line in self.lines), Decimal("0.00"))

    @property
    def total(self) -> Decimal:
        return sum((line.gross for line in self.lines), Decimal("0.00"))

    @property
    def vat_exempt(self) -> bool:
        return all(line.vat_rate.exempt for line in self.lines)

    def net_price(self, line: DocumentLine) -> Decimal:
        """The price without VAT: as printed when VAT is on top, else net sum per unit, half-up to kopecks."""
        if not self.vat_included or line.net == line.gross:
            return line.price
        return to_kopecks(line.net / line.quantity)

    @property
    def upd_status(self) -> int:
        """УПД status: 1 (счёт-фактура and transfer document) with VAT, 2 (transfer document only) without."""
        return 2 if self.vat_exempt else 1


@dataclass(frozen=True)
class IssueRules:
    """How a source issues documents: which kinds, numbered how, taxed how."""

    kinds: tuple[DocumentKind, ...]
    number_formats: Mapping[DocumentKind, str]
    default_vat: VatRate
    vat_included: bool
    payment_days: int
    onec_version: str | None = "1.20"   # the EnterpriseData version 1C loads; None: no 1C export
    invoice_date: InvoiceDate = InvoiceDate.ISSUE

    def invoice_dates(self, period_start: date, today: date) -> tuple[date, date]:
        """An invoice's date by the policy, and its due date: `payment_days` after the invoice date, but
        never before `payment_days` after the day it is issued (nobody gets an invoice already overdue)."""
        dated = today if self.invoice_date is InvoiceDate.ISSUE else period_start
        return dated, max(dated, today) + dt.timedelta(days=self.payment_days)

    def rate_error(self, rate: VatRate, *, period: date, row: int) -> RowError | None:
        """A row's VAT rate that did not exist in its period, or that 1C cannot load."""
        problem = vat_rate_period_problem(rate, period)
        if problem is not None:
            return RowError(row, "Ставка НДС", rate.label, problem)
        return self.onec_rate_error(rate, row=row)

    def onec_rate_error(self, rate: VatRate, *, row: int) -> RowError | None:
        """A row whose VAT rate the chosen EnterpriseData version cannot carry: refused before numbering."""
        problem = None if self.onec_version is None else vat_rate_problem(rate, self.onec_version)
        return (
            None
            if problem is None
            else RowError(row, "Ставка НДС", rate.label, f"{problem}: 1С не загрузит документ")
        )


@dataclass(frozen=True)
class IssuedDocument:
    """What the ledger remembers of a document issued earlier, to reconcile re-exports."""

    kind: DocumentKind
    number: str
    contract: str
    period_start: date
    fingerprint: str
    total: Decimal


@dataclass(frozen=True)
class CounterpartyChange:
    """A known counterparty whose card changes: field → (old, new), text or (for `bank`) a BankAccount."""

    inn: str
    changes: Mapping[str, tuple[object, object]]


@dataclass(frozen=True)
class ZeroTotal:
    """A contract whose period sums to 0,00: no document is issued; it is logged and listed in `status`."""

    contract: str
    inn: str
    client_name: str
    period_start: date
    row: int          # its first line in the file


@dataclass(frozen=True)
class DocumentPlan:
    """Everything one file changes, computed before anything is written."""

    new_counterparties: tuple[Counterparty, ...]
    changed_counterparties: tuple[CounterpartyChange, ...]
    counterparties: tuple[Counterparty, ...]     # every counterparty of the file, as it will be stored
    contracts: tuple[Contract, ...]
    documents: tuple[Document, ...]
    skipped: tuple[IssuedDocument, ...]          # re-exported unchanged: not issued again
    sequences: Mapping[tuple[DocumentKind, str], int]
    zero_totals: tuple[ZeroTotal, ...] = ()


PlanResult = DocumentPlan | tuple[RowError, ...]

_CARD_FIELDS = ("name", "kpp", "email", "phone", "address", "manager_email", "edo_id")


def merge_counterparty(
    known: Counterparty | None, fresh: Counterparty
) -> tuple[Counterparty, dict[str, tuple[object, object]]]:
    """The card after newer data: non-empty fresh fields win; returns the card and what changed."""
    if known is None:
        return fresh, {}
    updates = {
        name: getattr(fresh, name)
        for name in _CARD_FIELDS
        if getattr(fresh, name) and getattr(fresh, name) != getattr(known, name)
    }
    if fresh.bank is not None and fresh.bank != known.bank:
        updates["bank"] = fresh.bank
    changes = {name: (getattr(known, name), value) for name, value in updates.items()}
    return replace(known, **updates), changes


class CardBook:
    """The counterparties of one file as they will be stored: each card merged with the file's newer data,
    and what changes on cards the ledger already had (field → (old, new)), for the log."""

    def __init__(self, known: Mapping[str, Counterparty]) -> None:
        self._known = known
        self.cards: dict[str, Counterparty] = {}
        self._changes: dict[str, dict[str, tuple[object, object]]] = {}

    def merge(self, fresh: Counterparty) -> Counterparty:
        card, changed = merge_counterparty(self.cards.get(fresh.inn) or self._known.get(fresh.inn), fresh)
        self.cards[fresh.inn] = card
        if changed and fresh.inn in self._known:
            self._changes.setdefault(fresh.inn, {}).update(changed)
        return card

    def plan(self, contracts: Sequence[Contract], documents: Sequence[Document],
             skipped: Sequence[IssuedDocument], counters: Mapping[tuple[DocumentKind, str], int],
             counters_before: Mapping[tuple[DocumentKind, str], int],
             zero_totals: Sequence[ZeroTotal] = ()) -> DocumentPlan:
        """The file's plan with these cards; only the counters the file advanced are written back."""
        return DocumentPlan(
            new_counterparties=tuple(c for inn, c in self.cards.items() if inn not in self._known),
            changed_counterparties=tuple(CounterpartyChange(inn, c) for inn, c in self._changes.items()),
            counterparties=tuple(self.cards.values()),
            contracts=tuple(contracts),
            documents=tuple(documents),
            skipped=tuple(skipped),
            sequences={key: value for key, value in counters.items() if counters_before.get(key) != value},
            zero_totals=tuple(zero_totals),
        )


def line_fingerprint(lines: Sequence[DocumentLine]) -> str:
    """A digest of what a document charges, to tell an unchanged re-export from a changed one."""
    digest = hashlib.sha256()
    for line in lines:
        digest.update(f"{line.service_id}|{line.quantity}|{line.gross}|{line.vat_rate.label}\n".encode())
    return digest.hexdigest()


def next_number(
    kind: DocumentKind, rules: IssueRules, sequences: dict[tuple[DocumentKind, str], int], *,
    period: date, account: str = "", row: int,
) -> str | RowError:
    """The next gapless number of `kind` in its scope (advancing `sequences`), or why 1C would refuse it."""
    fmt = rules.number_formats[kind]
    scope = sequence_scope(fmt, period=period, account=account, kind=kind.value)
    seq = sequences.get((kind, scope), 0) + 1
    number = render_number(fmt, period=period, seq=seq, account=account, kind=kind.value)
    limit = kind.onec_number_limit
    if rules.onec_version is not None and len(number) > limit:
        return RowError(
            line=row,
            column="Номер документа",
            value=number,
            reason=f"{kind.title}: номер «{number}» длиннее {limit} символов, 1С прервёт загрузку; "
            "выберите более короткий формат номера",
        )
    sequences[(kind, scope)] = seq
    return number


