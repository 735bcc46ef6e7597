"""1C EnterpriseData exchange messages from documents (shell renderer; deterministic, `now` passed in).

Built as lxml trees in schema order (never string templates: values are escaped by the serializer).
Every object carries a stable `Ссылка` (uuid5 over its type and natural key) and its full key
properties wherever it is referenced, so a re-sent message updates objects in 1C instead of
duplicating them (specs/enterprisedata/NOTES.md §2–§4).
"""
from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime, time
from decimal import Decimal

from lxml import etree

from daemon.core.documents import Document, DocumentKind, DocumentLine
from daemon.core.money import VatRate
from daemon.core.records import Company, Contract, Counterparty, LegalForm

SUPPORTED_VERSIONS = ("1.11", "1.17", "1.20", "1.22")
MSG_NS = "http://www.1c.ru/SSL/Exchange/Message"
XS_NS = "http://www.w3.org/2001/XMLSchema"
XSI_NS = "http://www.w3.org/2001/XMLSchema-instance"
ED_NS = "http://v8.1c.ru/edi/edi_stnd/EnterpriseData/{version}"
# Fixed namespace of billdrop's references: the same object always gets the same Ссылка.
REF_NAMESPACE = uuid.UUID("6b1d3c0e-6a55-4d0c-9a35-5f0c6b1d7e21")
UNIT_CODES = {"мес": "362", "шт": "796", "усл": "876", "усл. ед": "876", "усл.": "876", "ч": "356", "час": "356"}
# Invoices at the start of their day, acts at its end: in 1C's sequence an act then follows that
# day's payments, as an accountant would enter them.
DOCUMENT_TIME = {DocumentKind.INVOICE: time(0, 0, 0)}
END_OF_DAY = time(23, 59, 59)
LEGACY_VAT = {None: "БезНДС", Decimal(0): "НДС0", Decimal(10): "НДС10", Decimal(20): "НДС20", Decimal(18): "НДС18"}


def _ref(kind: str, *key: str) -> str:
    return str(uuid.uuid5(REF_NAMESPACE, ":".join((kind, *key))))


def _sum(value: Decimal) -> str:
    return f"{value:.2f}"


def _quantity(value: Decimal) -> str:
    return f"{value.normalize():f}"


class _Writer:
    """Element builders for one message; `version` decides the VAT shape and optional elements."""

    def __init__(self, company: Company, version: str) -> None:
        if version not in SUPPORTED_VERSIONS:
            raise ValueError(f"EnterpriseData {version} не поддерживается; доступны {', '.join(SUPPORTED_VERSIONS)}")
        self.company = company
        self.version = version
        self.ns = ED_NS.format(version=version)
        self.modern = version != "1.11"

    def el(self, parent: etree._Element, name: str, text: str | None = None) -> etree._Element:
        child = etree.SubElement(parent, f"{{{self.ns}}}{name}")
        if text is not None:
            child.text = text
        return child

    def rub(self, parent: etree._Element, name: str) -> None:
        classifier = self.el(self.el(parent, name), "ДанныеКлассификатора")
        self.el(classifier, "Код", "643")
        self.el(classifier, "Наименование", "руб.")

    def organisation(self, parent: etree._Element, name: str = "Организация") -> None:
        org = self.el(parent, name)
        self.el(org, "Наименование", self.company.name[:100])
        self.el(org, "ИНН", self.company.inn)
        if self.company.kpp:
            self.el(org, "КПП", self.company.kpp)
        self.el(org, "ЮридическоеФизическоеЛицо", _person_kind(self.company.legal_form))

    def counterparty_key(self, parent: etree._Element, name: str, party: Counterparty) -> None:
        key = self.el(parent, name)
        self.el(key, "Ссылка", _counterparty_ref(party))
        self.el(key, "Наименование", party.name[:100])
        self.el(key, "НаименованиеПолное", party.name)
        self.el(key, "ИНН", party.inn)
        if party.kpp:
            self.el(key, "КПП", party.kpp)
        self.el(key, "ЮридическоеФизическоеЛицо", _person_kind(party.legal_form))
        if self.modern and party.legal_form is LegalForm.ENTREPRENEUR:
            self.el(key, "ИндивидуальныйПредприниматель", "true")
        if self.modern and party.legal_form is LegalForm.SELF_EMPLOYED:
            self.el(key, "Самозанятый", "true")

    def contract_key(self, parent: etree._Element, name: str, contract: Contract, party: Counterparty, kind: str) -> None:
        key = self.el(parent, name)
        self.el(key, "Ссылка", _ref("Договоры", contract.number, _counterparty_key(party), kind))
        self.el(key, "ВидДоговора", kind)
        self.organisation(key)
        self.counterparty_key(key, "Контрагент", party)
        self.rub(key, "ВалютаВзаиморасчетов")
        self.el(key, "РасчетыВУсловныхЕдиницах", "false")
        title = f"Договор № {contract.number}" + (f" от {contract.date:%d.%m.%Y}" if contract.date else "")
        self.el(key, "Наименование", title)
        if contract.date:
            self.el(key, "Дата", contract.date.isoformat())
        self.el(key, "Номер", contract.number)

    def service_key(self, parent: etree._Element, name: str, line: DocumentLine) -> None:
        key = self.el(parent, name)
        self.el(key, "Ссылка", _ref("Номенклатура", line.service_id))
        self.el(key, "НаименованиеПолное", line.service_name)
        self.el(key, "Артикул", line.service_id[:50])
        self.el(key, "Наименование", line.service_name[:100])

    def unit(self, parent: etree._Element, unit: str) -> None:
        classifier = self.el(self.el(parent, "ЕдиницаИзмерения"), "ДанныеКлассификатора")
        self.el(classifier, "Код", UNIT_CODES.get(unit.lower(), "362"))
        self.el(classifier, "Наименование", unit or "мес")

    def vat(self, parent: etree._Element, rate: VatRate) -> None:
        if not self.modern:
            if rate.percent not in LEGACY_VAT:
                raise ValueError(
                    f"ставка НДС {rate.label} требует формата EnterpriseData 1.17 или новее (сейчас {self.version})"
                )
            self.el(parent, "СтавкаНДС", LEGACY_VAT[rate.percent])
            return
        node = self.el(parent, "СтавкаНДС")
        if rate.percent is not None and rate.percent != 0:
            self.el(node, "Ставка", f"{rate.percent.normalize():f}")
        self.el(node, "РасчетнаяСтавка", "false")
        self.el(node, "НеОблагается", "true" if rate.exempt else "false")
        self.el(node, "ВидСтавки", _vat_kind(rate))


def _person_kind(form: LegalForm) -> str:
    return "ЮридическоеЛицо" if form is LegalForm.LEGAL else "ФизическоеЛицо"


def _vat_kind(rate: VatRate) -> str:
    if rate.percent is None:
        return "БезНДС"
    if rate.percent == 0:
        return "Нулевая"
    return "Общая" if rate.percent >= 20 else "Пониженная"


def _counterparty_key(party: Counterparty) -> str:
    return f"{party.inn}:{party.kpp or ''}"


def _counterparty_ref(party: Counterparty) -> str:
    return _ref("Контрагенты", party.inn, party.kpp or "")


def _contract_kind(doc: Document) -> str:
    return "СПоставщиком" if doc.kind is DocumentKind.AGENT_ACT else "СПокупателем"


OBJECT_NAMES = {
    DocumentKind.INVOICE: "Документ.ЗаказКлиента",
    DocumentKind.ACT: "Документ.РеализацияТоваровУслуг",
    DocumentKind.UPD: "Документ.РеализацияТоваровУслуг",
}


def _document_ref(doc: Document, company: Company) -> str:
    return _ref(OBJECT_NAMES[doc.kind], doc.kind.value, doc.number, company.inn, str(doc.date.year))


def _counterparty(w: _Writer, body: etree._Element, party: Counterparty) -> None:
    obj = w.el(body, "Справочник.Контрагенты")
    w.counterparty_key(obj, "КлючевыеСвойства", party)
    contacts = [
        ("ЮридическийАдрес", party.address),
        ("Телефон", party.phone),
        ("АдресЭлектроннойПочты", party.email),
    ]
    if any(value for _, value in contacts):
        table = w.el(obj, "КонтактнаяИнформация")
        for kind, value in contacts:
            if value:
                row = w.el(table, "Строка")
                w.el(row, "ВидКонтактнойИнформации", kind)
                w.el(row, "ЗначенияПолей", value)


def _contract(w: _Writer, body: etree._Element, doc: Document) -> None:
    obj = w.el(body, "Справочник.Договоры")
    w.contract_key(obj, "КлючевыеСвойства", doc.contract, doc.counterparty, _contract_kind(doc))


def _service(w: _Writer, body: etree._Element, line: DocumentLine) -> None:
    obj = w.el(body, "Справочник.Номенклатура")
    w.service_key(obj, "КлючевыеСвойства", line)
    w.el(obj, "ТипНоменклатуры", "Услуга")
    w.unit(obj, line.unit)
    w.vat(obj, line.vat_rate)


def _services_table(w: _Writer, parent: etree._Element, doc: Document, *, is_order: bool) -> None:
    # Up to 1.17 an order's row wraps the service in ДанныеНоменклатуры; sales never do.
    wrapped = is_order and w.version in ("1.11", "1.17")
    table = w.el(parent, "Услуги")
    for line in doc.lines:
        row = w.el(table, "Строка")
        w.el(row, "НомерСтрокиДокумента", str(line.position))
        w.service_key(w.el(row, "ДанныеНоменклатуры") if wrapped else row, "Номенклатура", line)
        amount = line.gross if doc.vat_included else line.net
        w.el(row, "Количество", _quantity(line.quantity))
        w.el(row, "Сумма", _sum(amount))
        w.el(row, "Цена", _sum(line.price))
        w.vat(row, line.vat_rate)
        w.el(row, "СуммаНДС", _sum(line.vat))
        w.el(row, "Содержание", line.text)
        if not is_order:
            w.el(row, "ТипУслуги", "Собственные")


def _document_key(w: _Writer, parent: etree._Element, doc: Document) -> None:
    key = w.el(parent, "КлючевыеСвойства")
    w.el(key, "Ссылка", _document_ref(doc, w.company))
    moment = datetime.combine(doc.date, DOCUMENT_TIME.get(doc.kind, END_OF_DAY))
    w.el(key, "Дата", moment.isoformat())
    w.el(key, "Номер", doc.number)
    w.organisation(key)


def _settlements(w: _Writer, parent: etree._Element, doc: Document) -> None:
    data = w.el(parent, "ДанныеВзаиморасчетов")
    w.contract_key(data, "Договор", doc.contract, doc.counterparty, _contract_kind(doc))
    w.rub(data, "ВалютаВзаиморасчетов")
    w.el(data, "КурсВзаиморасчетов", "1")
    w.el(data, "КратностьВзаиморасчетов", "1")
    w.el(data, "РасчетыВУсловныхЕдиницах", "false")


def _bank_account_of_company(w: _Writer, parent: etree._Element) -> None:
    account = w.el(parent, "БанковскийСчетОрганизации")
    w.el(account, "НомерСчета", w.company.bank.account)
    bank = w.el(w.el(account, "Банк"), "ДанныеКлассификатораБанков")
    w.el(bank, "Наименование", w.company.bank.bank_name)
    w.el(bank, "БИК", w.company.bank.bik)
    w.el(bank, "КоррСчет", w.company.bank.corr_account)
    w.organisation(w.el(account, "Владелец"), "ОрганизацииСсылка")


def _order(w: _Writer, body: etree._Element, doc: Document) -> None:
    """The invoice (счёт на оплату) as ЗаказКлиента: 1C:Бухгалтерия loads it as СчетНаОплатуПокупателю."""
    obj = w.el(body, OBJECT_NAMES[doc.kind])
    _document_key(w, obj, doc)
    w.rub(obj, "Валюта")
    w.el(obj, "Сумма", _sum(doc.total))
    w.counterparty_key(obj, "Контрагент", doc.counterparty)
    _settlements(w, obj, doc)
    w.el(obj, "СуммаВключаетНДС", "true" if doc.vat_included else "false")
    _bank_account_of_company(w, obj)
    _services_table(w, obj, doc, is_order=True)


def _sale(w: _Writer, body: etree._Element, doc: Document) -> None:
    """The act or УПД as РеализацияТоваровУслуг (`ЭтоУПД` from 1.20 on)."""
    obj = w.el(body, OBJECT_NAMES[doc.kind])
    _document_key(w, obj, doc)
    w.el(obj, "ВидОперации", "РеализацияКлиенту")
    w.rub(obj, "Валюта")
    w.el(obj, "Сумма", _sum(doc.total))
    w.el(obj, "СуммаВключаетНДС", "true" if doc.vat_included else "false")
    _bank_account_of_company(w, obj)
    w.counterparty_key(obj, "Контрагент", doc.counterparty)
    _settlements(w, obj, doc)
    w.el(obj, "Налогообложение", "ПродажаНеОблагаетсяНДС" if doc.vat_exempt else "ПродажаОблагаетсяНДС")
    _services_table(w, obj, doc, is_order=False)
    if doc.kind is DocumentKind.UPD and w.version in ("1.20", "1.22"):
        w.el(obj, "ЭтоУПД", "true")


DOCUMENT_WRITERS = {DocumentKind.INVOICE: _order, DocumentKind.ACT: _sale, DocumentKind.UPD: _sale}


def render_message(documents: Sequence[Document], company: Company, *, version: str = "1.20", now: datetime) -> bytes:
    """One exchange message: catalogs (counterparties, contracts, services), then the documents."""
    w = _Writer(company, version)
    message = etree.Element("Message", nsmap={"msg": MSG_NS, "xs": XS_NS, "xsi": XSI_NS})
    header = etree.SubElement(message, f"{{{MSG_NS}}}Header")
    etree.SubElement(header, f"{{{MSG_NS}}}Format").text = w.ns
    etree.SubElement(header, f"{{{MSG_NS}}}CreationDate").text = now.replace(microsecond=0, tzinfo=None).isoformat()
    etree.SubElement(header, f"{{{MSG_NS}}}AvailableVersion").text = version
    body = etree.SubElement(message, f"{{{w.ns}}}Body", nsmap={None: w.ns})

    parties = {_counterparty_key(d.counterparty): d.counterparty for d in documents}
    contracts = {(d.contract.number, _counterparty_key(d.counterparty), _contract_kind(d)): d for d in documents}
    services = {line.service_id: line for d in documents for line in d.lines}
    for party in parties.values():
        _counterparty(w, body, party)
    for doc in contracts.values():
        _contract(w, body, doc)
    for line in services.values():
        _service(w, body, line)
    for doc in documents:
        DOCUMENT_WRITERS[doc.kind](w, body, doc)
    return etree.tostring(message, xml_declaration=True, encoding="UTF-8", pretty_print=True)


def message_file_name(source: str, now: datetime, digest: str) -> str:
    """`ED_charges_20261125-093000_ab12cd34.xml`: sorts by time, unique per input file."""
    return f"ED_{source}_{now:%Y%m%d-%H%M%S}_{digest}.xml"
