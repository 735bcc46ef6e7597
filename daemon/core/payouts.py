"""Payouts to agents: the agent's act per payout, and the payment order once the agent accepts it (core)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from daemon.core.money import VatRate
from daemon.core.records import BankAccount, Contract, Counterparty, LegalForm


@dataclass(frozen=True)
class PayoutRecord:
    """One validated row of the platform's payout export."""

    row: int
    payout_id: str
    name: str
    legal_form: LegalForm
    inn: str
    kpp: str | None
    bank: BankAccount
    phone: str | None
    email: str | None
    address: str | None
    contract_url: str | None
    registered_at: date
    amount: Decimal
    payout_date: date


@dataclass(frozen=True)
class PaymentOrder:
    """Our payment order (платёжное поручение) paying an agent's accepted act.

    `number` is digits only (banks take at most 6); `purpose` is the НазначениеПлатежа text, VAT clause
    included, as the bank and 1C show it.
    """

    number: str
    date: date
    amount: Decimal
    payee: Counterparty          # its `bank` is where the money goes
    contract: Contract
    act_number: str
    act_date: date
    payout_id: str
    vat_rate: VatRate
    vat: Decimal
    purpose: str
