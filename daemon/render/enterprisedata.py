"""1C EnterpriseData messages (обмен с 1С) from documents and payment orders (renderer; `now` passed in).

Built as lxml trees in schema order, never string templates, so every value is escaped by the
serializer. Each object carries a stable `Ссылка` (uuid5 over its type and natural key) and its full
key properties wherever it is referenced, so a re-sent message updates the objects in 1C instead of
duplicating them (specs/enterprisedata/NOTES.md §2–§4). Natural keys, joined with ":" after the type:

    Контрагенты      ИНН, КПП (empty for ИП and persons)
    БанковскиеСчета  owner's ИНН, КПП, account number
    Договоры         contract number, counterparty ИНН, КПП, ВидДоговора
    Номенклатура     the service's code (a «Код услуги» / «Тариф» column), else its name: one item per
                     service, never per subscriber's connection (the billing's «ID сервиса»)
    <document type>  billdrop's kind, number, our ИНН, year of the document date

Our own organisation and its bank account are sent by key properties without a `Ссылка`: they are
the accountant's cards, which 1C finds by ИНН/КПП and account number and must never overwrite.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from decimal import ROUND_HALF_UP, Decimal
from typing import TypeVar

from lxml import etree

from daemon.core.documents import Document, DocumentKind, DocumentLine
from daemon.core.money import VatRate, to_kopecks
from daemon.core.onec import SUPPORTED_VERSIONS, VAT_RATES, vat_rate_problem, version_at_least
from daemon.core.records import BankAccount, Company, Contract, Counterparty, LegalForm
from daemon.core.sources.acceptances import PaymentOrder
from daemon.core.units import DEFAULT_UNIT, okei_code
from daemon.render.bankfile import PAYMENT_KIND, PRIORITY, payee_account

MSG_NS = "http://www.1c.ru/SSL/Exchange/Message"
XS_NS = "http://www.w3.org/2001/XMLSchema"
XSI_NS = "http://www.w3.org/2001/XMLSchema-instance"
ED_NS_BASE = "http://v8.1c.ru/edi/edi_stnd/EnterpriseData/"
# The uuid5 namespace of every Ссылка billdrop writes. Changing it duplicates every object in 1C.
REF_NAMESPACE = uuid.UUID("6b1d3c0e-6a55-4d0c-9a35-5f0c6b1d7e21")
# Documents are dated at noon, not midnight: a reader that shifts the zone-less time by a few hours
# still lands on the same day, while midnight could move a 1st-of-month invoice into the previous
# month or year. The time is fixed, so re-sent documents keep the Дата+Номер that 1C matches on.
DOCUMENT_TIME = time(12, 0)
CATALOG_NAME_LIMIT = 100  # 1C:Бухгалтерия's catalog Наименование is String(100)
ARTICLE_LIMIT = 25        # and Номенклатура.Артикул String(25)
QUANTITY_STEP = Decimal("0.001")  # ТипКоличество has 3 fraction digits
RUB = ("643", "руб.")
DOCUMENT_TYPES = {
    DocumentKind.INVOICE: "ЗаказКлиента",  # 1C:Бухгалтерия loads it as СчетНаОплатуПокупателю
    DocumentKind.ACT: "РеализацияТоваровУслуг",
    DocumentKind.UPD: "РеализацияТоваровУслуг",
    DocumentKind.TAX_INVOICE: "СчетФактураВыданный",
    DocumentKind.AGENT_ACT: "ПоступлениеТоваровУслуг",
    DocumentKind.PAYMENT_ORDER: "ПлатежноеПоручение",
}
CUSTOMER_CONTRACT, SUPPLIER_CONTRACT = "СПокупателем", "СПоставщиком"  # ВидДоговора
# ВидОперации of a payment order by the payee's legal form; ОплатаПоставщику for the others. Of the
# enumeration's two self-employed values, РасчетыСамозанятым settles a contract (as its debit
# СБДСРасчетыССамозанятыми does, with ДанныеВзаиморасчетов); ВыплатаСамозанятому pays a
# Документ.ВыплатыСамозанятым register, which billdrop does not send.
PAYMENT_OPERATIONS = {LegalForm.SELF_EMPLOYED: "РасчетыСамозанятым"}
_UNSAFE_FILE_CHARS = re.compile(r"[^A-Za-z0-9-]+")

T = TypeVar("T")


@dataclass(frozen=True)
class _Format:
    """One EnterpriseData version (формат обмена) and the elements it can express."""

    version: str

    def __post_init__(self) -> None:
        if self.version not in SUPPORTED_VERSIONS:
            raise ValueError(
                f"формат EnterpriseData {self.version} не поддерживается; "
                f"поддерживаются {', '.join(SUPPORTED_VERSIONS)}"
            )

    def _since(self, version: str) -> bool:
        return version_at_least(self.version, version)

    @property
    def namespace(self) -> str:
        return ED_NS_BASE + self.version

    @property
    def vat_structure(self) -> bool:
        """From 1.17 a VAT rate is `КлючевыеСвойстваСтавкиНДС` with a numeric Ставка, before an enum."""
        return self._since("1.17")

    @property
    def person_flags(self) -> bool:
        """From 1.17 a counterparty's key says ИндивидуальныйПредприниматель / Самозанятый."""
        return self._since("1.17")

    @property
    def order_rows_wrap_service(self) -> bool:
        """Up to 1.17 a ЗаказКлиента row holds its Номенклатура inside ДанныеНоменклатуры."""
        return not self._since("1.20")

    @property
    def upd_flag(self) -> bool:
        """From 1.20 РеализацияТоваровУслуг has ЭтоУПД."""
        return self._since("1.20")

    @property
    def payment_operation(self) -> bool:
        """From 1.17 ПлатежноеПоручение has ВидОперации."""
        return self._since("1.17")


def _ref(object_type: str, *key: str) -> str:
    """Ссылка: uuid5 of the object type and its natural key, lowercase with hyphens."""
    return str(uuid.uuid5(REF_NAMESPACE, ":".join((object_type, *key))))


def _counterparty_ref(party: Counterparty) -> str:
    return _ref("Контрагенты", party.inn, party.kpp or "")


def _bank_account_ref(owner: Counterparty, account: BankAccount) -> str:
    return _ref("БанковскиеСчета", owner.inn, owner.kpp or "", account.account)


@dataclass(frozen=True)
class _ContractKey:
    """A contract as 1C tells contracts apart: with its counterparty and ВидДоговора."""

    contract: Contract
    party: Counterparty
    kind: str

    @property
    def ref(self) -> str:
        return _ref("Договоры", self.contract.number, self.party.inn, self.party.kpp or "", self.kind)


def _contract_of(doc: Document) -> _ContractKey:
    """The document's contract: the agent sells to us; everyone else buys from us."""
    kind = SUPPLIER_CONTRACT if doc.kind is DocumentKind.AGENT_ACT else CUSTOMER_CONTRACT
    return _ContractKey(doc.contract, doc.counterparty, kind)


def _paid_contract(order: PaymentOrder) -> _ContractKey:
    """The contract a payment order settles: the same 1C contract as the agent's act it pays."""
    return _ContractKey(order.contract, order.payee, SUPPLIER_CONTRACT)


def _service_ref(line: DocumentLine) -> str:
    return _ref("Номенклатура", line.catalog_key)


def _document_ref(kind: DocumentKind, number: str, day: date, company: Company) -> str:
    return _ref(DOCUMENT_TYPES[kind], kind.value, number, company.inn, str(day.year))


def _person_kind(form: LegalForm) -> str:
    return "ЮридическоеЛицо" if form is LegalForm.LEGAL else "ФизическоеЛицо"


def _unique(items: Iterable[T], key: Callable[[T], Hashable]) -> list[T]:
    """The first item per key, in order of appearance."""
    first: dict[Hashable, T] = {}
    for item in items:
        first.setdefault(key(item), item)
    return list(first.values())


def _timestamp(now: datetime) -> str:
    """CreationDate without a zone; an aware `now` is written in UTC, as 1C's own exchange does."""
    if now.tzinfo is not None:
        now = now.astimezone(UTC).replace(tzinfo=None)
    return now.isoformat(timespec="seconds")


class _Writer:
    """Element builders for one message. Each kind of key properties has one method, used for the
    object itself and for every reference to it, so the two can never differ."""

    def __init__(self, company: Company, fmt: _Format, documents: Sequence[Document]) -> None:
        self.company = company
        self.fmt = fmt
        self._documents = {(doc.kind, doc.number): doc for doc in documents}

    def find(self, kind: DocumentKind, number: str | None) -> Document | None:
        """A document of this message, if it has one of that kind and number."""
        return self._documents.get((kind, number)) if number is not None else None

    def el(self, parent: etree._Element, name: str, text: str | None = None) -> etree._Element:
        child = etree.SubElement(parent, f"{{{self.fmt.namespace}}}{name}")
        if text is not None:
            child.text = text
        return child

    def flag(self, parent: etree._Element, name: str, value: bool) -> None:
        self.el(parent, name, "true" if value else "false")

    def money(self, parent: etree._Element, name: str, amount: Decimal) -> None:
        """ТипСумма: plain decimal with exactly 2 fraction digits, rounded half-up."""
        self.el(parent, name, f"{to_kopecks(amount):.2f}")

    def quantity(self, parent: etree._Element, name: str, amount: Decimal) -> None:
        """ТипКоличество: at most 3 fraction digits, rounded half-up, no trailing zeros."""
        self.el(parent, name, f"{amount.quantize(QUANTITY_STEP, rounding=ROUND_HALF_UP).normalize():f}")

    def classifier(self, parent: etree._Element, name: str, code: str | None, title: str) -> None:
        """A currency or unit by its classifier code (1C searches by Код, then by Наименование)."""
        data = self.el(self.el(parent, name), "ДанныеКлассификатора")
        if code is not None:
            self.el(data, "Код", code)
        self.el(data, "Наименование", title)

    def rub(self, parent: etree._Element, name: str) -> None:
        self.classifier(parent, name, *RUB)

    def unit(self, parent: etree._Element, unit: str) -> None:
        """ЕдиницаИзмерения: the line's unit with its ОКЕИ code when known; «мес» (362) when empty."""
        title = unit.strip() or DEFAULT_UNIT
        self.classifier(parent, "ЕдиницаИзмерения", okei_code(title), title)

    def organisation(self, parent: etree._Element, name: str = "Организация") -> None:
        """КлючевыеСвойстваОрганизация of our company."""
        key = self.el(parent, name)
        self.el(key, "Наименование", self.company.name[:CATALOG_NAME_LIMIT])
        self.el(key, "НаименованиеПолное", self.company.full_name)
        self.el(key, "ИНН", self.company.inn)
        if self.company.kpp:
            self.el(key, "КПП", self.company.kpp)
        self.el(key, "ЮридическоеФизическоеЛицо", _person_kind(self.company.legal_form))

    def counterparty(self, parent: etree._Element, name: str, party: Counterparty) -> None:
        """КлючевыеСвойстваКонтрагент; ИП, самозанятый and person flags where the version has them."""
        key = self.el(parent, name)
        self.el(key, "Ссылка", _counterparty_ref(party))
        self.el(key, "Наименование", party.name[:CATALOG_NAME_LIMIT])
        self.el(key, "НаименованиеПолное", party.name)
        self.el(key, "ИНН", party.inn)
        if party.kpp:
            self.el(key, "КПП", party.kpp)
        self.el(key, "ЮридическоеФизическоеЛицо", _person_kind(party.legal_form))
        if self.fmt.person_flags and party.legal_form is not LegalForm.LEGAL:
            self.flag(key, "ИндивидуальныйПредприниматель", party.legal_form is LegalForm.ENTREPRENEUR)
            self.flag(key, "Самозанятый", party.legal_form is LegalForm.SELF_EMPLOYED)

    def bank_account(
        self, parent: etree._Element, name: str, account: BankAccount, owner: Counterparty | None
    ) -> None:
        """КлючевыеСвойстваБанковскийСчет: a counterparty's account (with a Ссылка) or, owner None, ours."""
        key = self.el(parent, name)
        if owner is not None:
            self.el(key, "Ссылка", _bank_account_ref(owner, account))
        self.el(key, "НомерСчета", account.account)
        bank = self.el(self.el(key, "Банк"), "ДанныеКлассификатораБанков")
        if account.bank_name:
            self.el(bank, "Наименование", account.bank_name)
        self.el(bank, "БИК", account.bik)
        if account.corr_account:
            self.el(bank, "КоррСчет", account.corr_account)
        holder = self.el(key, "Владелец")
        if owner is None:
            self.organisation(holder, "ОрганизацииСсылка")
        else:
            self.counterparty(holder, "КонтрагентыСсылка", owner)

    def contract(self, parent: etree._Element, name: str, contract: _ContractKey) -> None:
        """КлючевыеСвойстваДоговор, in roubles."""
        key = self.el(parent, name)
        self.el(key, "Ссылка", contract.ref)
        self.el(key, "ВидДоговора", contract.kind)
        self.organisation(key)
        self.counterparty(key, "Контрагент", contract.party)
        self.rub(key, "ВалютаВзаиморасчетов")
        self.flag(key, "РасчетыВУсловныхЕдиницах", False)
        self.el(key, "Наименование", f"Договор № {contract.contract.number}")
        if contract.contract.date is not None:
            self.el(key, "Дата", contract.contract.date.isoformat())
        self.el(key, "Номер", contract.contract.number)

    def service(self, parent: etree._Element, name: str, line: DocumentLine) -> None:
        """КлючевыеСвойстваНоменклатура: a service's code goes to Артикул, 1C's second search field."""
        key = self.el(parent, name)
        self.el(key, "Ссылка", _service_ref(line))
        self.el(key, "НаименованиеПолное", line.service_name)
        if line.service_code:
            self.el(key, "Артикул", line.service_code[:ARTICLE_LIMIT])
        self.el(key, "Наименование", line.service_name[:CATALOG_NAME_LIMIT])

    def vat_rate(self, parent: etree._Element, rate: VatRate) -> None:
        """СтавкаНДС: the 1.17+ structure, or the old enum, which cannot express 22, 7 or 5 %."""
        # Refused before the commit: a bug if it comes here.
        problem = vat_rate_problem(rate, self.fmt.version)
        if problem:
            raise ValueError(problem)
        kind, legacy = VAT_RATES[rate.percent]
        if not self.fmt.vat_structure:
            self.el(parent, "СтавкаНДС", legacy)
            return
        node = self.el(parent, "СтавкаНДС")
        if rate.percent:  # 0 % and «без НДС» have no Ставка; НеОблагается tells them apart
            self.el(node, "Ставка", f"{rate.percent.normalize():f}")
        self.flag(node, "РасчетнаяСтавка", False)
        self.flag(node, "НеОблагается", rate.exempt)
        self.el(node, "ВидСтавки", kind)

    def document_key(
        self, parent: etree._Element, name: str, kind: DocumentKind, number: str, day: date
    ) -> etree._Element:
        """A document's key properties; a счёт-фактура's schema puts Номер before Дата."""
        key = self.el(parent, name)
        self.el(key, "Ссылка", _document_ref(kind, number, day, self.company))
        moment = ("Дата", datetime.combine(day, DOCUMENT_TIME).isoformat())
        fields = (
            [("Номер", number), moment] if kind is DocumentKind.TAX_INVOICE else [moment, ("Номер", number)]
        )
        for field, text in fields:
            self.el(key, field, text)
        self.organisation(key)
        return key

    def document(
        self, body: etree._Element, kind: DocumentKind, number: str, day: date
    ) -> tuple[etree._Element, etree._Element]:
        """A document's object element and its КлючевыеСвойства."""
        obj = self.el(body, f"Документ.{DOCUMENT_TYPES[kind]}")
        return obj, self.document_key(obj, "КлючевыеСвойства", kind, number, day)

    def settlements(self, parent: etree._Element, doc: Document) -> None:
        """ДанныеВзаиморасчетов: the contract, in roubles at rate 1."""
        data = self.el(parent, "ДанныеВзаиморасчетов")
        self.contract(data, "Договор", _contract_of(doc))
        self.rub(data, "ВалютаВзаиморасчетов")
        self.el(data, "КурсВзаиморасчетов", "1")
        self.el(data, "КратностьВзаиморасчетов", "1")
        self.flag(data, "РасчетыВУсловныхЕдиницах", False)

    def services(
        self,
        parent: etree._Element,
        doc: Document,
        *,
        wrap_service: bool = False,
        service_type: str | None = None,
    ) -> None:
        """Услуги/Строка per line. Сумма includes VAT only when the document's prices do
        (СуммаВключаетНДС), as in 1C; Содержание is the printed text with the connection address."""
        table = self.el(parent, "Услуги")
        for line in doc.lines:
            row = self.el(table, "Строка")
            self.el(row, "НомерСтрокиДокумента", str(line.position))
            self.service(self.el(row, "ДанныеНоменклатуры") if wrap_service else row, "Номенклатура", line)
            self.quantity(row, "Количество", line.quantity)
            self.money(row, "Сумма", line.gross if doc.vat_included else line.net)
            self.money(row, "Цена", line.price)
            self.vat_rate(row, line.vat_rate)
            self.money(row, "СуммаНДС", line.vat)
            self.el(row, "Содержание", line.text)
            if service_type is not None:
                self.el(row, "ТипУслуги", service_type)


def _write_counterparty(w: _Writer, body: etree._Element, party: Counterparty) -> None:
    """Справочник.Контрагенты with contacts and the main bank account."""
    obj = w.el(body, "Справочник.Контрагенты")
    w.counterparty(obj, "КлючевыеСвойства", party)
    contacts = [
        (kind, value)
        for kind, value in (
            ("ЮридическийАдрес", party.address),
            ("Телефон", party.phone),
            ("АдресЭлектроннойПочты", party.email),
        )
        if value
    ]
    if contacts:
        table = w.el(obj, "КонтактнаяИнформация")
        for kind, value in contacts:
            row = w.el(table, "Строка")
            w.el(row, "ВидКонтактнойИнформации", kind)
            w.el(row, "ЗначенияПолей", value)
    if party.bank is not None:
        w.bank_account(obj, "ОсновнойБанковскийСчет", party.bank, owner=party)


def _write_bank_account(w: _Writer, body: etree._Element, party: Counterparty, account: BankAccount) -> None:
    """Справочник.БанковскиеСчета: sent whole because 1C needs its currency to create it."""
    obj = w.el(body, "Справочник.БанковскиеСчета")
    w.bank_account(obj, "КлючевыеСвойства", account, owner=party)
    w.rub(obj, "ВалютаДенежныхСредств")


def _write_contract(w: _Writer, body: etree._Element, contract: _ContractKey) -> None:
    w.contract(w.el(body, "Справочник.Договоры"), "КлючевыеСвойства", contract)


def _write_catalogs(
    w: _Writer, body: etree._Element, parties: Iterable[Counterparty], contracts: Iterable[_ContractKey]
) -> None:
    """The counterparties, their bank accounts and the contracts, each object once."""
    unique_parties = _unique(parties, _counterparty_ref)
    for party in unique_parties:
        _write_counterparty(w, body, party)
    for party in unique_parties:
        if party.bank is not None:
            _write_bank_account(w, body, party, party.bank)
    for contract in _unique(contracts, lambda c: c.ref):
        _write_contract(w, body, contract)


def _write_service(w: _Writer, body: etree._Element, line: DocumentLine) -> None:
    """Справочник.Номенклатура: a service with its unit and the VAT rate of its first line."""
    obj = w.el(body, "Справочник.Номенклатура")
    w.service(obj, "КлючевыеСвойства", line)
    w.el(obj, "ТипНоменклатуры", "Услуга")
    w.unit(obj, line.unit)
    w.vat_rate(obj, line.vat_rate)


def _write_order(w: _Writer, body: etree._Element, doc: Document) -> None:
    """Счёт на оплату as ЗаказКлиента, with our bank account to print on it."""
    obj, _ = w.document(body, doc.kind, doc.number, doc.date)
    w.rub(obj, "Валюта")
    w.money(obj, "Сумма", doc.total)
    w.counterparty(obj, "Контрагент", doc.counterparty)
    w.settlements(obj, doc)
    w.flag(obj, "СуммаВключаетНДС", doc.vat_included)
    w.bank_account(obj, "БанковскийСчетОрганизации", w.company.bank, owner=None)
    w.services(obj, doc, wrap_service=w.fmt.order_rows_wrap_service)


def _write_sale(w: _Writer, body: etree._Element, doc: Document) -> None:
    """Акт or УПД as РеализацияТоваровУслуг, linked to its invoice when that is in the message."""
    obj, _ = w.document(body, doc.kind, doc.number, doc.date)
    w.el(obj, "ВидОперации", "РеализацияКлиенту")
    w.rub(obj, "Валюта")
    w.money(obj, "Сумма", doc.total)
    w.flag(obj, "СуммаВключаетНДС", doc.vat_included)
    w.bank_account(obj, "БанковскийСчетОрганизации", w.company.bank, owner=None)
    w.counterparty(obj, "Контрагент", doc.counterparty)
    w.settlements(obj, doc)
    invoice = w.find(DocumentKind.INVOICE, doc.related_number)
    if invoice is not None:  # a key alone could make 1C create an empty order: only link what we send
        w.document_key(obj, "Заказ", invoice.kind, invoice.number, invoice.date)
    w.el(obj, "Налогообложение", "ПродажаНеОблагаетсяНДС" if doc.vat_exempt else "ПродажаОблагаетсяНДС")
    w.services(obj, doc, service_type="Собственные")
    if w.fmt.upd_flag:
        w.flag(obj, "ЭтоУПД", doc.kind is DocumentKind.UPD)


def _sale_of(w: _Writer, doc: Document) -> tuple[DocumentKind, str, date]:
    """The act (or УПД) a счёт-фактура is issued for: from this message, or else an act of the same
    date, sent earlier, which 1C then finds by its Ссылка."""
    if doc.related_number is None:
        raise ValueError(f"счёт-фактура № {doc.number}: не указан акт, на который он выставлен")
    for kind in (DocumentKind.ACT, DocumentKind.UPD):
        sale = w.find(kind, doc.related_number)
        if sale is not None:
            return sale.kind, sale.number, sale.date
    return DocumentKind.ACT, doc.related_number, doc.date


def _write_tax_invoice(w: _Writer, body: etree._Element, doc: Document) -> None:
    """Счёт-фактура as СчетФактураВыданный on the sale (код вида операции 01)."""
    obj, _ = w.document(body, doc.kind, doc.number, doc.date)
    w.rub(obj, "Валюта")
    w.money(obj, "Сумма", doc.total)
    w.counterparty(obj, "Контрагент", doc.counterparty)
    w.contract(obj, "Договор", _contract_of(doc))
    w.money(obj, "СуммаНДС", doc.vat)
    w.el(obj, "ВидСчетаФактуры", "НаРеализацию")
    w.el(obj, "КодВидаОперации", "01")
    w.flag(obj, "Выставлен", True)
    w.el(obj, "ДатаВыставления", doc.date.isoformat())
    w.el(obj, "СпособВыставления", "ВЭлектронномВиде" if doc.counterparty.edo_id else "НаБумажномНосителе")
    basis = w.el(w.el(w.el(obj, "ДокументыОснования"), "Строка"), "ДокументОснование")
    w.document_key(basis, "РеализацияТоваровУслугСсылка", *_sale_of(w, doc))


def _write_purchase(w: _Writer, body: etree._Element, doc: Document) -> None:
    """Акт агента as ПоступлениеТоваровУслуг: we buy the agent's services; the act is the incoming one."""
    obj, key = w.document(body, doc.kind, doc.number, doc.date)
    incoming = w.el(key, "ДанныеВходящегоДокумента")
    w.el(incoming, "НомерВходящегоДокумента", doc.number)
    w.el(incoming, "ДатаВходящегоДокумента", doc.date.isoformat())
    w.counterparty(key, "Контрагент", doc.counterparty)
    w.services(obj, doc)
    w.rub(obj, "Валюта")
    w.el(obj, "ВидОперации", "ПокупкаУПоставщика")
    w.money(obj, "Сумма", doc.total)
    w.flag(obj, "СуммаВключаетНДС", doc.vat_included)
    if doc.counterparty.bank is not None:
        w.bank_account(obj, "БанковскийСчетКонтрагента", doc.counterparty.bank, owner=doc.counterparty)
    w.settlements(obj, doc)
    w.el(obj, "Налогообложение", "НеОблагаетсяНДС" if doc.vat_exempt else "ОблагаетсяНДС")


DOCUMENT_WRITERS: dict[DocumentKind, Callable[[_Writer, etree._Element, Document], None]] = {
    DocumentKind.INVOICE: _write_order,
    DocumentKind.ACT: _write_sale,
    DocumentKind.UPD: _write_sale,
    DocumentKind.TAX_INVOICE: _write_tax_invoice,
    DocumentKind.AGENT_ACT: _write_purchase,
}


def _write_payment_order(w: _Writer, body: etree._Element, order: PaymentOrder) -> None:
    """Платёжное поручение to an agent, on the contract of the act it pays. `Оплачено` is left out:
    1C sets it from the bank statement, and a re-sent order must not clear it."""
    payee = order.payee
    obj, _ = w.document(body, DocumentKind.PAYMENT_ORDER, order.number, order.date)
    if w.fmt.payment_operation:
        w.el(obj, "ВидОперации", PAYMENT_OPERATIONS.get(payee.legal_form, "ОплатаПоставщику"))
    w.bank_account(obj, "БанковскийСчетОрганизации", w.company.bank, owner=None)
    w.counterparty(obj, "Контрагент", payee)
    w.bank_account(obj, "БанковскийСчет", payee_account(order), owner=payee)
    details = w.el(obj, "РеквизитыПлатежа")
    w.el(details, "ВидОплаты", PAYMENT_KIND)
    w.el(details, "Очередность", PRIORITY)
    w.el(details, "НазначениеПлатежа", order.purpose)
    w.rub(obj, "Валюта")
    w.money(obj, "Сумма", order.amount)
    w.contract(obj, "Договор", _paid_contract(order))
    w.money(obj, "СуммаНДС", order.vat)
    w.vat_rate(obj, order.vat_rate)
    for name, value in (
        ("ИННПлательщика", w.company.inn),
        ("КПППлательщика", w.company.kpp),
        ("ИННПолучателя", payee.inn),
        ("КПППолучателя", payee.kpp),
    ):
        if value:
            w.el(obj, name, value)


def _message(fmt: _Format, now: datetime) -> tuple[etree._Element, etree._Element]:
    """An exchange message with its header, and its Body to fill."""
    message = etree.Element("Message", nsmap={"msg": MSG_NS, "xs": XS_NS, "xsi": XSI_NS})
    header = etree.SubElement(message, f"{{{MSG_NS}}}Header")
    for name, text in (
        ("Format", fmt.namespace),
        ("CreationDate", _timestamp(now)),
        ("AvailableVersion", fmt.version),
    ):
        etree.SubElement(header, f"{{{MSG_NS}}}{name}").text = text
    return message, etree.SubElement(message, f"{{{fmt.namespace}}}Body", nsmap={None: fmt.namespace})


def _serialized(message: etree._Element) -> bytes:
    xml: bytes = etree.tostring(message, xml_declaration=True, encoding="UTF-8", pretty_print=True)
    return xml


def render_message(
    documents: Sequence[Document], company: Company, *, version: str = "1.20", now: datetime
) -> bytes:
    """One exchange message: the catalogs the documents refer to, then the documents; each object once.

    Raises ValueError for an unsupported version, or a VAT rate the version cannot express.
    """
    fmt = _Format(version)
    w = _Writer(company, fmt, documents)
    message, body = _message(fmt, now)
    _write_catalogs(w, body, (doc.counterparty for doc in documents), map(_contract_of, documents))
    for line in _unique((line for doc in documents for line in doc.lines), _service_ref):
        _write_service(w, body, line)
    for doc in _unique(documents, lambda d: _document_ref(d.kind, d.number, d.date, company)):
        DOCUMENT_WRITERS[doc.kind](w, body, doc)
    return _serialized(message)


def render_payment_orders(
    orders: Sequence[PaymentOrder], company: Company, *, version: str = "1.20", now: datetime
) -> bytes:
    """One exchange message: the agents, their bank accounts and contracts, then a ПлатежноеПоручение per
    order; each object once.

    Raises ValueError for an unsupported version, a VAT rate the version cannot express, or a payee
    without a bank account.
    """
    fmt = _Format(version)
    w = _Writer(company, fmt, ())
    message, body = _message(fmt, now)
    _write_catalogs(w, body, (order.payee for order in orders), map(_paid_contract, orders))
    kind = DocumentKind.PAYMENT_ORDER
    for order in _unique(orders, lambda o: _document_ref(kind, o.number, o.date, company)):
        _write_payment_order(w, body, order)
    return _serialized(message)


def render_deletion(
    kind: DocumentKind, number: str, day: date, company: Company, *, version: str = "1.20", now: datetime
) -> bytes:
    """УдалениеОбъекта of an annulled document, by the Ссылка it was sent with: 1C unposts it and marks it
    for deletion (ЛюбаяСсылка holds a bare UUID, inside a second СсылкаНаОбъект)."""
    fmt = _Format(version)
    w = _Writer(company, fmt, ())
    message, body = _message(fmt, now)
    target = w.el(w.el(w.el(body, "УдалениеОбъекта"), "СсылкаНаОбъект"), "СсылкаНаОбъект")
    w.el(target, f"{DOCUMENT_TYPES[kind]}Ссылка", _document_ref(kind, number, day, company))
    return _serialized(message)


def message_file_name(source: str, now: datetime, digest: str, *, version: str = "1.20") -> str:
    """`ED_1.20_charges_20261125-093000_ab12cd34.xml`: ASCII without spaces, unique per input file."""
    source, digest = _UNSAFE_FILE_CHARS.sub("-", source), _UNSAFE_FILE_CHARS.sub("-", digest)
    return f"ED_{_Format(version).version}_{source}_{now:%Y%m%d-%H%M%S}_{digest}.xml"
