"""Canonical records every source maps onto, and the parties of a document (core).

Glossary: counterparty = контрагент, contract = договор, account = лицевой счёт,
inn/kpp = ИНН/КПП, bik = БИК, corr_account = корр. счёт.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import Enum

from daemon.core.money import VatRate


class LegalForm(str, Enum):
    """Who the counterparty is: the ИНН length and the name tell it apart."""

    LEGAL = "legal"                  # организация, ИНН 10 digits, has a КПП
    ENTREPRENEUR = "entrepreneur"    # ИП, ИНН 12 digits
    SELF_EMPLOYED = "self_employed"  # самозанятый (НПД), ИНН 12 digits
    PERSON = "person"                # физическое лицо


def legal_form_for(inn: str, name: str) -> LegalForm:
    """A 10-digit ИНН is an organisation; a 12-digit one an ИП when the name says so, else a person."""
    if len(inn) == 10:
        return LegalForm.LEGAL
    if name.strip().upper().startswith(("ИП ", "ИП\u00a0", "ИНДИВИДУАЛЬНЫЙ ПРЕДПРИНИМАТЕЛЬ")):
        return LegalForm.ENTREPRENEUR
    return LegalForm.PERSON


@dataclass(frozen=True)
class BankAccount:
    """A settlement account (расчётный счёт) with its bank."""

    account: str
    bik: str
    bank_name: str
    corr_account: str


@dataclass(frozen=True)
class Company:
    """Our own organisation: the seller on invoices and acts, the customer on agents' acts."""

    name: str                 # short name, as printed: ООО "СеверНет"
    full_name: str
    inn: str
    kpp: str | None
    address: str
    bank: BankAccount
    director: str             # «Иванов И. И.», signs acts and invoices
    accountant: str
    phone: str = ""
    email: str = ""
    ogrn: str = ""
    director_title: str = "Генеральный директор"
    edo_id: str = ""          # ЭДО participant id (for ФНС file names)

    @property
    def legal_form(self) -> LegalForm:
        return legal_form_for(self.inn, self.name)


@dataclass(frozen=True)
class Counterparty:
    """A client or agent (контрагент), identified by ИНН (+ КПП for a branch)."""

    inn: str
    kpp: str | None
    name: str
    legal_form: LegalForm
    email: str | None = None
    phone: str | None = None
    address: str | None = None
    bank: BankAccount | None = None
    manager_email: str | None = None
    edo_id: str | None = None
    comment: str | None = None


@dataclass(frozen=True)
class Contract:
    """A contract (договор) with a counterparty; `account` is the billing's лицевой счёт."""

    number: str
    counterparty_inn: str
    account: str = ""
    date: dt.date | None = None   # `dt.date`: a field named `date` shadows the type after it


@dataclass(frozen=True, slots=True)
class ChargeRecord:
    """One validated charge line of a billing export: one service of one contract for one period.

    `row` is the line number as the operator sees it in Excel. `amount` is the line sum before any
    pro-rating check; `monthly_fee` with `active_from`/`active_to` lets it be pro-rated or checked.
    """

    row: int
    contract: str
    account: str
    client_name: str
    inn: str
    kpp: str | None
    email: str | None
    service_id: str
    address: str
    service_name: str
    period: date              # first day of the billed month
    quantity: Decimal
    unit: str
    price: Decimal | None
    amount: Decimal
    vat_rate: VatRate | None  # None: the source's default rate
    active_from: date | None = None
    active_to: date | None = None
    monthly_fee: Decimal | None = None
    manager_email: str | None = None
    edo_id: str | None = None
    service_code: str = ""            # the service's (tariff's) code in the billing; "": known by its name
    buyer_address: str | None = None  # the client's legal address (the connection address is `address`)
    contract_date: date | None = None
