"""Documents planned from validated records: invoices (счёт), acts (акт) and their lines (core)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import Enum

from daemon.core.money import VatRate
from daemon.core.records import Contract, Counterparty


class DocumentKind(str, Enum):
    INVOICE = "invoice"          # счёт на оплату
    ACT = "act"                  # акт оказания услуг (we are the seller)
    UPD = "upd"                  # УПД
    TAX_INVOICE = "tax_invoice"  # счёт-фактура
    AGENT_ACT = "agent_act"      # акт агента (the agent is the executor, we are the customer)

    @property
    def title(self) -> str:
        return _TITLES[self]


_TITLES = {
    DocumentKind.INVOICE: "Счёт на оплату",
    DocumentKind.ACT: "Акт оказания услуг",
    DocumentKind.UPD: "Универсальный передаточный документ",
    DocumentKind.TAX_INVOICE: "Счёт-фактура",
    DocumentKind.AGENT_ACT: "Акт оказания услуг",
}


@dataclass(frozen=True)
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
