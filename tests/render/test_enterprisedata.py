"""EnterpriseData messages: valid against the official XSD and a closed copy, stable, escaped, exact."""

from __future__ import annotations

import re
import uuid
from dataclasses import replace
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from lxml import etree

from daemon.core.documents import Document, DocumentKind, DocumentLine
from daemon.core.money import NO_VAT, VatRate, split_vat, to_kopecks
from daemon.core.records import BankAccount, Contract, Counterparty, LegalForm
from daemon.render.enterprisedata import DOCUMENT_TYPES, REF_NAMESPACE, message_file_name, render_message
from tests.edschema import validate_message

NOW = datetime(2026, 11, 25, 9, 30)
VAT22 = VatRate(Decimal(22))
VAT20 = VatRate(Decimal(20))
TRICKY = 'ООО "Ромашка" <&> ]]>'
ROMASHKA = Counterparty(
    "6672002970",
    "667001001",
    TRICKY,
    LegalForm.LEGAL,
    email="buh@romashka.ru",
    phone="+7 343 111-22-33",
    address="620000, г. Екатеринбург, ул. Ленина, д. 1",
)
SIDOROV = Counterparty(
    "661909802738", None, "ИП Сидоров Пётр Алексеевич", LegalForm.ENTREPRENEUR, email="sidorov@mail.ru"
)
AGENT = Counterparty(
    "501289446853",
    None,
    "Кузнецова Анна Сергеевна",
    LegalForm.SELF_EMPLOYED,
    email="kuznetsova@mail.ru",
    phone="+7 912 000-11-22",
    address="624000, Свердловская обл., г. Арамиль, ул. Мира, д. 3",
    bank=BankAccount("40817810938160925671", "044525225", "ПАО Сбербанк", "30101810400000000225"),
)
ROMASHKA_CONTRACT = Contract("Д-2021/150", ROMASHKA.inn, "100230", date(2021, 3, 15))
SIDOROV_CONTRACT = Contract("Д-2024/077", SIDOROV.inn, "100877")
AGENT_CONTRACT = Contract("А-17", AGENT.inn)
MODERN = ["1.17", "1.20", "1.22"]


def line(
    position: int,
    amount: str,
    rate: VatRate,
    *,
    included: bool = True,
    quantity: str = "1",
    service_id: str = "",
    service: str = "Доступ в интернет",
    address: str = "",
    service_code: str = "",
) -> DocumentLine:
    """One month of one service at one connection address; `amount` is net when VAT is on top."""
    address = address or f"ул. Ленина, д. {position}"
    amounts = split_vat(Decimal(amount), rate, included=included)
    return DocumentLine(
        position,
        service_id or f"50{position:02d}",
        service,
        address,
        f"{service} за ноябрь 2026 г.; адрес подключения: {address}",
        Decimal(quantity),
        "мес",
        to_kopecks(Decimal(amount) / Decimal(quantity)),
        rate,
        amounts.net,
        amounts.vat,
        amounts.gross,
        service_code,
    )


def document(
    kind: DocumentKind,
    number: str,
    party: Counterparty,
    lines: tuple[DocumentLine, ...],
    *,
    included: bool = True,
    contract: Contract | None = None,
    related: str | None = None,
) -> Document:
    """A November 2026 document: an invoice on the 1st, anything else on the 30th."""
    when = date(2026, 11, 1) if kind is DocumentKind.INVOICE else date(2026, 11, 30)
    return Document(
        kind,
        number,
        when,
        date(2026, 11, 1),
        date(2026, 11, 30),
        party,
        contract or Contract("Д-2021/150", party.inn, "100230"),
        lines,
        included,
        related_number=related,
    )


def sample_documents(rate: VatRate) -> list[Document]:
    """Invoice and act for an ООО (VAT on top, several addresses, a «без НДС» line) and for an ИП
    («без НДС»), an УПД with VAT included, the ООО act's счёт-фактура and a self-employed agent's act."""
    romashka = (
        line(1, "1000.00", rate, included=False),
        line(2, "250.00", rate, included=False),
        line(
            3,
            "300.00",
            rate,
            included=False,
            quantity="2",
            service_code="IP-1",
            service='Статический IP "<&>" ]]>',
        ),
        line(4, "99.90", NO_VAT, included=False, service_id="PENI", service="Пени за просрочку оплаты"),
    )
    sidorov = (line(1, "570.33", NO_VAT, address="ул. Советская, д. 42, оф. 9"),)
    upd = (
        line(1, "1220.00", rate, service_id="5005", address="ул. Ленина, д. 5"),
        line(2, "305.00", rate, service_id="5006", address="ул. Ленина, д. 6"),
    )
    fee = replace(
        line(1, "37847.00", NO_VAT, service_id="AGENT-FEE", service="Агентское вознаграждение"),
        address="",
        text="Агентское вознаграждение за ноябрь 2026 г. (выплата P-77)",
    )
    return [
        document(
            DocumentKind.INVOICE, "2611-00001", ROMASHKA, romashka, included=False, contract=ROMASHKA_CONTRACT
        ),
        document(
            DocumentKind.ACT,
            "2611-00001",
            ROMASHKA,
            romashka,
            included=False,
            contract=ROMASHKA_CONTRACT,
            related="2611-00001",
        ),
        document(DocumentKind.INVOICE, "2611-00002", SIDOROV, sidorov, contract=SIDOROV_CONTRACT),
        document(
            DocumentKind.ACT, "2611-00002", SIDOROV, sidorov, contract=SIDOROV_CONTRACT, related="2611-00002"
        ),
        document(DocumentKind.UPD, "2611-00003", ROMASHKA, upd, contract=ROMASHKA_CONTRACT),
        document(
            DocumentKind.TAX_INVOICE,
            "2611-00001",
            ROMASHKA,
            romashka,
            included=False,
            contract=ROMASHKA_CONTRACT,
            related="2611-00001",
        ),
        document(DocumentKind.AGENT_ACT, "А-2611-01", AGENT, (fee,), contract=AGENT_CONTRACT),
    ]


def parse(xml: bytes, version: str = "1.20") -> tuple[etree._Element, dict[str, str]]:
    return etree.fromstring(xml), {
        "ed": f"http://v8.1c.ru/edi/edi_stnd/EnterpriseData/{version}",
        "msg": "http://www.1c.ru/SSL/Exchange/Message",
    }


def document_element(
    tree: etree._Element, ns: dict[str, str], object_type: str, number: str
) -> etree._Element:
    found = tree.xpath(
        f"ed:Body/ed:Документ.{object_type}[ed:КлючевыеСвойства/ed:Номер = $number]",
        namespaces=ns,
        number=number,
    )
    assert len(found) == 1, (object_type, number)
    return found[0]


def children(element: etree._Element) -> list[tuple]:
    """The element's content as (name, text, children) trees, indentation ignored."""
    return [(etree.QName(child).localname, (child.text or "").strip(), children(child)) for child in element]


def own_refs(tree: etree._Element, ns: dict[str, str]) -> dict[str, etree._Element]:
    """Ссылка → КлючевыеСвойства of every object in the Body."""
    return {
        key.findtext("ed:Ссылка", namespaces=ns): key
        for key in tree.iterfind("ed:Body/*/ed:КлючевыеСвойства", ns)
    }


@pytest.mark.parametrize("version", MODERN)
def test_modern_versions_validate(version, company, specs_dir):
    """Every document kind, with 22 % and «без НДС» lines, is valid under both validators."""
    xml = render_message(sample_documents(VAT22), company, version=version, now=NOW)
    assert validate_message(xml, version, specs_dir) == []


def test_version_1_11_validates_without_22_percent(company, specs_dir):
    """1.11 expresses 20 % and «без НДС» with its enum, and the message is valid."""
    xml = render_message(sample_documents(VAT20), company, version="1.11", now=NOW)
    assert validate_message(xml, "1.11", specs_dir) == []
    tree, ns = parse(xml, "1.11")
    assert {e.text for e in tree.iterfind(".//ed:Строка/ed:СтавкаНДС", ns)} == {"НДС20", "БезНДС"}


def test_version_1_11_refuses_22_percent(company):
    """A 22 % line cannot be written in 1.11: refused, not mapped to 20 %."""
    with pytest.raises(
        ValueError, match=re.escape("ставка НДС 22% требует формата EnterpriseData 1.17 или новее")
    ):
        render_message(sample_documents(VAT22), company, version="1.11", now=NOW)


def test_unknown_version_is_refused(company):
    """Only the versions the validators cover can be rendered."""
    with pytest.raises(ValueError, match=re.escape("1.8")):
        render_message(sample_documents(VAT22), company, version="1.8", now=NOW)


@pytest.mark.parametrize(
    ("percent", "children"),
    [
        (
            Decimal(22),
            {"Ставка": "22", "РасчетнаяСтавка": "false", "НеОблагается": "false", "ВидСтавки": "Общая"},
        ),
        (
            Decimal(10),
            {"Ставка": "10", "РасчетнаяСтавка": "false", "НеОблагается": "false", "ВидСтавки": "Пониженная"},
        ),
        (Decimal(0), {"РасчетнаяСтавка": "false", "НеОблагается": "false", "ВидСтавки": "Нулевая"}),
        (None, {"РасчетнаяСтавка": "false", "НеОблагается": "true", "ВидСтавки": "БезНДС"}),
    ],
)
def test_vat_rate_structure(percent, children, company):
    """From 1.17 on a rate is a structure; «без НДС» and 0 % carry no Ставка."""
    doc = document(DocumentKind.ACT, "2611-00009", ROMASHKA, (line(1, "100.00", VatRate(percent)),))
    tree, ns = parse(render_message([doc], company, now=NOW))
    rate = tree.find(".//ed:Услуги/ed:Строка/ed:СтавкаНДС", ns)
    assert {etree.QName(e).localname: e.text for e in rate} == children


def test_same_input_same_bytes(company):
    """Rendering twice with the same `now` gives identical bytes."""
    docs = sample_documents(VAT22)
    assert render_message(docs, company, now=NOW) == render_message(docs, company, now=NOW)


def test_references_are_stable_and_distinct(company):
    """Each object has its own Ссылка, the same in every version and at every `now`."""
    docs = sample_documents(VAT22)
    refs_120 = own_refs(*parse(render_message(docs, company, now=NOW)))
    refs_117 = own_refs(
        *parse(render_message(docs, company, version="1.17", now=NOW + timedelta(days=3)), "1.17")
    )
    counterparties, bank_accounts, contracts, services, documents = 3, 1, 3, 4, 7
    assert len(refs_120) == counterparties + bank_accounts + contracts + services + documents
    assert refs_120.keys() == refs_117.keys()


def test_reference_formula_is_pinned(company):
    """A counterparty's Ссылка is uuid5("Контрагенты:ИНН:КПП"); changing it would duplicate objects in 1C."""
    tree, ns = parse(render_message(sample_documents(VAT22), company, now=NOW))
    ref = tree.findtext("ed:Body/ed:Справочник.Контрагенты/ed:КлючевыеСвойства/ed:Ссылка", namespaces=ns)
    assert ref == str(uuid.uuid5(REF_NAMESPACE, "Контрагенты:6672002970:667001001"))
    assert ref == "481aaa04-edd5-58fd-9fa9-7771e8a1534f"


def test_every_reference_carries_full_key_properties(company):
    """Wherever an object is referenced, its key properties equal the object's own КлючевыеСвойства."""
    tree, ns = parse(render_message(sample_documents(VAT22), company, now=NOW))
    keys = own_refs(tree, ns)
    own = set(keys.values())
    references = [ref.getparent() for ref in tree.iterfind(".//ed:Ссылка", ns) if ref.getparent() not in own]
    for reference in references:
        target = keys[reference.findtext("ed:Ссылка", namespaces=ns)]
        assert children(reference) == children(target), etree.QName(reference).localname
    # counterparties, bank account, contracts, services, the acts' invoices, the счёт-фактура's act
    assert len({ref.findtext("ed:Ссылка", namespaces=ns) for ref in references}) == 3 + 1 + 3 + 4 + 2 + 1


def test_catalogs_come_first_and_once(company):
    """Counterparties, bank accounts, contracts and services precede the documents, each written once."""
    tree, ns = parse(render_message(sample_documents(VAT22), company, now=NOW))
    names = [etree.QName(obj).localname for obj in tree.find("ed:Body", ns)]
    assert names == (
        ["Справочник.Контрагенты"] * 3
        + ["Справочник.БанковскиеСчета"]
        + ["Справочник.Договоры"] * 3
        + ["Справочник.Номенклатура"] * 4
        + ["Документ.ЗаказКлиента", "Документ.РеализацияТоваровУслуг"] * 2
        + [
            "Документ.РеализацияТоваровУслуг",
            "Документ.СчетФактураВыданный",
            "Документ.ПоступлениеТоваровУслуг",
        ]
    )


def test_header_and_envelope(company):
    """Message is unqualified; Header has Format, CreationDate (UTC for an aware `now`), no Confirmation."""
    now = datetime(2026, 11, 25, 14, 30, 15, 123456, tzinfo=timezone(timedelta(hours=5)))
    tree, ns = parse(render_message(sample_documents(VAT22), company, version="1.22", now=now), "1.22")
    assert tree.tag == "Message" and tree.nsmap == {
        "msg": ns["msg"],
        "xs": "http://www.w3.org/2001/XMLSchema",
        "xsi": "http://www.w3.org/2001/XMLSchema-instance",
    }
    header = tree.find("msg:Header", ns)
    assert [(etree.QName(e).localname, e.text) for e in header] == [
        ("Format", "http://v8.1c.ru/edi/edi_stnd/EnterpriseData/1.22"),
        ("CreationDate", "2026-11-25T09:30:15"),
        ("AvailableVersion", "1.22"),
    ]
    assert tree.find("ed:Body", ns).nsmap[None] == ns["ed"]


def test_names_are_escaped_and_read_back(company):
    """Names with <, &, quotes and ]]> are escaped in the bytes and parse back to the same text."""
    xml = render_message(sample_documents(VAT22), company, now=NOW)
    assert b"<&>" not in xml and b"]]>" not in xml
    tree, ns = parse(xml)
    assert {e.text for e in tree.iterfind(".//ed:Контрагент/ed:Наименование", ns)} >= {TRICKY}
    service_names = {e.text for e in tree.iterfind(".//ed:Номенклатура/ed:Наименование", ns)}
    assert 'Статический IP "<&>" ]]>' in service_names


def test_sums_equal_the_documents(company):
    """Every document's Сумма, row sums and VAT are the Document's; amounts are plain, with 2 decimals."""
    docs = sample_documents(VAT22)
    tree, ns = parse(render_message(docs, company, now=NOW))
    amounts = [e.text for name in ("Сумма", "Цена", "СуммаНДС") for e in tree.iterfind(f".//ed:{name}", ns)]
    assert all(re.fullmatch(r"\d+\.\d{2}", text) for text in amounts), amounts
    for doc in docs:
        obj = document_element(tree, ns, DOCUMENT_TYPES[doc.kind], doc.number)
        assert obj.findtext("ed:Сумма", namespaces=ns) == f"{doc.total:.2f}"
        if doc.kind is DocumentKind.TAX_INVOICE:
            assert obj.findtext("ed:СуммаНДС", namespaces=ns) == f"{doc.vat:.2f}"
            continue
        sums = [Decimal(e.text) for e in obj.iterfind("ed:Услуги/ed:Строка/ed:Сумма", ns)]
        vats = [Decimal(e.text) for e in obj.iterfind("ed:Услуги/ed:Строка/ed:СуммаНДС", ns)]
        assert sums == [ln.gross if doc.vat_included else ln.net for ln in doc.lines]
        assert vats == [ln.vat for ln in doc.lines]
        assert sum(sums) + (0 if doc.vat_included else sum(vats)) == doc.total
    act = document_element(tree, ns, "РеализацияТоваровУслуг", "2611-00001")
    assert act.findtext("ed:Сумма", namespaces=ns) == "1990.90"  # 1550.00 + 22 % on top (341.00) + 99.90


def test_service_catalog(company):
    """A service is Номенклатура of type Услуга: its code in Артикул, unit «мес» (ОКЕИ 362), its VAT rate."""
    tree, ns = parse(render_message(sample_documents(VAT22), company, now=NOW))
    service = tree.xpath(
        "ed:Body/ed:Справочник.Номенклатура[ed:КлючевыеСвойства/ed:Артикул = 'IP-1']", namespaces=ns
    )[0]
    assert [(etree.QName(e).localname, e.text) for e in service.iter() if e.text and e.text.strip()] == [
        ("Ссылка", str(uuid.uuid5(REF_NAMESPACE, "Номенклатура:IP-1"))),
        ("НаименованиеПолное", 'Статический IP "<&>" ]]>'),
        ("Артикул", "IP-1"),
        ("Наименование", 'Статический IP "<&>" ]]>'),
        ("ТипНоменклатуры", "Услуга"),
        ("Код", "362"),
        ("Наименование", "мес"),
        ("Ставка", "22"),
        ("РасчетнаяСтавка", "false"),
        ("НеОблагается", "false"),
        ("ВидСтавки", "Общая"),
    ]


def test_one_catalog_item_per_service_not_per_connection(company):
    """Connections of one service share one Номенклатура, keyed by the service's name when it has no
    code, with the same Ссылка in a later month's message; each row's Содержание keeps its address."""
    november = document(DocumentKind.ACT, "2611-00009", ROMASHKA, (
        line(1, "100.00", VAT22, service_id="5001", address="ул. Ленина, д. 1"),
        line(2, "100.00", VAT22, service_id="5002", address="ул. Мира, д. 2"),
    ))
    december = replace(document(DocumentKind.ACT, "2612-00001", SIDOROV, (
        line(1, "100.00", VAT22, service_id="7001", address="ул. Гагарина, д. 3"),
    )), date=date(2026, 12, 31))
    refs = []
    for doc in (november, december):
        tree, ns = parse(render_message([doc], company, now=NOW))
        (item,) = tree.iterfind("ed:Body/ed:Справочник.Номенклатура/ed:КлючевыеСвойства", ns)
        assert item.find("ed:Артикул", ns) is None
        refs.append(item.findtext("ed:Ссылка", namespaces=ns))
        contents = [e.text for e in tree.iterfind(".//ed:Услуги/ed:Строка/ed:Содержание", ns)]
        assert contents == [ln.text for ln in doc.lines]
    assert refs[0] == refs[1] == str(uuid.uuid5(REF_NAMESPACE, "Номенклатура:Доступ в интернет"))


@pytest.mark.parametrize(
    ("unit", "classifier"),
    [("мес", ["362", "мес"]), ("шт.", ["796", "шт."]), ("", ["362", "мес"]), ("Гбайт", ["Гбайт"])],
)
def test_units_by_okei_code(unit, classifier, company):
    """A unit is sent with its ОКЕИ code when known, «мес» (362) when empty, by name alone otherwise."""
    doc = document(DocumentKind.ACT, "2611-00009", ROMASHKA, (replace(line(1, "100.00", VAT22), unit=unit),))
    tree, ns = parse(render_message([doc], company, now=NOW))
    data = tree.find("ed:Body/ed:Справочник.Номенклатура/ed:ЕдиницаИзмерения/ed:ДанныеКлассификатора", ns)
    assert [e.text for e in data] == classifier


def test_catalog_names_are_cut_to_100_characters(company):
    """1C's Наименование holds 100 characters; НаименованиеПолное keeps the whole name."""
    name = "ООО " + "Очень длинное наименование " * 5
    party = replace(ROMASHKA, name=name)
    doc = document(DocumentKind.ACT, "2611-00009", party, (line(1, "100.00", VAT22),))
    tree, ns = parse(render_message([doc], company, now=NOW))
    key = tree.find("ed:Body/ed:Справочник.Контрагенты/ed:КлючевыеСвойства", ns)
    assert key.findtext("ed:Наименование", namespaces=ns) == name[:100]
    assert key.findtext("ed:НаименованиеПолное", namespaces=ns) == name


def test_dates_and_quantities(company):
    """Document keys are noon xs:dateTime, contract and issue dates xs:date, quantities plain."""
    tree, ns = parse(render_message(sample_documents(VAT22), company, now=NOW))
    act = document_element(tree, ns, "РеализацияТоваровУслуг", "2611-00001")
    assert act.findtext("ed:КлючевыеСвойства/ed:Дата", namespaces=ns) == "2026-11-30T12:00:00"
    assert act.findtext("ed:ДанныеВзаиморасчетов/ed:Договор/ed:Дата", namespaces=ns) == "2021-03-15"
    assert [q.text for q in act.iterfind("ed:Услуги/ed:Строка/ed:Количество", ns)] == ["1", "1", "2", "1"]
    assert [p.text for p in act.iterfind("ed:Услуги/ed:Строка/ed:Цена", ns)][2] == "150.00"
    tax_invoice = document_element(tree, ns, "СчетФактураВыданный", "2611-00001")
    assert tax_invoice.findtext("ed:ДатаВыставления", namespaces=ns) == "2026-11-30"


def test_taxation_follows_the_lines(company):
    """An act with only «без НДС» lines is ПродажаНеОблагаетсяНДС; one with any taxed line is not."""
    tree, ns = parse(render_message(sample_documents(VAT22), company, now=NOW))
    taxation = {
        number: document_element(tree, ns, "РеализацияТоваровУслуг", number).findtext(
            "ed:Налогообложение", namespaces=ns
        )
        for number in ("2611-00001", "2611-00002")
    }
    assert taxation == {"2611-00001": "ПродажаОблагаетсяНДС", "2611-00002": "ПродажаНеОблагаетсяНДС"}


@pytest.mark.parametrize(
    ("version", "flags"),
    [("1.17", []), ("1.20", ["false", "false", "true"]), ("1.22", ["false", "false", "true"])],
)
def test_upd_flag_where_the_version_has_it(version, flags, company):
    """ЭтоУПД is true for the УПД and false for acts from 1.20 on, and absent in 1.17."""
    tree, ns = parse(render_message(sample_documents(VAT22), company, version=version, now=NOW), version)
    assert [
        e.text for e in tree.iterfind("ed:Body/ed:Документ.РеализацияТоваровУслуг/ed:ЭтоУПД", ns)
    ] == flags


def test_counterparty_kinds(company):
    """An ООО has its КПП; an ИП and a самозанятый are physical persons with their flags (1.17+)."""
    tree, ns = parse(render_message(sample_documents(VAT22), company, now=NOW))
    keys = {
        k.findtext("ed:ИНН", namespaces=ns): {etree.QName(e).localname: e.text for e in k}
        for k in tree.iterfind("ed:Body/ed:Справочник.Контрагенты/ed:КлючевыеСвойства", ns)
    }
    assert (
        keys[ROMASHKA.inn]["КПП"] == "667001001"
        and keys[ROMASHKA.inn]["ЮридическоеФизическоеЛицо"] == "ЮридическоеЛицо"
    )
    assert "ИндивидуальныйПредприниматель" not in keys[ROMASHKA.inn]
    assert "КПП" not in keys[SIDOROV.inn]
    assert [
        keys[inn][f]
        for inn in (SIDOROV.inn, AGENT.inn)
        for f in ("ЮридическоеФизическоеЛицо", "ИндивидуальныйПредприниматель", "Самозанятый")
    ] == ["ФизическоеЛицо", "true", "false", "ФизическоеЛицо", "false", "true"]


def test_tax_invoice_points_to_its_act(company):
    """The счёт-фактура's ДокументОснование is the act's own key, Ссылка included."""
    tree, ns = parse(render_message(sample_documents(VAT22), company, now=NOW))
    act_key = document_element(tree, ns, "РеализацияТоваровУслуг", "2611-00001").find(
        "ed:КлючевыеСвойства", ns
    )
    basis = document_element(tree, ns, "СчетФактураВыданный", "2611-00001").find(
        "ed:ДокументыОснования/ed:Строка/ed:ДокументОснование/ed:РеализацияТоваровУслугСсылка", ns
    )
    assert children(basis) == children(act_key)


def test_tax_invoice_of_an_earlier_act(company):
    """Without its act in the message, a счёт-фактура still refers to the act by the same Ссылка."""
    docs = sample_documents(VAT22)
    alone, together = (parse(render_message(batch, company, now=NOW)) for batch in ([docs[5]], docs))
    path = "ed:Body/ed:Документ.СчетФактураВыданный//ed:РеализацияТоваровУслугСсылка/ed:Ссылка"
    assert alone[0].findtext(path, namespaces=alone[1]) == together[0].findtext(path, namespaces=together[1])


def test_agent_act_is_a_purchase(company):
    """An agent's act is a ПоступлениеТоваровУслуг under a СПоставщиком contract, with the agent's account."""
    tree, ns = parse(render_message(sample_documents(VAT22), company, now=NOW))
    purchase = document_element(tree, ns, "ПоступлениеТоваровУслуг", "А-2611-01")
    key = purchase.find("ed:КлючевыеСвойства", ns)
    assert [
        key.findtext(f"ed:ДанныеВходящегоДокумента/ed:{f}", namespaces=ns)
        for f in ("НомерВходящегоДокумента", "ДатаВходящегоДокумента")
    ] == ["А-2611-01", "2026-11-30"]
    assert key.findtext("ed:Контрагент/ed:Самозанятый", namespaces=ns) == "true"
    assert (
        purchase.findtext("ed:ДанныеВзаиморасчетов/ed:Договор/ed:ВидДоговора", namespaces=ns)
        == "СПоставщиком"
    )
    assert (
        purchase.findtext("ed:БанковскийСчетКонтрагента/ed:НомерСчета", namespaces=ns) == AGENT.bank.account
    )
    assert purchase.findtext("ed:Налогообложение", namespaces=ns) == "НеОблагаетсяНДС"
    agent = tree.xpath(
        "ed:Body/ed:Справочник.Контрагенты[ed:КлючевыеСвойства/ed:ИНН = $inn]", namespaces=ns, inn=AGENT.inn
    )[0]
    assert (
        agent.findtext(
            "ed:ОсновнойБанковскийСчет/ed:Банк/ed:ДанныеКлассификатораБанков/ed:БИК", namespaces=ns
        )
        == "044525225"
    )
    assert [
        r.findtext("ed:ВидКонтактнойИнформации", namespaces=ns)
        for r in agent.iterfind("ed:КонтактнаяИнформация/ed:Строка", ns)
    ] == ["ЮридическийАдрес", "Телефон", "АдресЭлектроннойПочты"]


def _drop_legal_form(tree, ns):
    kind = tree.find(".//ed:ЮридическоеФизическоеЛицо", ns)
    kind.getparent().remove(kind)


def _swap_date_and_number(tree, ns):
    key = tree.find("ed:Body/ed:Документ.РеализацияТоваровУслуг/ed:КлючевыеСвойства", ns)
    key.insert(1, key.find("ed:Номер", ns))  # Ссылка, Номер, Дата: the счёт-фактура's order, not the act's


def _move_content_after_service_type(tree, ns):
    row = tree.find("ed:Body/ed:Документ.РеализацияТоваровУслуг/ed:Услуги/ed:Строка", ns)
    row.append(row.find("ed:Содержание", ns))


def _add_unknown_element(tree, ns):
    etree.SubElement(tree.find("ed:Body/ed:Документ.ЗаказКлиента", ns), f"{{{ns['ed']}}}Foo").text = "x"


def _break_a_reference(tree, ns):
    tree.find(".//ed:Ссылка", ns).text = "Ромашка-1"


@pytest.mark.parametrize(
    ("mutate", "caught_by"),
    [
        (_drop_legal_form, {"official", "closed"}),
        (_swap_date_and_number, {"official", "closed"}),
        (_move_content_after_service_type, {"official", "closed"}),
        (_add_unknown_element, {"closed"}),
        (_break_a_reference, {"Ссылка"}),
    ],
)
def test_validators_catch_broken_messages(mutate, caught_by, company, specs_dir):
    """Each mutation of a valid message is reported by the validators that can see it."""
    tree, ns = parse(render_message(sample_documents(VAT22), company, now=NOW))
    mutate(tree, ns)
    problems = validate_message(etree.tostring(tree, encoding="UTF-8"), "1.20", specs_dir)
    assert {problem.split(":", 1)[0] for problem in problems} == caught_by, problems


def test_message_file_name():
    """ED_<version>_<source>_<time>_<digest>.xml, ASCII without spaces."""
    assert message_file_name("charges", NOW, "ab12cd34") == "ED_1.20_charges_20261125-093000_ab12cd34.xml"
    assert message_file_name("new payouts", NOW, "ab12cd34", version="1.17") == (
        "ED_1.17_new-payouts_20261125-093000_ab12cd34.xml"
    )
    assert message_file_name("начисления", NOW, "ab12cd34").isascii()
    with pytest.raises(ValueError, match=re.escape("1.8")):
        message_file_name("charges", NOW, "ab12cd34", version="1.8")
