"""Documents planned from validated records: invoices (счёт), acts (акт) and their lines (core)."""
from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, timedelta
from decimal import Decimal
from enum import Enum

from daemon.core.money import VatRate, split_vat, to_kopecks
from daemon.core.numbering import ONEC_NUMBER_LIMIT, ONEC_TAX_INVOICE_LIMIT, render_number, sequence_scope
from daemon.core.periods import month_end, month_name, month_start
from daemon.core.records import ChargeRecord, Contract, Counterparty, legal_form_for
from daemon.core.report import RowError


class DocumentKind(str, Enum):
    INVOICE = "invoice"          # счёт на оплату
    ACT = "act"                  # акт оказания услуг (we are the seller)
    UPD = "upd"                  # УПД
    TAX_INVOICE = "tax_invoice"  # счёт-фактура
    AGENT_ACT = "agent_act"      # акт агента (the agent is the executor, we are the customer)
    PAYMENT_ORDER = "payment_order"  # платёжное поручение paying an agent's accepted act (numbered only)

    @property
    def title(self) -> str:
        return _TITLES[self]


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

    `net`, `vat` and `gross` are rounded per line; document totals are their sums, so the PDF,
    the 1C XML and the ФНС XML show the same kopecks.
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


@dataclass(frozen=True)
class Document:
    """One issued document. `vat_included` tells whether line prices include VAT."""

    kind: DocumentKind
    number: str
    date: date
    period_start: date
    period_end: date
    counterparty: Counterparty
    contract: Contract
    lines: tuple[DocumentLine, ...]
    vat_included: bool
    due_date: date | None = None
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
        """The price without VAT: as printed when VAT is on top, else the net sum per unit, half-up to kopecks."""
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
    onec_number_limits: bool = True


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
class Ledger:
    """The state a plan depends on: known counterparties, issued documents, sequence counters.

    Issued documents are keyed by kind, contract number, the counterparty's ИНН and period: two
    billings may both have a «Д-150», but not for the same client."""

    counterparties: Mapping[str, Counterparty]
    issued: Mapping[tuple[DocumentKind, str, str, date], IssuedDocument]
    sequences: Mapping[tuple[DocumentKind, str], int]


@dataclass(frozen=True)
class CounterpartyChange:
    """A known counterparty whose card changes: field → (old, new)."""

    inn: str
    changes: Mapping[str, tuple[str | None, str | None]]


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


PlanResult = DocumentPlan | tuple[RowError, ...]

_CARD_FIELDS = ("name", "kpp", "email", "phone", "address", "manager_email", "edo_id")


def merge_counterparty(known: Counterparty | None, fresh: Counterparty) -> tuple[Counterparty, dict[str, tuple]]:
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


def line_fingerprint(lines: Sequence[DocumentLine]) -> str:
    """A digest of what a document charges, to tell an unchanged re-export from a changed one."""
    digest = hashlib.sha256()
    for line in lines:
        digest.update(f"{line.service_id}|{line.quantity}|{line.gross}|{line.vat_rate.label}\n".encode())
    return digest.hexdigest()


def _line_text(record: ChargeRecord) -> str:
    first, last = month_start(record.period), month_end(record.period)
    start = max(first, record.active_from or first)
    end = min(last, record.active_to or last)
    when = (
        f"за {month_name(record.period)} г."
        if (start, end) == (first, last)
        else f"за период с {start:%d.%m.%Y} по {end:%d.%m.%Y}"
    )
    return f"{record.service_name} {when}; адрес подключения: {record.address}" if record.address else (
        f"{record.service_name} {when}"
    )


def charge_lines(records: Sequence[ChargeRecord], rules: IssueRules) -> tuple[DocumentLine, ...]:
    """One line per service; VAT per line so that totals are sums of rounded lines."""
    lines = []
    for position, record in enumerate(records, start=1):
        rate = record.vat_rate or rules.default_vat
        amounts = split_vat(record.amount, rate, included=rules.vat_included)
        price = record.price if record.price is not None else to_kopecks(record.amount / record.quantity)
        lines.append(
            DocumentLine(
                position=position,
                service_id=record.service_id,
                service_name=record.service_name,
                address=record.address,
                text=_line_text(record),
                quantity=record.quantity,
                unit=record.unit,
                price=price,
                vat_rate=rate,
                net=amounts.net,
                vat=amounts.vat,
                gross=amounts.gross,
            )
        )
    return tuple(lines)


def _counterparty_of(record: ChargeRecord) -> Counterparty:
    return Counterparty(
        inn=record.inn,
        kpp=record.kpp,
        name=record.client_name,
        legal_form=legal_form_for(record.inn, record.client_name),
        email=record.email,
        manager_email=record.manager_email,
        edo_id=record.edo_id,
    )


def _group_by_contract(records: Sequence[ChargeRecord]) -> dict[tuple[str, date], list[ChargeRecord]]:
    """Records per (contract, period), in the order contracts first appear in the file."""
    groups: dict[tuple[str, date], list[ChargeRecord]] = {}
    for record in records:
        groups.setdefault((record.contract, record.period), []).append(record)
    return groups


def _consistency_errors(group: list[ChargeRecord]) -> list[RowError]:
    first = group[0]
    return [
        RowError(
            line=record.row,
            column="ИНН",
            value=record.inn,
            reason=f"договор {record.contract}: ИНН {record.inn} отличается от ИНН {first.inn} "
            f"в строке {first.row}",
        )
        for record in group[1:]
        if record.inn != first.inn
    ]


def plan_charge_documents(records: Sequence[ChargeRecord], ledger: Ledger, rules: IssueRules) -> PlanResult:
    """Invoices and acts per contract and period, numbered gaplessly, or the row errors that stop it.

    Invoice date = first day of the period, act date = last day; an unchanged re-export of an
    issued period is skipped, a changed one is an error (it needs a correction, not a new number).
    """
    errors: list[RowError] = []
    sequences = dict(ledger.sequences)
    cards: dict[str, Counterparty] = {}
    changes: dict[str, dict[str, tuple]] = {}
    contracts: dict[str, Contract] = {}
    documents: list[Document] = []
    skipped: list[IssuedDocument] = []
    for (contract_no, period), group in _group_by_contract(records).items():
        problems = _consistency_errors(group)
        if problems:
            errors.extend(problems)
            continue
        first = group[0]
        known = cards.get(first.inn) or ledger.counterparties.get(first.inn)
        card, changed = merge_counterparty(known, _counterparty_of(first))
        cards[first.inn] = card
        if changed and first.inn in ledger.counterparties:
            changes.setdefault(first.inn, {}).update(changed)
        contract = contracts.setdefault(contract_no, Contract(contract_no, first.inn, first.account))
        lines = charge_lines(group, rules)
        fingerprint = line_fingerprint(lines)
        for kind in rules.kinds:
            if kind is DocumentKind.TAX_INVOICE and all(line.vat_rate.exempt for line in lines):
                continue  # no счёт-фактура without VAT (a seller on УСН)
            issued = ledger.issued.get((kind, contract_no, first.inn, period))
            if issued is not None:
                if issued.fingerprint == fingerprint:
                    skipped.append(issued)
                else:
                    errors.append(_reissue_error(first, issued, lines))
                continue
            number_or_error = next_number(kind, rules, sequences, period=first.period, account=first.account, row=first.row)
            if isinstance(number_or_error, RowError):
                errors.append(number_or_error)
                continue
            start, end = month_start(period), month_end(period)
            issue_date = start if kind is DocumentKind.INVOICE else end
            documents.append(
                Document(
                    kind=kind,
                    number=number_or_error,
                    date=issue_date,
                    period_start=start,
                    period_end=end,
                    counterparty=card,
                    contract=contract,
                    lines=lines,
                    vat_included=rules.vat_included,
                    due_date=issue_date + timedelta(days=rules.payment_days)
                    if kind is DocumentKind.INVOICE
                    else None,
                )
            )
    if errors:
        return tuple(errors)
    documents = _link_related(documents)
    new = tuple(card for inn, card in cards.items() if inn not in ledger.counterparties)
    return DocumentPlan(
        new_counterparties=new,
        changed_counterparties=tuple(CounterpartyChange(inn, c) for inn, c in changes.items()),
        counterparties=tuple(cards.values()),
        contracts=tuple(contracts.values()),
        documents=tuple(documents),
        skipped=tuple(skipped),
        sequences={key: value for key, value in sequences.items() if ledger.sequences.get(key) != value},
    )


def next_number(
    kind: DocumentKind, rules: IssueRules, sequences: dict[tuple[DocumentKind, str], int], *,
    period: date, account: str = "", row: int,
) -> str | RowError:
    """The next gapless number of `kind` in its scope (advancing `sequences`), or why 1C would refuse it."""
    fmt = rules.number_formats[kind]
    scope = sequence_scope(fmt, period=period, account=account, kind=kind.value)
    seq = sequences.get((kind, scope), 0) + 1
    number = render_number(fmt, period=period, seq=seq, account=account, kind=kind.value)
    limit = ONEC_TAX_INVOICE_LIMIT if kind is DocumentKind.TAX_INVOICE else ONEC_NUMBER_LIMIT
    if rules.onec_number_limits and len(number) > limit:
        return RowError(
            line=row,
            column="Номер документа",
            value=number,
            reason=f"{kind.title}: номер «{number}» длиннее {limit} символов, 1С прервёт загрузку; "
            "выберите более короткий формат номера",
        )
    sequences[(kind, scope)] = seq
    return number


def _reissue_error(first: ChargeRecord, issued: IssuedDocument, lines: Sequence[DocumentLine]) -> RowError:
    total = sum((line.gross for line in lines), Decimal("0.00"))
    return RowError(
        line=first.row,
        column="Договор",
        value=first.contract,
        reason=f"за {month_name(first.period)} по договору уже выставлен {issued.kind.title.lower()} "
        f"№ {issued.number} на {issued.total} руб.; в новой выгрузке {total} руб. — "
        "исправление выставленного документа делается корректировкой, а не новым номером",
    )


def _link_related(documents: list[Document]) -> list[Document]:
    """An act or УПД points at the invoice of its contract and period; a счёт-фактура at the act or УПД."""
    by_kind = {(d.kind, d.contract.number, d.period_start): d.number for d in documents}

    def related(d: Document) -> str | None:
        key = (d.contract.number, d.period_start)
        if d.kind is DocumentKind.TAX_INVOICE:
            return by_kind.get((DocumentKind.ACT, *key)) or by_kind.get((DocumentKind.UPD, *key))
        return by_kind.get((DocumentKind.INVOICE, *key))

    return [d if d.kind is DocumentKind.INVOICE else replace(d, related_number=related(d)) for d in documents]
