"""ФНС УПД and счёт-фактура 5.03: valid against the official XSD, named by ИдФайл, cp1251, exact, stable."""

from __future__ import annotations

import re
import uuid
from dataclasses import replace
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import pytest
import xmlschema
from lxml import etree

from daemon.core.documents import Document, DocumentKind
from daemon.core.money import NO_VAT, VatRate
from daemon.core.names import parse_person_name
from daemon.core.records import Company, Counterparty, LegalForm
from daemon.render.fns import FILE_NAMESPACE, FnsFile, render_fns
from tests.render.test_enterprisedata import AGENT, ROMASHKA, ROMASHKA_CONTRACT, SIDOROV, document, line

NOW = datetime(2026, 11, 30, 18, 5, 9)
VAT22 = VatRate(Decimal(22))
OUR_EDO = "2BE0123456789abcdef0123456789abcdef"
BUYER_EDO = "2BM-6672002970-667001001-201511130347402155433"
NAME = 'ООО "Ромашка" <&> ]]> Café 😀'  # markup, a character cp1251 lacks (é) and one outside the BMP
BUYER = replace(ROMASHKA, name=NAME, edo_id=BUYER_EDO)
PERSON = Counterparty(
    "500100732259", None, "Петров Пётр Петрович", LegalForm.PERSON, address="624000, г. Арамиль, ул. Мира, 5"
)
FILE_NAME = re.compile(
    r"ON_NSCHFDOPPR_(?P<buyer>[^_]*)_(?P<seller>[^_]*)_(?P<day>\d{8})_"
    r"(?P<guid>[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})_0_0_0_0_0_00\.xml"
)


@pytest.fixture(scope="session")
def fns_schema(specs_dir: Path) -> xmlschema.XMLSchema:
    """The official 5.03 rev. 05 seller's title XSD (it imports nothing), built once per session."""
    return xmlschema.XMLSchema(specs_dir / "fns" / "ON_NSCHFDOPPR_1_997_01_05_03_05.xsd")


@pytest.fixture(scope="session")
def seller(company: Company) -> Company:
    """Our company with an ЭДО id and a director named in full, so that nothing is missing."""
    return replace(company, edo_id=OUR_EDO, director="Иванов Иван Иванович")


def upd(party: Counterparty = BUYER, *lines_, included: bool = True, number: str = "2611-00003") -> Document:
    return document(DocumentKind.UPD, number, party, lines_ or (line(1, "1220.00", VAT22),),
                    included=included, contract=ROMASHKA_CONTRACT)


def tax_invoice(related: str | None = "2611-00002") -> Document:
    lines_ = (line(1, "1000.00", VAT22, included=False), line(2, "250.00", VAT22, included=False))
    return document(DocumentKind.TAX_INVOICE, "2611-00004", BUYER, lines_, included=False, related=related)


INCLUDED = (line(1, "1220.00", VAT22), line(2, "100.00", VAT22, quantity="3"), line(3, "99.90", NO_VAT))
ON_TOP = (line(1, "1000.00", VAT22, included=False), line(2, "300.00", VAT22, included=False, quantity="2"))
# variant → (Функция, document)
VARIANTS = {
    "СЧФДОП, НДС 22 % в цене, ООО": ("СЧФДОП", upd(BUYER, *INCLUDED)),
    "СЧФДОП, НДС 22 % сверху, ООО": ("СЧФДОП", upd(BUYER, *ON_TOP, included=False)),
    "ДОП без НДС, ИП без адреса": ("ДОП", upd(replace(SIDOROV, edo_id=BUYER_EDO), line(1, "570.33", NO_VAT))),
    "СЧФДОП, физлицо": ("СЧФДОП", upd(replace(PERSON, edo_id=BUYER_EDO))),
    "СЧФДОП, самозанятый": ("СЧФДОП", upd(replace(AGENT, edo_id=BUYER_EDO))),
    "СЧФ на акт": ("СЧФ", tax_invoice()),
}


def render(doc: Document, company: Company) -> tuple[FnsFile, etree._Element]:
    result = render_fns(doc, company, now=NOW)
    return result, etree.fromstring(result.content)


def amount(element: etree._Element, attribute: str) -> Decimal:
    return Decimal(element.get(attribute))


def fio(element: etree._Element) -> tuple[str | None, ...]:
    """Фамилия, Имя, Отчество of the element's ФИО."""
    name = element.find("ФИО")
    return name.get("Фамилия"), name.get("Имя"), name.get("Отчество")


@pytest.mark.parametrize("variant", VARIANTS)
def test_every_variant_is_valid_and_complete(variant, seller, fns_schema):
    """Each kind of document and buyer validates, has its Функция, and nothing is reported missing."""
    function, doc = VARIANTS[variant]
    result, root = render(doc, seller)
    fns_schema.validate(root)
    assert root.find("Документ").get("Функция") == function
    assert result.problems == ()


@pytest.mark.parametrize("variant", VARIANTS)
def test_file_name_is_the_file_id(variant, seller):
    """ИдФайл + ".xml" is the file name: recipient, sender, the day of `now`, a GUID, the service flags."""
    result, root = render(VARIANTS[variant][1], seller)
    assert root.get("ИдФайл") + ".xml" == result.file_name
    parts = FILE_NAME.fullmatch(result.file_name)
    assert parts is not None
    assert (parts["buyer"], parts["seller"], parts["day"]) == (BUYER_EDO, OUR_EDO, "20261130")


def test_windows_1251_with_character_references(seller):
    """The declaration says windows-1251, the bytes decode as cp1251, é and 😀 are character references."""
    result, root = render(upd(), seller)
    assert result.content.startswith(b'<?xml version="1.0" encoding="windows-1251"?>\n')
    text = result.content.decode("cp1251")
    assert "&#233;" in text and "&#128512;" in text
    assert "Ромашка" in text  # Cyrillic is written as cp1251 bytes, not as references
    assert root.find("Документ/СвСчФакт/СвПокуп/ИдСв/СвЮЛУч").get("НаимОрг") == NAME


@pytest.mark.parametrize("variant", VARIANTS)
def test_totals_are_sums_of_lines(variant, seller):
    """ВсегоОпл holds the sums of the lines, which are the document's net, VAT and total."""
    doc = VARIANTS[variant][1]
    _, root = render(doc, seller)
    items = root.findall("Документ/ТаблСчФакт/СведТов")
    totals = root.find("Документ/ТаблСчФакт/ВсегоОпл")
    assert len(items) == len(doc.lines)
    assert amount(totals, "СтТовБезНДСВсего") == sum(amount(i, "СтТовБезНДС") for i in items) == doc.net
    assert amount(totals, "СтТовУчНалВсего") == sum(amount(i, "СтТовУчНал") for i in items) == doc.total
    vat = sum((Decimal(i.findtext("СумНал/СумНал") or "0") for i in items), Decimal(0))
    assert Decimal(totals.findtext("СумНалВсего/СумНал") or "0") == vat == doc.vat


def test_vat_included_lines(seller):
    """With VAT in the price, ЦенаТов is net per unit in kopecks; НалСт 22% and the double СумНал per line."""
    _, root = render(upd(BUYER, *INCLUDED), seller)
    rows = [
        (i.get("КолТов"), i.get("ЦенаТов"), i.get("СтТовБезНДС"), i.get("НалСт"), i.get("СтТовУчНал"),
         i.findtext("СумНал/СумНал"), i.findtext("СумНал/БезНДС"))
        for i in root.findall("Документ/ТаблСчФакт/СведТов")
    ]
    assert rows == [
        ("1", "1000.00", "1000.00", "22%", "1220.00", "220.00", None),
        ("3", "27.32", "81.97", "22%", "100.00", "18.03", None),  # 81.97 / 3, half-up
        ("1", "99.90", "99.90", "без НДС", "99.90", None, "без НДС"),
    ]
    assert root.findtext("Документ/ТаблСчФакт/ВсегоОпл/СумНалВсего/СумНал") == "238.03"


def test_vat_on_top_keeps_the_printed_price(seller):
    """With VAT on top the printed price is already net: ЦенаТов is that price, not a recomputed one."""
    _, root = render(upd(BUYER, *ON_TOP, included=False), seller)
    items = root.findall("Документ/ТаблСчФакт/СведТов")
    fields = ("КолТов", "ЦенаТов", "СтТовБезНДС", "СтТовУчНал")
    assert [tuple(i.get(field) for field in fields) for i in items] == [
        ("1", "1000.00", "1000.00", "1220.00"),
        ("2", "150.00", "300.00", "366.00"),
    ]


def test_line_details(seller):
    """НаимТов is the printed text, unit «мес» is ОКЕИ 362, every line a service (ПрТовРаб 3)."""
    doc = upd()
    _, root = render(doc, seller)
    item = root.find("Документ/ТаблСчФакт/СведТов")
    assert (item.get("НомСтр"), item.get("НаимТов"), item.get("ОКЕИ_Тов"), item.get("НаимЕдИзм")) == (
        "1", doc.lines[0].text, "362", "мес"
    )
    assert item.find("ДопСведТов").get("ПрТовРаб") == "3"


def test_unit_without_okei_code(seller, fns_schema):
    """A unit the ОКЕИ table lacks keeps its name and gets no invented code."""
    _, root = render(upd(BUYER, replace(line(1, "1220.00", VAT22), unit="Гбайт")), seller)
    fns_schema.validate(root)
    item = root.find("Документ/ТаблСчФакт/СведТов")
    assert (item.get("ОКЕИ_Тов"), item.get("НаимЕдИзм")) == (None, "Гбайт")


def test_same_document_same_bytes(seller):
    """A re-render gives identical bytes; the GUID is uuid5 of kind, number and date, not of `now`."""
    first, second = render_fns(upd(), seller, now=NOW), render_fns(upd(), seller, now=NOW)
    assert first == second
    later = render_fns(upd(), seller, now=datetime(2026, 12, 1, 9, 0))
    guid = str(uuid.uuid5(FILE_NAMESPACE, "upd:2611-00003:2026-11-30"))
    assert guid in first.file_name and guid in later.file_name
    assert guid not in render_fns(upd(number="2611-00009"), seller, now=NOW).file_name


def test_parties_and_header(seller):
    """Seller from our company with its bank; buyer by ИНН/КПП; number, date, roubles, time with dots."""
    _, root = render(upd(), seller)
    body = root.find("Документ")
    assert (body.get("ДатаИнфПр"), body.get("ВремИнфПр")) == ("30.11.2026", "18.05.09")
    header = body.find("СвСчФакт")
    assert (header.get("НомерДок"), header.get("ДатаДок")) == ("2611-00003", "30.11.2026")
    ours = header.find("СвПрод")
    assert dict(ours.find("ИдСв/СвЮЛУч").attrib) == {
        "НаимОрг": seller.full_name, "ИННЮЛ": "6670000014", "КПП": "667001001"
    }
    assert dict(ours.find("Адрес/АдрИнф").attrib) == {
        "КодСтр": "643", "НаимСтран": "Россия", "АдрТекст": seller.address
    }
    assert ours.find("БанкРекв").get("НомерСчета") == "40702810016540012345"
    assert dict(ours.find("БанкРекв/СвБанк").attrib) == {
        "НаимБанк": "ПАО Сбербанк", "БИК": "044525225", "КорСчет": "30101810400000000225"
    }
    buyer = header.find("СвПокуп/ИдСв/СвЮЛУч")
    assert (buyer.get("ИННЮЛ"), buyer.get("КПП")) == (ROMASHKA.inn, ROMASHKA.kpp)
    assert dict(header.find("ДенИзм").attrib) == {"КодОКВ": "643", "НаимОКВ": "Российский рубль"}


def test_transfer_on_the_contract(seller):
    """СвПер: services rendered over the period, on the dated contract; the director signs with his КЭП."""
    _, root = render(upd(), seller)
    transfer = root.find("Документ/СвПродПер/СвПер")
    assert dict(transfer.attrib) == {
        "СодОпер": "Услуги оказаны в полном объеме", "ДатаНачПер": "01.11.2026", "ДатаОконПер": "30.11.2026"
    }
    assert dict(transfer.find("ОснПер").attrib) == {
        "РеквНаимДок": "Договор", "РеквНомерДок": "Д-2021/150", "РеквДатаДок": "15.03.2021"
    }
    signer = root.find("Документ/Подписант")
    assert dict(signer.attrib) == {"Должн": "Генеральный директор", "ТипПодпис": "1", "СпосПодтПолном": "1"}
    assert fio(signer) == ("Иванов", "Иван", "Иванович")


def test_contract_without_date(seller, fns_schema):
    """No contract date: the transfer is «без документа-основания», and the missing date is reported."""
    doc = replace(upd(), contract=replace(ROMASHKA_CONTRACT, date=None))
    result, root = render(doc, seller)
    fns_schema.validate(root)
    transfer = root.find("Документ/СвПродПер/СвПер")
    assert transfer.find("ОснПер") is None and transfer.findtext("БезДокОснПер") == "1"
    assert len(result.problems) == 1 and "Д-2021/150" in result.problems[0]


def test_buyer_entrepreneur_and_person(seller):
    """An ИП is СвИП with the ФИО after «ИП »; a person is СвФЛУч with ИНН and ФИО."""
    _, root = render(VARIANTS["ДОП без НДС, ИП без адреса"][1], seller)
    entrepreneur = root.find("Документ/СвСчФакт/СвПокуп/ИдСв/СвИП")
    assert entrepreneur.get("ИННФЛ") == SIDOROV.inn
    assert fio(entrepreneur) == ("Сидоров", "Пётр", "Алексеевич")
    _, root = render(VARIANTS["СЧФДОП, физлицо"][1], seller)
    person = root.find("Документ/СвСчФакт/СвПокуп/ИдСв/СвФЛУч")
    assert person.get("ИННФЛ") == PERSON.inn
    assert fio(person) == ("Петров", "Пётр", "Петрович")


def test_seller_entrepreneur(seller, fns_schema):
    """An ИП seller is СвИП with its ФИО and no КПП."""
    ours = replace(
        seller,
        name="ИП Иванов Иван Иванович",
        full_name="Индивидуальный предприниматель Иванов Иван Иванович",
        inn="500100732259",
        kpp=None,
        director_title="Индивидуальный предприниматель",
    )
    result, root = render(upd(), ours)
    fns_schema.validate(root)
    entrepreneur = root.find("Документ/СвСчФакт/СвПрод/ИдСв/СвИП")
    assert entrepreneur.get("ИННФЛ") == "500100732259"
    assert fio(entrepreneur) == ("Иванов", "Иван", "Иванович")
    assert root.find("Документ").get("НаимЭконСубСост") == "ИП Иванов Иван Иванович, ИНН 500100732259"
    assert result.problems == ()


def test_tax_invoice_names_its_act(seller):
    """СЧФ: the act in ДокПодтвОтгрНом (row 5а), no НаимДокОпр and no transfer part."""
    _, root = render(tax_invoice(), seller)
    body = root.find("Документ")
    assert body.get("НаимДокОпр") is None and body.find("СвПродПер") is None
    assert dict(body.find("СвСчФакт/ДокПодтвОтгрНом").attrib) == {
        "РеквНаимДок": "Акт оказания услуг", "РеквНомерДок": "2611-00002", "РеквДатаДок": "30.11.2026"
    }


def test_tax_invoice_without_act_is_reported(seller):
    """A счёт-фактура without its act breaks the schematron: reported, not invented."""
    result, root = render(tax_invoice(related=None), seller)
    assert root.find("Документ/СвСчФакт/ДокПодтвОтгрНом") is None
    assert len(result.problems) == 1 and "акт" in result.problems[0]


def test_missing_edo_ids_still_give_a_valid_file(company, fns_schema):
    """Without ЭДО ids the name keeps empty places, the file is still valid, and both are reported."""
    result, root = render(upd(replace(BUYER, edo_id=None)), replace(company, edo_id=""))
    fns_schema.validate(root)
    assert result.file_name.startswith("ON_NSCHFDOPPR___20261130_")
    assert root.get("ИдФайл") + ".xml" == result.file_name
    assert any("ЭДО покупателя" in problem and ROMASHKA.inn in problem for problem in result.problems)
    assert any("ЭДО продавца" in problem for problem in result.problems)


def test_missing_address_is_reported_for_invoices_only(seller):
    """СЧФДОП needs the buyer's address (schematron); ДОП does not."""
    homeless = replace(BUYER, address=None)
    result, root = render(upd(homeless), seller)
    assert root.find("Документ/СвСчФакт/СвПокуп/Адрес") is None
    assert result.problems == (f"нет адреса покупателя {NAME}: в документе СЧФДОП адрес обязателен",)
    assert render(upd(homeless, line(1, "570.33", NO_VAT)), seller)[0].problems == ()


def test_signer_with_initials_is_reported(company):
    """«Иванов И. И.» goes in as written, with a warning: operators match the name with the certificate."""
    result, root = render(upd(), replace(company, edo_id=OUR_EDO))
    assert fio(root.find("Документ/Подписант")) == ("Иванов", "И.", "И.")
    assert len(result.problems) == 1 and "инициалами" in result.problems[0]


def test_zero_price_and_unknown_rate_are_reported(seller):
    """A zero price in a СЧФДОП and a rate the format lacks are reported per line."""
    doc = upd(BUYER, line(1, "0.00", VAT22), line(2, "112.00", VatRate(Decimal(12))))
    assert render(doc, seller)[0].problems == (
        "строка 1: в документе СЧФДОП цена должна быть больше нуля",
        "строка 2: ставки НДС 12% нет в формате 5.03",
    )


def test_person_known_by_one_word(seller, fns_schema):
    """A person whose name is not a ФИО is named in ИныеСвед instead, and the file stays valid."""
    _, root = render(upd(replace(PERSON, name="Петров", edo_id=BUYER_EDO)), seller)
    fns_schema.validate(root)
    person = root.find("Документ/СвСчФакт/СвПокуп/ИдСв/СвФЛУч")
    assert (person.get("ИныеСвед"), person.find("ФИО")) == ("Петров", None)


def test_entrepreneur_without_first_name_is_reported(seller, fns_schema):
    """An ИП's ФИО is required: a name without a first name is reported, and the schema rejects the file."""
    buyer = replace(SIDOROV, name="ИП Сидоров", edo_id=BUYER_EDO)
    result, root = render(upd(buyer, line(1, "570.33", NO_VAT)), seller)
    assert len(result.problems) == 1 and "ФИО покупателя «ИП Сидоров» не разобрать" in result.problems[0]
    assert not fns_schema.is_valid(root)


@pytest.mark.parametrize("kind", [DocumentKind.INVOICE, DocumentKind.ACT, DocumentKind.AGENT_ACT])
def test_other_kinds_are_refused(kind, seller):
    """Invoices and acts have no 5.03 form: ValueError."""
    with pytest.raises(ValueError, match="нет формата ФНС"):
        render_fns(replace(upd(), kind=kind), seller, now=NOW)


@pytest.mark.parametrize(
    ("name", "parts"),
    [
        ("Иванов Иван Иванович", ("Иванов", "Иван", "Иванович")),
        ("Иванов И. И.", ("Иванов", "И.", "И.")),
        ("Иванов И.И.", ("Иванов", "И.", "И.")),
        ("Алиев Рашид Ахмед оглы", ("Алиев", "Рашид", "Ахмед оглы")),
        ("Петрова Анна", ("Петрова", "Анна", None)),
        ("Петров", ("Петров", None, None)),
    ],
)
def test_person_names(name, parts):
    """ФИО: surname, first name, the rest as patronymic; initials kept as written."""
    parsed = parse_person_name(name)
    assert (parsed.surname, parsed.first_name, parsed.patronymic) == parts


@pytest.mark.parametrize(
    ("xpath", "attribute", "value"),
    [
        ("Документ/ТаблСчФакт/СведТов", "НалСт", "21%"),
        ("Документ", "ВремИнфПр", "18:05:09"),
        ("Документ/СвСчФакт/СвПокуп/ИдСв/СвЮЛУч", "ИННЮЛ", "667200297"),
    ],
)
def test_schema_rejects_a_broken_file(xpath, attribute, value, seller, fns_schema):
    """Mutation check: a wrong rate, time format or ИНН fails validation, so the validator bites."""
    _, root = render(upd(), seller)
    root.find(xpath).set(attribute, value)
    assert not fns_schema.is_valid(root)
