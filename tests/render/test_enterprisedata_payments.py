"""EnterpriseData payment orders to agents: valid, exact, on the agent act's own contract, stable."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal

import pytest
from lxml import etree

from daemon.core.money import NO_VAT
from daemon.render.enterprisedata import render_message, render_payment_orders
from tests.edschema import validate_message
from tests.render.test_bankfile import CAFE, payment_order, sample_orders
from tests.render.test_enterprisedata import (
    AGENT,
    MODERN,
    NOW,
    VAT22,
    children,
    document_element,
    own_refs,
    parse,
    sample_documents,
)


@pytest.mark.parametrize("version", MODERN)
def test_modern_versions_validate(version, company, specs_dir):
    """Orders to a self-employed agent and to an ООО with 22 % VAT are valid under both validators."""
    xml = render_payment_orders(sample_orders(), company, version=version, now=NOW)
    assert validate_message(xml, version, specs_dir) == []
    tree, ns = parse(xml, version)
    assert len(tree.findall("ed:Body/ed:Документ.ПлатежноеПоручение", ns)) == 3


def test_version_1_11_has_no_operation_kind(company, specs_dir):
    """1.11 has no ВидОперации on a payment order and writes «без НДС» with its enum; still valid."""
    orders = [order for order in sample_orders() if order.vat_rate is NO_VAT]
    xml = render_payment_orders(orders, company, version="1.11", now=NOW)
    assert validate_message(xml, "1.11", specs_dir) == []
    tree, ns = parse(xml, "1.11")
    assert tree.find(".//ed:ВидОперации", ns) is None
    assert [e.text for e in tree.iterfind(".//ed:Документ.ПлатежноеПоручение/ed:СтавкаНДС", ns)] == [
        "БезНДС"
    ] * 2


@pytest.mark.parametrize("version", MODERN)
def test_order_values(version, company):
    """Each order carries its sum, VAT, purpose, payment terms, both parties' accounts and ИНН/КПП."""
    tree, ns = parse(render_payment_orders(sample_orders(), company, version=version, now=NOW), version)
    for order in sample_orders():
        obj = document_element(tree, ns, "ПлатежноеПоручение", order.number)

        def text(path: str, obj: etree._Element = obj) -> str | None:
            return obj.findtext(path, namespaces=ns)

        assert text("ed:КлючевыеСвойства/ed:Дата") == f"{order.date.isoformat()}T12:00:00"
        assert text("ed:КлючевыеСвойства/ed:Организация/ed:ИНН") == company.inn
        assert text("ed:ВидОперации") == (
            "РасчетыСамозанятым" if order.payee is AGENT else "ОплатаПоставщику"
        )
        assert text("ed:БанковскийСчетОрганизации/ed:НомерСчета") == company.bank.account
        assert text("ed:Контрагент/ed:ИНН") == order.payee.inn
        assert text("ed:БанковскийСчет/ed:НомерСчета") == order.payee.bank.account
        assert text("ed:БанковскийСчет/ed:Банк/ed:ДанныеКлассификатораБанков/ed:БИК") == order.payee.bank.bik
        assert text("ed:БанковскийСчет/ed:Владелец/ed:КонтрагентыСсылка/ed:ИНН") == order.payee.inn
        assert [(etree.QName(e).localname, e.text) for e in obj.find("ed:РеквизитыПлатежа", ns)] == [
            ("ВидОплаты", "01"),
            ("Очередность", "5"),
            ("НазначениеПлатежа", order.purpose),
        ]
        assert text("ed:Сумма") == f"{order.amount:.2f}"
        assert text("ed:СуммаНДС") == f"{order.vat:.2f}"
        assert text("ed:СтавкаНДС/ed:ВидСтавки") == ("БезНДС" if order.vat_rate is NO_VAT else "Общая")
        assert text("ed:Договор/ed:Номер") == order.contract.number
        assert text("ed:Договор/ed:ВидДоговора") == "СПоставщиком"
        assert (text("ed:ИННПлательщика"), text("ed:КПППлательщика")) == (company.inn, company.kpp)
        assert (text("ed:ИННПолучателя"), text("ed:КПППолучателя")) == (order.payee.inn, order.payee.kpp)
        assert (
            obj.find("ed:Оплачено", ns) is None
        )  # 1C sets it from the statement; a re-send must not clear it


def test_amounts_are_plain_with_two_decimals(company):
    """Сумма and СуммаНДС are plain decimals with 2 places, «0.50» included."""
    tree, ns = parse(render_payment_orders(sample_orders(), company, now=NOW))
    amounts = [e.text for name in ("Сумма", "СуммаНДС") for e in tree.iterfind(f".//ed:{name}", ns)]
    assert "0.50" in amounts and all(re.fullmatch(r"\d+\.\d{2}", text) for text in amounts), amounts


def test_pays_the_agent_acts_own_contract(company):
    """The order refers to the same counterparty, bank account and contract Ссылка as the agent's act."""
    act_tree, ns = parse(render_message(sample_documents(VAT22), company, now=NOW))
    act = document_element(act_tree, ns, "ПоступлениеТоваровУслуг", "А-2611-01")
    tree, _ = parse(render_payment_orders(sample_orders()[:1], company, now=NOW))
    order = document_element(tree, ns, "ПлатежноеПоручение", "18")
    pairs = [
        ("ed:ДанныеВзаиморасчетов/ed:Договор", "ed:Договор"),
        ("ed:КлючевыеСвойства/ed:Контрагент", "ed:Контрагент"),
        ("ed:БанковскийСчетКонтрагента", "ed:БанковскийСчет"),
    ]
    for in_act, in_order in pairs:
        assert children(act.find(in_act, ns)) == children(order.find(in_order, ns)), in_order


def test_catalogs_once_then_orders(company):
    """Each agent, its bank account and contract are written once, before the orders."""
    tree, ns = parse(render_payment_orders(sample_orders(), company, now=NOW))
    assert [etree.QName(obj).localname for obj in tree.find("ed:Body", ns)] == (
        ["Справочник.Контрагенты"] * 2
        + ["Справочник.БанковскиеСчета"] * 2
        + ["Справочник.Договоры"] * 2
        + ["Документ.ПлатежноеПоручение"] * 3
    )


def test_every_reference_carries_full_key_properties(company):
    """Wherever a catalog object is referenced, its key properties equal the object's own."""
    tree, ns = parse(render_payment_orders(sample_orders(), company, now=NOW))
    keys = own_refs(tree, ns)
    own = set(keys.values())
    references = [ref.getparent() for ref in tree.iterfind(".//ed:Ссылка", ns) if ref.getparent() not in own]
    for reference in references:
        assert children(reference) == children(keys[reference.findtext("ed:Ссылка", namespaces=ns)])
    assert len({ref.findtext("ed:Ссылка", namespaces=ns) for ref in references}) == 2 + 2 + 2


def test_order_reference_survives_corrections(company):
    """A corrected order (amount, purpose, a later `now`) keeps its Ссылка, so 1C updates it in place."""
    order = sample_orders()[0]
    corrected = replace(order, amount=Decimal("37000.00"), purpose="Оплата по акту, исправлено")
    first = own_refs(*parse(render_payment_orders([order], company, now=NOW)))
    second = own_refs(*parse(render_payment_orders([corrected], company, now=NOW + timedelta(days=1))))
    assert first.keys() == second.keys()
    again = payment_order(order.number, date(2027, 1, 10), "100.00")
    assert own_refs(*parse(render_payment_orders([again], company, now=NOW))).keys() != first.keys()


def test_same_input_same_bytes(company):
    """Rendering twice with the same `now` gives identical bytes."""
    assert render_payment_orders(sample_orders(), company, now=NOW) == render_payment_orders(
        sample_orders(), company, now=NOW
    )


def test_payee_without_bank_account_is_refused(company):
    """An order with nowhere to send the money is refused, not written without a БанковскийСчет."""
    order = payment_order("20", date(2026, 12, 4), "10.00", replace(CAFE, bank=None))
    with pytest.raises(ValueError, match="нет банковского счёта"):
        render_payment_orders([order], company, now=NOW)
