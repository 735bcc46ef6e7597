"""Payouts: requisites checked and named, each agent's acts chained, payment orders for issued acts only."""
from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal

import pytest

from daemon.config import builtin_dir
from daemon.core.documents import DocumentKind, DocumentPlan, IssuedDocument, IssueRules, line_fingerprint
from daemon.core.money import NO_VAT
from daemon.core.reading import read_table
from daemon.core.records import LegalForm
from daemon.core.schema import parse_schema
from daemon.core.sources.acceptances import Acceptance, IssuedPayout, OrderPlan, plan_payment_orders
from daemon.core.sources.payouts import (
    PayoutLedger,
    PayoutTerms,
    normalize_phone,
    plan_payouts,
    validate_payouts,
)

HEADER = (
    "id,full_name,legal_form,inn,kpp,bank_account,bik,bank_name,corr_account,phone,email,registered_at,"
    "amount,payout_date,contract_url\n"
)
MERIDIAN = (
    '90001,"ООО ""Меридиан""",legal,7710951927,771001001,40702810669436944628,044525225,ПАО Сбербанк,'
    "30101810400000000225,8 (912) 345-67-80,agent0@mail.example.ru,2026-03-01,{amount},{day},"
    "https://platform.example.ru/contracts/7000.pdf\n"
)
KINDS = (DocumentKind.AGENT_ACT, DocumentKind.PAYMENT_ORDER)
TERMS = PayoutTerms(
    IssueRules(
        KINDS,
        {
            DocumentKind.AGENT_ACT: "А{period:%y%m}-{seq:04}",
            DocumentKind.PAYMENT_ORDER: "{period:%y}{seq:04}",
        },
        NO_VAT,
        True,
        0,
    )
)
EMPTY = PayoutLedger({}, {}, {}, {}, {})


@pytest.fixture(scope="module")
def schema():
    return parse_schema(
        (builtin_dir("inbox_schemas") / "payouts.toml").read_text(encoding="utf-8"), "payouts"
    )


def validated(schema, body: str):
    return validate_payouts(read_table((HEADER + body).encode(), "p.csv", schema), schema)


def plan(records, ledger=EMPTY) -> DocumentPlan:
    result = plan_payouts(records, ledger, TERMS)
    assert isinstance(result, DocumentPlan), result
    return result


@pytest.mark.parametrize(
    ("text", "phone"),
    [
        ("8 (912) 345-67-80", "+79123456780"),
        ("+7 912 345 67 81", "+79123456781"),
        ("89123456782", "+79123456782"),
        ("9123456783", "+79123456783"),
        ("", None),
    ],
)
def test_phones_are_normalised(text, phone):
    assert normalize_phone(text) == phone


def test_shared_samples_validate(schema, shared_samples):
    """Both platform exports: all rows valid, extra columns ignored by name, ИП and самозанятые told apart."""
    path = shared_samples / "payouts" / "payouts_2026-11-20.csv"
    result = validate_payouts(read_table(path.read_bytes(), path.name, schema), schema)
    assert result.errors == () and len(result.records) == 8
    assert "utm_source" in result.ignored and "user_id" in result.ignored
    forms = {r.payout_id: r.legal_form for r in result.records}
    assert forms["90001"] is LegalForm.LEGAL and forms["90002"] is LegalForm.ENTREPRENEUR
    assert forms["90003"] is LegalForm.SELF_EMPLOYED


def test_bad_requisites_are_all_named(schema):
    """ИНН checksum, account key against the БИК, корр. счёт, 10-digit ИНН without КПП, 12-digit with КПП."""
    rows = (
        MERIDIAN.format(amount="100.00", day="2026-11-20").replace("7710951927", "7710951928")
        + MERIDIAN.format(amount="100.00", day="2026-11-20").replace(
            "40702810669436944628", "40702810669436944629"
        )
        + MERIDIAN.format(amount="100.00", day="2026-11-20").replace(
            "30101810400000000225", "30101810400000000226"
        )
        + MERIDIAN.format(amount="100.00", day="2026-11-20").replace(",771001001,", ",,")
        + "90009,ИП Петрова Анна Сергеевна,ip,501184532470,771001001,40802810375921131138,044525593,"
        '"АО ""АЛЬФА-БАНК""",'
        "30101810200000000593,+7 912 345 67 81,a@b.ru,2026-04-02,10.00,2026-11-20,\n"
        + MERIDIAN.format(amount="-5", day="2026-11-20").replace("8 (912) 345-67-80", "8 (912) 345-67")
    )
    errors = {(e.line, e.column): e.reason for e in validated(schema, rows).errors}
    assert "контрольн" in errors[(2, "inn")].lower()
    assert "ключ" in errors[(3, "bank_account")]
    assert "БИК" in errors[(4, "corr_account")]
    assert "КПП" in errors[(5, "kpp")] and "КПП" in errors[(6, "kpp")]
    assert "телефон" in errors[(7, "phone")] and "отрицательной" in errors[(7, "amount")]


def test_new_agent_from_registration_known_agent_from_last_act(schema):
    """The first act runs from registration to the payout; the next from the day after the last act."""
    first = validated(schema, MERIDIAN.format(amount="78427.00", day="2026-11-20")).records
    act = plan(first).documents[0]
    assert (act.period_start, act.period_end, act.number) == (
        date(2026, 3, 1),
        date(2026, 11, 20),
        "А2611-0001",
    )
    assert act.contract.number == "АД-7000" and act.contract.date == date(2026, 3, 1)
    assert act.counterparty.bank.account == "40702810669436944628" and act.total == Decimal("78427.00")
    assert act.counterparty.comment == "Договор: https://platform.example.ru/contracts/7000.pdf"

    later = replace(
        validated(schema, MERIDIAN.format(amount="12345.67", day="2026-11-24")).records[0], payout_id="90101"
    )
    known = PayoutLedger(
        {act.counterparty.inn: act.counterparty},
        {act.counterparty.inn: act.contract},
        {act.counterparty.inn: act.period_end},
        {},
        {(DocumentKind.AGENT_ACT, "А2611-\x00"): 1},
    )
    second = plan([later], known)
    assert second.new_counterparties == () and second.contracts == ()
    doc = second.documents[0]
    assert (doc.period_start, doc.period_end, doc.number) == (
        date(2026, 11, 21),
        date(2026, 11, 24),
        "А2611-0002",
    )


def test_two_payouts_of_one_agent_in_a_file_are_chained_by_date(schema):
    rows = MERIDIAN.format(amount="2.00", day="2026-11-24").replace("90001", "90002") + MERIDIAN.format(
        amount="1.00", day="2026-11-20"
    )
    docs = plan(validated(schema, rows).records).documents
    assert [(d.basis, d.period_start, d.period_end) for d in docs] == [
        ("90001", date(2026, 3, 1), date(2026, 11, 20)),
        ("90002", date(2026, 11, 21), date(2026, 11, 24)),
    ]


def test_changed_bank_account_updates_the_card_and_names_the_change(schema):
    act = plan(validated(schema, MERIDIAN.format(amount="1.00", day="2026-11-20")).records).documents[0]
    moved = (
        MERIDIAN.format(amount="2.00", day="2026-11-24")
        .replace("90001", "90101")
        .replace(
            "40702810669436944628,044525225,ПАО Сбербанк,30101810400000000225",
            "40702810200000012345,044525225,ПАО Сбербанк,30101810400000000225",
        )
    )
    ledger = PayoutLedger(
        {act.counterparty.inn: act.counterparty},
        {act.counterparty.inn: act.contract},
        {act.counterparty.inn: act.period_end},
        {},
        {},
    )
    result = plan(validated(schema, moved).records, ledger)
    assert result.new_counterparties == ()
    (change,) = result.changed_counterparties
    old, new = change.changes["bank"]
    assert (old.account, new.account) == ("40702810669436944628", "40702810200000012345")
    assert result.documents[0].counterparty.bank.account == "40702810200000012345"


def test_repeated_payout_is_skipped_and_a_changed_one_refused(schema):
    records = validated(schema, MERIDIAN.format(amount="1.00", day="2026-11-20")).records
    act = plan(records).documents[0]
    inn = act.counterparty.inn
    issued = {"90001": _issued(act)}
    ledger = PayoutLedger({inn: act.counterparty}, {inn: act.contract}, {inn: act.period_end}, issued, {})
    assert plan(records, ledger).skipped == (issued["90001"],) and plan(records, ledger).documents == ()
    changed = validated(schema, MERIDIAN.format(amount="2.00", day="2026-11-20")).records
    (error,) = plan_payouts(changed, ledger, TERMS)
    assert error.line == 2 and "уже оформлен акт № А2611-0001" in error.reason


def _issued(act):
    return IssuedDocument(
        act.kind, act.number, act.contract.number, act.period_start, line_fingerprint(act.lines), act.total
    )


def test_payment_orders_only_for_issued_unpaid_acts(schema):
    act = plan(validated(schema, MERIDIAN.format(amount="78427.00", day="2026-11-20")).records).documents[0]
    payouts = {"90001": IssuedPayout(act), "90002": IssuedPayout(act, order_number="260001")}
    accepted = [Acceptance(2, "90001", date(2026, 11, 21))]
    result = plan_payment_orders(accepted, payouts, {}, TERMS.rules, date(2026, 11, 25))
    assert isinstance(result, OrderPlan)
    (order,) = result.orders
    assert (order.number, order.amount, order.payee.inn) == ("260001", Decimal("78427.00"), "7710951927")
    assert (
        order.purpose
        == "Оплата по акту № А2611-0001 от 20.11.2026 по договору № АД-7000 от 01.03.2026. Без налога (НДС)"
    )
    refused = [
        Acceptance(2, "90002", date(2026, 11, 21)),
        Acceptance(3, "99999", date(2026, 11, 21)),
        Acceptance(4, "90001", date(2026, 11, 21)),
        Acceptance(5, "90001", date(2026, 11, 21)),
    ]
    errors = {
        e.line: e.reason for e in plan_payment_orders(refused, payouts, {}, TERMS.rules, date(2026, 11, 25))
    }
    assert "уже принят" in errors[2] and "260001" in errors[2]
    assert "не найдена" in errors[3] and "повторяется" in errors[5] and 4 not in errors
