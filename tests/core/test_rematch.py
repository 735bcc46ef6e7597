"""Payments waiting for their invoices: matched again when a file issues invoices, as at first."""
from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal

from daemon.core.bankstatement import Payment
from daemon.core.documents import DocumentPlan
from daemon.core.rematch import Balance, RematchLedger, rematch_payments
from daemon.core.sources.bank import OpenInvoice, match_payments

ROMASHKA, POPOVA = "6672002970", "669644592893"
INVOICE = OpenInvoice("2611-00001", ROMASHKA, date(2026, 11, 1), Decimal("3500.00"), Decimal(0))
PAYMENT = Payment("700|2026-11-10|40702810016540012345|3500.00|40702810900000000001", "700",
                  date(2026, 11, 10), Decimal("3500.00"), ROMASHKA, 'ООО "Ромашка"',
                  "Оплата по счёту 2611-00001 за услуги связи", "40702810016540012345")
NO_DOCUMENTS = DocumentPlan((), (), (), (), (), (), {})


def test_unmatched_payment_is_matched_as_it_would_have_been():
    """A payment that came before its invoice gets the allocation and explanation of invoice-first."""
    ledger = RematchLedger([PAYMENT], [], [INVOICE], {ROMASHKA})
    first = match_payments([PAYMENT], [INVOICE], (), {ROMASHKA})
    rematch = rematch_payments(ledger)
    assert rematch.allocations == first.allocations and rematch.matched == (PAYMENT,)


def test_unknown_payer_stays_unmatched():
    """A payment naming no invoice, from a payer still unknown, stays unmatched."""
    stranger = replace(PAYMENT, payer_inn="7707083893", purpose="Оплата")
    rematch = rematch_payments(RematchLedger([stranger], [], [INVOICE], {ROMASHKA}))
    assert rematch.allocations == () and rematch.matched == ()


def test_balance_pays_the_oldest_unpaid_invoice():
    """A payer's balance pays their oldest unpaid invoice, and the balance goes down by as much."""
    older = OpenInvoice("2610-00004", POPOVA, date(2026, 10, 1), Decimal("60.00"), Decimal(0))
    newer = OpenInvoice("2611-00006", POPOVA, date(2026, 11, 1), Decimal("500.00"), Decimal(0))
    balance = Balance(POPOVA, Decimal("100.00"), replace(PAYMENT, payer_inn=POPOVA, number="705"))
    rematch = rematch_payments(RematchLedger([], [balance], [newer, older], {POPOVA}))
    assert [(a.invoice_number, a.amount, a.rule) for a in rematch.allocations] == [
        ("2610-00004", Decimal("60.00"), "inn_oldest"), ("2611-00006", Decimal("40.00"), "inn_oldest")]
    assert "на балансе плательщика ИНН 669644592893" in rematch.allocations[0].explanation
    assert rematch.balances == {POPOVA: Decimal("-100.00")}


def test_plan_without_invoices_matches_nothing():
    """A file that issues no invoice leaves waiting payments alone."""
    rematch = rematch_payments(RematchLedger([PAYMENT], [], [INVOICE], {ROMASHKA}), NO_DOCUMENTS)
    assert rematch.allocations == () and rematch.matched == ()
