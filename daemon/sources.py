"""The registry of source kinds: each with its pure half (check, plan) and SQL half (load, commit) (shell).

Adding a kind is one core module (daemon/core/sources/<kind>.py), one store module
(daemon/store/<kind>.py), its settings class in daemon/config.py, a schema TOML and one entry here.
"""
from __future__ import annotations

import sqlite3
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any, Generic, TypeVar

import structlog

from daemon.config import AcceptancesSource, BankSource, ChargesSource, PayoutsSource, Settings
from daemon.core.documents import DocumentPlan
from daemon.core.reading import FileError
from daemon.core.records import ChargeRecord
from daemon.core.rematch import ChargesPlan, Rematch, RematchLedger, rematch_payments
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
    for zero in plan.zero_totals:
        log.warning("contract.zero_total", file=file_name, contract=zero.contract, inn=zero.inn,
                    period=zero.period_start.isoformat(), row=zero.row)


def _describe_orders(plan: core_acceptances.OrderPlan, file_name: str) -> None:
    for order in plan.orders:
        log.info("payment_order.created", file=file_name, number=order.number, payout=order.payout_id,
                 act=order.act_number, amount=str(order.amount), payee_inn=order.payee.inn)


def describe_rematch(rematch: Rematch, file_name: str) -> None:
    """The matches found again: payment.matched and balance changes, as a statement logs them."""
    _describe_matches(rematch.allocations, rematch.balances, file_name)


def _describe_matches(allocations: Sequence[core_bank.Allocation], balances: Mapping[str, Decimal],
                      file_name: str) -> None:
    for allocation in allocations:
        log.info("payment.matched", file=file_name, invoice=allocation.invoice_number,
                 amount=str(allocation.amount), rule=allocation.rule, explanation=allocation.explanation)
    for inn, amount in balances.items():
        log.info("payment.overpaid" if amount > 0 else "payment.balance_spent", file=file_name, inn=inn,
                 balance_added=str(amount))


def _describe_payments(plan: core_bank.PaymentPlan, file_name: str) -> None:
    result = plan.result
    _describe_matches(result.allocations, result.balances, file_name)
    for payment in result.unmatched:
        log.warning("payment.unmatched", file=file_name, number=payment.number, amount=str(payment.amount),
                    payer_inn=payment.payer_inn, payer=payment.payer_name, purpose=payment.purpose)
    for payment in result.duplicates:
        log.info("payment.already_seen", file=file_name, number=payment.number, amount=str(payment.amount))


def _load_charges(conn: sqlite3.Connection, records: Sequence[ChargeRecord],
                  rules: Any) -> tuple[core_charges.Ledger, RematchLedger]:
    return store_charges.load(conn, records, rules), store_bank.rematch_ledger(conn)


def _plan_charges(records: Sequence[ChargeRecord], ledgers: tuple[core_charges.Ledger, RematchLedger],
                  rules: Any, today: date) -> ChargesPlan | tuple[RowError, ...]:
    """The documents, and the payments waiting for invoices matched against the new ones."""
    ledger, waiting = ledgers
    plan = core_charges.plan_charge_documents(records, ledger, rules, today)
    if isinstance(plan, tuple):
        return plan
    return ChargesPlan(plan, rematch_payments(waiting, plan))


def _commit_charges(conn: sqlite3.Connection, plan: ChargesPlan, intake: Intake) -> int:
    issued = store_charges.commit(conn, plan.documents, intake)
    store_bank.commit_rematch(conn, plan.rematch)
    return issued


def _describe_charges(plan: ChargesPlan, file_name: str) -> None:
    _describe_documents(plan.documents, file_name)
    describe_rematch(plan.rematch, file_name)


def _plan_orders(records: Sequence[core_acceptances.Acceptance], ledger: store_acceptances.OrderLedger,
                 rules: Any, today: date) -> core_acceptances.OrderPlan | tuple[RowError, ...]:
    return core_acceptances.plan_payment_orders(records, ledger.payouts, ledger.sequences, rules, today)


# Each entry is typed with its own settings class and schema; the runner sees them all as Kind[Any, Any].
KINDS: dict[str, Kind[Any, Any]] = {
    "charges": Kind[ChargesSource, SourceSchema](
        "charges", core_charges.check, lambda conf, s: conf.rules(s.onec), _load_charges, _plan_charges,
        _commit_charges, _describe_charges,
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
