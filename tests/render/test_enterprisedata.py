"""EnterpriseData messages: valid against the official XSD and a closed copy, stable, escaped, exact."""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import pytest
from lxml import etree

from daemon.core.documents import Document, DocumentKind, DocumentLine
from daemon.core.money import NO_VAT, VatRate, split_vat
from daemon.core.records import Contract, Counterparty, LegalForm
from daemon.render.enterprisedata import render_message
from tests.edschema import validate_message

NOW = datetime(2026, 11, 25, 9, 30)
ROMASHKA = Counterparty("6672002970", "667001001", 'ООО "Ромашка" <&> ]]>', LegalForm.LEGAL,
                        email="buh@romashka.ru", address="г. Екатеринбург, ул. Ленина, д. 1")
SIDOROV = Counterparty("661909802738", None, "ИП Сидоров Пётр Алексеевич", LegalForm.ENTREPRENEUR)


def line(position: int, amount: str, rate: VatRate, *, included: bool = True) -> DocumentLine:
    amounts = split_vat(Decimal(amount), rate, included=included)
    return DocumentLine(position, f"50{position:02d}", "Доступ в интернет", f"ул. Ленина, д. {position}",
                        f"Доступ в интернет за ноябрь 2026 г.; адрес подключения: ул. Ленина, д. {position}",
                        Decimal(1), "мес", Decimal(amount), rate, amounts.net, amounts.vat, amounts.gross)


def document(kind: DocumentKind, number: str, party: Counterparty, lines: tuple[DocumentLine, ...], *,
             included: bool = True) -> Document:
    when = date(2026, 11, 1) if kind is DocumentKind.INVOICE else date(2026, 11, 30)
    return Document(kind, number, when, date(2026, 11, 1), date(2026, 11, 30), party,
                    Contract("Д-2021/150", party.inn, "100230"), lines, included)


def sample_documents(rate: VatRate) -> list[Document]:
    taxed = (line(1, "1220.00", rate), line(2, "250.00", rate, included=True))
    exempt = (line(3, "570.33", NO_VAT),)
    return [
        document(DocumentKind.INVOICE, "2611-00001", ROMASHKA, taxed),
        document(DocumentKind.ACT, "2611-00001", ROMASHKA, taxed),
        document(DocumentKind.INVOICE, "2611-00002", SIDOROV, exempt),
        document(DocumentKind.UPD, "2611-00002", SIDOROV, exempt),
    ]


@pytest.mark.parametrize("version", ["1.17", "1.20", "1.22"])
def test_messages_validate_against_official_and_closed_schemas(version, company, specs_dir, ed_workdir):
    """Invoices, an act and a УПД with 22 % and «без НДС» lines are valid in every modern version."""
    xml = render_message(sample_documents(VatRate(Decimal(22))), company, version=version, now=NOW)
    assert validate_message(xml, version, specs_dir, ed_workdir) == []


def test_legacy_version_validates_and_refuses_22_percent(company, specs_dir, ed_workdir):
    """1.11 knows 20 % and «без НДС» but has no 22 %: that is refused, not silently mapped."""
    xml = render_message(sample_documents(VatRate(Decimal(20))), company, version="1.11", now=NOW)
    assert validate_message(xml, "1.11", specs_dir, ed_workdir) == []
    with pytest.raises(ValueError, match="1.17"):
        render_message(sample_documents(VatRate(Decimal(22))), company, version="1.11", now=NOW)


def test_validators_catch_broken_messages(company, specs_dir, ed_workdir):
    """A missing required element and an unknown one are both reported."""
    xml = render_message(sample_documents(NO_VAT), company, now=NOW)
    tree = etree.fromstring(xml)
    ns = {"ed": "http://v8.1c.ru/edi/edi_stnd/EnterpriseData/1.20"}
    kind = tree.find(".//ed:ЮридическоеФизическоеЛицо", ns)
    kind.getparent().remove(kind)
    etree.SubElement(tree.find(".//ed:Документ.ЗаказКлиента", ns), "{%s}Foo" % ns["ed"]).text = "x"
    problems = validate_message(etree.tostring(tree, encoding="UTF-8"), "1.20", specs_dir, ed_workdir)
    assert any(p.startswith("official") for p in problems) and any("Foo" in p for p in problems)


def test_references_are_stable_and_distinct(company):
    """Two renders give the same bytes; each object has its own Ссылка, shared by its references."""
    docs = sample_documents(VatRate(Decimal(22)))
    first = render_message(docs, company, now=NOW)
    assert first == render_message(docs, company, now=NOW)
    tree = etree.fromstring(first)
    ns = {"ed": "http://v8.1c.ru/edi/edi_stnd/EnterpriseData/1.20"}
    own = [o.findtext("ed:КлючевыеСвойства/ed:Ссылка", namespaces=ns) for o in tree.find("ed:Body", ns)]
    assert len(own) == len(set(own)) == 2 + 2 + 3 + 4
    romashka_ref = tree.find(".//ed:Справочник.Контрагенты/ed:КлючевыеСвойства/ed:Ссылка", ns).text
    refs = [e.text for e in tree.iterfind(".//ed:Контрагент/ed:Ссылка", ns)]
    assert refs.count(romashka_ref) >= 3


def test_names_are_escaped_and_sums_match(company):
    """A name with <, &, quotes and ]]> parses back intact; the XML sums are the document's sums."""
    docs = sample_documents(VatRate(Decimal(22)))
    tree = etree.fromstring(render_message(docs, company, now=NOW))
    ns = {"ed": "http://v8.1c.ru/edi/edi_stnd/EnterpriseData/1.20"}
    names = {e.text for e in tree.iterfind(".//ed:Контрагент/ed:Наименование", ns)}
    assert ROMASHKA.name in names
    act = tree.find(".//ed:Документ.РеализацияТоваровУслуг", ns)
    assert Decimal(act.findtext("ed:Сумма", namespaces=ns)) == docs[1].total
    vat = sum(Decimal(e.text) for e in act.iterfind(".//ed:Строка/ed:СуммаНДС", ns))
    assert vat == docs[1].vat == Decimal("265.08")
