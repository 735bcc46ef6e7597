"""The registry of source kinds: each with its pure half (check, plan) and SQL half (load, commit) (shell).

Adding a kind is one core module (daemon/core/sources/<kind>.py), one store module
(daemon/store/<kind>.py), its settings class in daemon/config.py, a schema TOML and one entry here.
"""
from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, Generic, TypeVar

import structlog

from daemon.config import AcceptancesSource, BankSource, ChargesSource, PayoutsSource, Settings
from daemon.core.documents import DocumentPlan
from daemon.core.reading import FileError
from daemon.core.report import RowError
from daemon.core.rows import Checked
from daemon.core.schema import SourceSchema
from daemon.core.sources import acceptances as core_acceptances
from daemon.core.sources import bank as core_bank
from daemon.core.sources import charges as core_charges
from daemon.core.sources import payouts as core_payouts
from daemon.store import acceptances as store_acceptances
from daemon.store import bank as store_bank
from daemon.store import charges as store_charges
from daemon.store import payouts as store_payouts
from daemon.store.files import Intake

log = structlog.get_logger()

ConfT = TypeVar("ConfT")      # the kind's settings class
SchemaT = TypeVar("SchemaT")  # what its check reads a file with: a SourceSchema, or None (bank statements)


@dataclass(frozen=True)
class Kind(Generic[ConfT, SchemaT]):
    """One source kind. `check` reads and validates a file (pure); `rules` are what its config says;
    `load` reads the ledger the plan needs and `commit` writes the plan, in the file's transaction;
    `plan` decides everything in between (pure) or returns the row errors that stop the file."""

    name: str
    check: Callable[[bytes, str, SchemaT], Checked[Any] | FileError]
    rules: Callable[[ConfT, Settings], Any]
    load: Callable[[sqlite3.Connection, Sequence[Any], Any], Any]
    plan: Callable[[Sequence[Any], Any, Any, date], Any]
    commit: Callable[[sqlite3.Connection, Any, Intake], int]
    describe: Callable[[Any, str], None]   # the log lines of a committed plan


def _describe_documents(plan: DocumentPlan, file_name: str) -> None:
    for card in plan.new_counterparties:
        log.info("counterparty.created", file=file_name, inn=card.inn, name=card.name)
    for change in plan.changed_counterparties:
        for field, (old, new) in change.changes.items():
            log.info("counterparty.updated", file=file_name, inn=change.inn, field=field, old=old, new=new)
    for issued in plan.skipped:
        log.info("document.unchanged", file=file_name, kind=issued.kind.value, number=issued.number)


def _describe_orders(plan: core_acceptances.OrderPlan, file_name: str) -> None:
    for order in plan.orders:
        log.info("payment_order.created", file=file_name, number=order.number, payout=order.payout_id,
                 act=order.act_number, amount=str(order.amount), payee_inn=order.payee.inn)


def _describe_payments(plan: core_bank.PaymentPlan, file_name: str) -> None:
    result = plan.result
    for allocation in result.allocations:
        log.info("payment.matched", file=file_name, invoice=allocation.invoice_number,
                 amount=str(allocation.amount), rule=allocation.rule, explanation=allocation.explanation)
    for inn, amount in result.balances.items():
        log.info("payment.overpaid", file=file_name, inn=inn, balance_added=str(amount))
    for payment in result.unmatched:
        log.warning("payment.unmatched", file=file_name, number=payment.number, amount=str(payment.amount),
                    payer_inn=payment.payer_inn, payer=payment.payer_name, purpose=payment.purpose)
    for payment in result.duplicates:
        log.info("payment.already_seen", file=file_name, number=payment.number, amount=str(payment.amount))


def _plan_orders(records: Sequence[core_acceptances.Acceptance], ledger: store_acceptances.OrderLedger,
                 rules: Any, today: date) -> core_acceptances.OrderPlan | tuple[RowError, ...]:
    return core_acceptances.plan_payment_orders(records, ledger.payouts, ledger.sequences, rules, today)


# Each entry is typed with its own settings class and schema; the runner sees them all as Kind[Any, Any].
KINDS: dict[str, Kind[Any, Any]] = {
    "charges": Kind[ChargesSource, SourceSchema](
        "charges", core_charges.check, lambda conf, s: conf.rules(s.onec), store_charges.load,
        lambda records, ledger, rules, today: core_charges.plan_charge_documents(records, ledger, rules),
        store_charges.commit, _describe_documents,
    ),
    "payouts": Kind[PayoutsSource, SourceSchema](
        "payouts", core_payouts.check, lambda conf, s: conf.terms(s.onec), store_payouts.load,
        lambda records, ledger, terms, today: core_payouts.plan_payouts(records, ledger, terms),
        store_payouts.commit, _describe_documents,
    ),
    "acceptances": Kind[AcceptancesSource, SourceSchema](
        "acceptances", core_acceptances.check, lambda conf, s: conf.rules(s.onec), store_acceptances.load,
        _plan_orders, store_acceptances.commit, _describe_orders,
    ),
    "bank": Kind[BankSource, None](
        "bank", core_bank.check, lambda conf, s: core_bank.BankRules(s.company.accounts), store_bank.load,
        lambda records, ledger, rules, today: core_bank.plan_payments(records, ledger, rules),
        store_bank.commit, _describe_payments,
    ),
}
