"""1CClientBankExchange upload files: read back by billdrop's statement parser, cp1251 + CRLF, exact keys."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime
from decimal import Decimal

import pytest

from daemon.core.bankstatement import BankStatement, StatementDocument, parse_statement
from daemon.core.money import NO_VAT, VatRate
from daemon.core.records import BankAccount, Contract, Counterparty, LegalForm
from daemon.core.sources.acceptances import PaymentOrder
from daemon.render.bankfile import render_payment_file
from tests.render.test_enterprisedata import AGENT, AGENT_CONTRACT

NOW = datetime(2026, 12, 4, 9, 5, 7)
VAT22 = VatRate(Decimal(22))
# Quotes, «ёлочки» and a non-breaking space are cp1251; «é», the non-breaking hyphen and 🙂 are not.
CAFE = Counterparty(
    "6672002970",
    "667001001",
    'ООО "Кафе «Ré\u2011Mi»"\u00a0🙂',
    LegalForm.LEGAL,
    bank=BankAccount(
        "40702810900000000123", "046577964", 'АО "АЛЬФА-БАНК" г. Екатеринбург', "30101810100000000964"
    ),
)
CAFE_CONTRACT = Contract("А-21", CAFE.inn)


def payment_order(
    number: str,
    day: date,
    amount: str,
    payee: Counterparty = AGENT,
    contract: Contract = AGENT_CONTRACT,
    *,
    rate: VatRate = NO_VAT,
    vat: str = "0.00",
) -> PaymentOrder:
    """An order paying the payee's act of the last day of November 2026."""
    act = f"А-2611-{number}"
    clause = "Без НДС" if rate.exempt else f"В т.ч. НДС {rate.label} - {vat} руб."
    return PaymentOrder(
        number,
        day,
        Decimal(amount),
        payee,
        contract,
        act,
        date(2026, 11, 30),
        f"P-{number}",
        rate,
        Decimal(vat),
        f"Оплата по акту № {act} от 30.11.2026 по договору № {contract.number}. {clause}",
    )


def sample_orders() -> list[PaymentOrder]:
    """A self-employed agent paid twice (dates out of order) and an ООО with VAT and a tricky name."""
    return [
        payment_order("18", date(2026, 12, 4), "37847.00"),
        payment_order("19", date(2026, 12, 4), "1220.00", CAFE, CAFE_CONTRACT, rate=VAT22, vat="220.00"),
        payment_order("17", date(2026, 12, 2), "0.50"),
    ]


def sections(data: bytes) -> list[list[tuple[str, str]]]:
    """The file's header and each document section as (key, value) pairs, in file order."""
    found: list[list[tuple[str, str]]] = [[]]
    for line in data.decode("cp1251").split("\r\n")[1:]:
        if line.startswith("СекцияДокумент="):
            found.append([])
        elif line not in ("КонецДокумента", "КонецФайла", ""):
            key, _, value = line.partition("=")
            found[-1].append((key, value))
    return found


def test_round_trip_through_the_statement_parser(company):
    """parse_statement reads every order back: number, date, Decimal amount, both parties, purpose."""
    orders = sample_orders()
    statement = parse_statement(render_payment_file(orders, company, now=NOW))
    assert isinstance(statement, BankStatement), statement
    assert statement.format_version == "1.03"
    assert statement.accounts == (company.bank.account,)
    names = [AGENT.name, 'ООО "Кафе «Re-Mi»" ?', AGENT.name]
    assert [replace(d, line=0) for d in statement.documents] == [
        StatementDocument(
            line=0,
            kind="Платежное поручение",
            number=o.number,
            date=o.date,
            amount=o.amount,
            payer_account=company.bank.account,
            payer_inn=company.inn,
            payer_name=company.name,
            payee_account=o.payee.bank.account,
            payee_inn=o.payee.inn,
            payee_name=name,
            received=None,
            debited=None,
            purpose=o.purpose,
        )
        for o, name in zip(orders, names, strict=True)
    ]
    assert [str(d.amount) for d in statement.documents] == ["37847.00", "1220.00", "0.50"]


def test_every_key_of_an_order(company):
    """An order to an ООО has the standard's keys in order; the city is split off the bank's name."""
    order = sample_orders()[1]
    assert sections(render_payment_file([order], company, now=NOW))[1] == [
        ("Номер", "19"),
        ("Дата", "04.12.2026"),
        ("Сумма", "1220.00"),
        ("ПлательщикСчет", "40702810016540012345"),
        ("Плательщик", 'ИНН 6670000014 ООО "СеверНет"'),
        ("ПлательщикИНН", "6670000014"),
        ("ПлательщикКПП", "667001001"),
        ("Плательщик1", 'ООО "СеверНет"'),
        ("ПлательщикРасчСчет", "40702810016540012345"),
        ("ПлательщикБанк1", "ПАО Сбербанк"),
        ("ПлательщикБанк2", ""),
        ("ПлательщикБИК", "044525225"),
        ("ПлательщикКорсчет", "30101810400000000225"),
        ("ПолучательСчет", "40702810900000000123"),
        ("Получатель", 'ИНН 6672002970 ООО "Кафе «Re-Mi»" ?'),
        ("ПолучательИНН", "6672002970"),
        ("ПолучательКПП", "667001001"),
        ("Получатель1", 'ООО "Кафе «Re-Mi»" ?'),
        ("ПолучательРасчСчет", "40702810900000000123"),
        ("ПолучательБанк1", 'АО "АЛЬФА-БАНК"'),
        ("ПолучательБанк2", "г. Екатеринбург"),
        ("ПолучательБИК", "046577964"),
        ("ПолучательКорсчет", "30101810100000000964"),
        ("ВидОплаты", "01"),
        ("Очередность", "5"),
        (
            "НазначениеПлатежа",
            "Оплата по акту № А-2611-19 от 30.11.2026 по договору № А-21. В т.ч. НДС 22% - 220.00 руб.",
        ),
    ]


def test_person_has_an_empty_kpp(company):
    """A self-employed payee without КПП gets an empty ПолучательКПП, not a made-up one."""
    document = dict(sections(render_payment_file(sample_orders()[:1], company, now=NOW))[1])
    assert document["ПолучательКПП"] == ""
    assert document["Получатель"] == f"ИНН {AGENT.inn} {AGENT.name}"


def test_header(company):
    """The header names the format, our account and the period from the earliest to the latest order."""
    assert sections(render_payment_file(sample_orders(), company, now=NOW))[0] == [
        ("ВерсияФормата", "1.03"),
        ("Кодировка", "Windows"),
        ("Отправитель", "billdrop"),
        ("Получатель", ""),
        ("ДатаСоздания", "04.12.2026"),
        ("ВремяСоздания", "09:05:07"),
        ("ДатаНачала", "02.12.2026"),
        ("ДатаКонца", "04.12.2026"),
        ("РасчСчет", "40702810016540012345"),
        ("Документ", "Платежное поручение"),
    ]


def test_cp1251_with_crlf_and_markers(company):
    """cp1251 bytes (« is 0xAB), every line ended by CRLF, one section per order, КонецФайла last."""
    data = render_payment_file(sample_orders(), company, now=NOW)
    assert "«".encode("cp1251") == b"\xab" and b"\xab" in data
    assert data.count(b"\n") == data.count(b"\r\n") and data.endswith("КонецФайла\r\n".encode("cp1251"))
    lines = data.decode("cp1251").split("\r\n")
    assert lines[0] == "1CClientBankExchange"
    assert lines.count("СекцияДокумент=Платежное поручение") == lines.count("КонецДокумента") == 3


def test_purpose_stays_on_one_line(company):
    """A line break or tab in the purpose becomes a space, so it cannot start a key of its own."""
    order = replace(sample_orders()[0], purpose="Оплата по акту\r\nКонецДокумента\tи т. д.")
    statement = parse_statement(render_payment_file([order], company, now=NOW))
    assert isinstance(statement, BankStatement)
    assert statement.documents[0].purpose == "Оплата по акту КонецДокумента и т. д."


def test_same_bytes_twice(company):
    """Rendering is deterministic."""
    assert render_payment_file(sample_orders(), company, now=NOW) == render_payment_file(
        sample_orders(), company, now=NOW
    )


@pytest.mark.parametrize(
    ("orders", "message"),
    [
        ([], "нет платёжных поручений"),
        ([replace(sample_orders()[0], payee=replace(AGENT, bank=None))], "нет банковского счёта"),
        ([replace(sample_orders()[0], purpose="Оплата " * 31)], "длиннее 210"),
    ],
)
def test_refuses_what_the_bank_would_reject(orders, message, company):
    """No orders, a payee without an account and a purpose over 210 characters are refused."""
    with pytest.raises(ValueError, match=message):
        render_payment_file(orders, company, now=NOW)
