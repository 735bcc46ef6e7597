"""A payout dated on or before its agent's last act: the reason says what happened and what to do."""
from __future__ import annotations

from datetime import date

from daemon.core.sources.payouts import PayoutLedger, plan_payouts
from tests.core.test_payouts import MERIDIAN, TERMS, schema, validated  # noqa: F401 -- `schema` is a fixture


def test_payout_before_last_act_names_the_act_and_the_cancel_command(schema):  # noqa: F811
    """The reason names the last act's number and end, the date order, and `billdrop cancel <number>`."""
    records = validated(schema, MERIDIAN.format(amount="1.00", day="2026-11-20")).records
    inn = records[0].inn
    ledger = PayoutLedger({}, {}, {inn: date(2026, 11, 24)}, {}, {}, {inn: "А2611-0002"})
    (error,) = plan_payouts(records, ledger, TERMS)
    assert "последний акт агента № А2611-0002 закрыт по 24.11.2026" in error.reason
    assert "по порядку дат" in error.reason and "billdrop cancel А2611-0002 --reason" in error.reason
    assert "Исправьте" not in error.reason
