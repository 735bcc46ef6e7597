"""ФНС files of the УПД and счёт-фактура, format 5.03, seller's title (renderer; pure, deterministic).

Built as an lxml tree in schema order (specs/fns/NOTES.md §1.3), written in windows-1251; characters
outside it become numeric character references. Decisions where the data falls short of the format:

- The file's GUID is uuid5 over the document's kind, number and date, so a re-render with the same
  `now` gives the same bytes; `now` only dates the file (ДатаИнфПр, ВремИнфПр, the date in its name).
- A missing ЭДО id leaves its place in the file name empty (ИдФайл has no pattern, only a length):
  the file stays valid against the XSD, and `problems` says that no operator will deliver it.
- A contract without a date cannot be an ОснПер (РеквДатаДок is required): the transfer is then
  «без документа-основания» (БезДокОснПер="1"), and `problems` asks for the date.
- ЦенаТов is the price without VAT: the printed price when it has no VAT in it, else the line's net
  amount per unit, rounded half-up to kopecks (as 1C does for prices that include VAT).
- `problems` lists what the schematron of the format (NOTES §1.4) or an operator rejects and the XSD
  cannot see; nothing is invented to hide it.
"""
from __future__ import annotations

import importlib.metadata
import uuid
from dataclasses import dataclass
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal

from lxml import etree

from daemon.core.documents import Document, DocumentKind
from daemon.core.formats import shortened
from daemon.core.money import VatRate, to_kopecks
from daemon.core.names import PersonName, parse_person_name, person_name
from daemon.core.records import Company, Counterparty, LegalForm
from daemon.core.units import DEFAULT_UNIT, okei_code

PROGRAM = f"billdrop {importlib.metadata.version('billdrop')}"
FORMAT_VERSION = "5.03"
ENCODING = "windows-1251"
# Written by hand: lxml's own declaration uses single quotes, the format's samples double ones.
XML_DECLARATION = b'<?xml version="1.0" encoding="windows-1251"?>\n'
KND = "1115131"
FILE_PREFIX = "ON_NSCHFDOPPR"
FILE_FLAGS = "0_0_0_0_0_00"  # N2…N7: no traceable, marked, alcohol, tobacco or oil goods (services)
FILE_ID_LIMIT = 255
ITEM_NAME_LIMIT = 2000   # НаимТов: a service (≤ 1000 characters) with its period and connection address
# The uuid5 namespace of the GUID in file names. Changing it renames every file already issued.
FILE_NAMESPACE = uuid.UUID("0c4f7a52-3d2e-4b8a-9f61-2a7d5e9b1c44")
RUSSIA = {"КодСтр": "643", "НаимСтран": "Россия"}
RUB = {"КодОКВ": "643", "НаимОКВ": "Российский рубль"}
TRANSFER_DOCUMENT = (
    "Документ об отгрузке товаров (выполнении работ), передаче имущественных прав "
    "(документ об оказании услуг)"
)
# НаимДокОпр per Функция; a счёт-фактура alone must not have one (schematron).
DOCUMENT_NAMES = {
    "СЧФДОП": "Счет-фактура и документ об отгрузке товаров (выполнении работ), передаче имущественных прав "
    "(документ об оказании услуг)",
    "ДОП": TRANSFER_DOCUMENT,
}
SERVICES_RENDERED = "Услуги оказаны в полном объеме"
SERVICE = "3"  # ДопСведТов/@ПрТовРаб: 1 goods, 2 work, 3 service
QUALIFIED_SIGNATURE = "1"  # ТипПодпис: КЭП
POWERS_FROM_SIGNATURE = "1"  # СпосПодтПолном: the director signs with his own КЭП, no МЧД
NO_VAT = "без НДС"
# НалСт values of 5.03 rev. 05 a sale can carry; the fractions (22/122 ...) are for calculated rates.
VAT_RATES = frozenset({"0%", "5%", "7%", "10%", "18%", "20%", "22%", NO_VAT})
PRICE_DIGITS = Decimal("1e-11")  # ЦенаТов and КолТов have at most 11 fraction digits


@dataclass(frozen=True)
class FnsFile:
    """One exchange file: its name (= ИдФайл + ".xml"), its bytes and what would get it rejected."""

    file_name: str
    content: bytes
    problems: tuple[str, ...]


def upd_function(document: Document) -> str:
    """Документ/@Функция: СЧФДОП for a VAT payer's УПД (status 1), ДОП without VAT (status 2), СЧФ.

    Raises ValueError for kinds that have no ФНС form here (invoice, act, agent's act, payment order).
    """
    if document.kind is DocumentKind.UPD:
        return "СЧФДОП" if document.upd_status == 1 else "ДОП"
    if document.kind is DocumentKind.TAX_INVOICE:
        return "СЧФ"
    raise ValueError(f"{document.kind.title} № {document.number}: нет формата ФНС для этого документа")


def file_id(document: Document, company: Company, now: datetime) -> str:
    """ИдФайл: ON_NSCHFDOPPR_<buyer's ЭДО id>_<ours>_<YYYYMMDD>_<GUID>_0_0_0_0_0_00."""
    guid = uuid.uuid5(FILE_NAMESPACE, f"{document.kind.value}:{document.number}:{document.date.isoformat()}")
    recipient = (document.counterparty.edo_id or "").strip()
    return "_".join((FILE_PREFIX, recipient, company.edo_id.strip(), f"{now:%Y%m%d}", str(guid), FILE_FLAGS))


def render_fns(document: Document, company: Company, *, now: datetime, program: str = PROGRAM) -> FnsFile:
    """The seller's title of an УПД or счёт-фактура: we sell, the document's counterparty buys.

    Raises ValueError for a document kind without a ФНС form (see `upd_function`).
    """
    function = upd_function(document)
    name = file_id(document, company, now)
    root = etree.Element("Файл", {"ИдФайл": name, "ВерсФорм": FORMAT_VERSION, "ВерсПрог": program})
    body = _el(
        root,
        "Документ",
        КНД=KND,
        Функция=function,
        ПоФактХЖ=None if function == "СЧФ" else TRANSFER_DOCUMENT,
        НаимДокОпр=DOCUMENT_NAMES.get(function),
        ДатаИнфПр=_date(now.date()),
        ВремИнфПр=f"{now:%H.%M.%S}",
        НаимЭконСубСост=_composer(company),
    )
    _write_header(body, document, company)
    _write_table(body, document)
    if function != "СЧФ":
        _write_transfer(body, document)
    signer = _el(
        body,
        "Подписант",
        Должн=company.director_title.strip() or None,
        ТипПодпис=QUALIFIED_SIGNATURE,
        СпосПодтПолном=POWERS_FROM_SIGNATURE,
    )
    _write_person_name(signer, parse_person_name(company.director))
    xml = etree.tostring(root, encoding=ENCODING, xml_declaration=False, pretty_print=True)
    content = XML_DECLARATION + xml
    return FnsFile(f"{name}.xml", content, _problems(document, company, function, name))


def _el(parent: etree._Element, tag: str, **attributes: str | None) -> etree._Element:
    """A child with the attributes that have a value, in the order given."""
    return etree.SubElement(parent, tag, {key: value for key, value in attributes.items() if value})


def _text(parent: etree._Element, tag: str, text: str) -> None:
    etree.SubElement(parent, tag).text = text


def _date(day: date) -> str:
    return f"{day:%d.%m.%Y}"


def _money(amount: Decimal) -> str:
    return f"{to_kopecks(amount):.2f}"


def _measure(value: Decimal, *, places: int = 0) -> str:
    """КолТов/ЦенаТов: at most 11 fraction digits, half-up; `places` digits when no more are needed."""
    exact = value.quantize(PRICE_DIGITS, rounding=ROUND_HALF_UP).normalize()
    return f"{exact:.{places}f}" if exact == exact.quantize(Decimal(1).scaleb(-places)) else f"{exact:f}"


def _vat_rate(rate: VatRate) -> str:
    """НалСт: «без НДС», or the percentage with a decimal comma («22%», «9,09%»)."""
    return NO_VAT if rate.exempt else rate.label.replace(".", ",")


def _composer(company: Company) -> str:
    """НаимЭконСубСост: who made the file, with ИНН/КПП."""
    if company.kpp:
        return f"{company.name}, ИНН/КПП {company.inn}/{company.kpp}"
    return f"{company.name}, ИНН {company.inn}"


def _seller(company: Company) -> Counterparty:
    """Our company as a participant: the full name, as in the founding documents."""
    return Counterparty(
        inn=company.inn,
        kpp=company.kpp,
        name=company.full_name,
        legal_form=company.legal_form,
        email=company.email,
        phone=company.phone,
        address=company.address,
        bank=company.bank,
    )


def _write_person_name(parent: etree._Element, name: PersonName) -> None:
    _el(parent, "ФИО", Фамилия=name.surname, Имя=name.first_name, Отчество=name.patronymic)


def _write_participant(parent: etree._Element, tag: str, party: Counterparty) -> None:
    """УчастникТип: ИдСв by legal form, the address as text, bank details and contacts when known."""
    node = _el(parent, tag)
    ident = _el(node, "ИдСв")
    if party.legal_form is LegalForm.LEGAL:
        _el(ident, "СвЮЛУч", НаимОрг=party.name, ИННЮЛ=party.inn, КПП=party.kpp)
    elif party.legal_form is LegalForm.ENTREPRENEUR:
        _write_person_name(_el(ident, "СвИП", ИННФЛ=party.inn), person_name(party))
    else:
        person = person_name(party)
        known = person.first_name is not None
        holder = _el(ident, "СвФЛУч", ИННФЛ=party.inn if len(party.inn) == 12 else None,
                     ИныеСвед=None if known else party.name)
        if known:
            _write_person_name(holder, person)
    if party.address:
        _el(_el(node, "Адрес"), "АдрИнф", **RUSSIA, АдрТекст=party.address)
    if party.bank is not None:
        account = party.bank
        bank = _el(node, "БанкРекв", НомерСчета=account.account)
        _el(bank, "СвБанк", НаимБанк=account.bank_name, БИК=account.bik, КорСчет=account.corr_account)
    if party.phone or party.email:
        contact = _el(node, "Контакт")
        for tag_name, value in (("Тлф", party.phone), ("ЭлПочта", party.email)):
            if value:
                _text(contact, tag_name, value)


def _write_header(body: etree._Element, document: Document, company: Company) -> None:
    """СвСчФакт: number and date, seller, the act a счёт-фактура is for, buyer, roubles."""
    header = _el(body, "СвСчФакт", НомерДок=document.number, ДатаДок=_date(document.date))
    _write_participant(header, "СвПрод", _seller(company))
    if document.kind is DocumentKind.TAX_INVOICE and document.related_number:
        _el(
            header,
            "ДокПодтвОтгрНом",
            РеквНаимДок=DocumentKind.ACT.title,
            РеквНомерДок=document.related_number,
            РеквДатаДок=_date(document.date),
        )
    _write_participant(header, "СвПокуп", document.counterparty)
    _el(header, "ДенИзм", **RUB)


def _write_vat(parent: etree._Element, tag: str, exempt: bool, amount: Decimal) -> None:
    """СумНДСТип: <СумНал>amount</СумНал> or <БезНДС>без НДС</БезНДС> inside `tag`."""
    node = _el(parent, tag)
    if exempt:
        _text(node, "БезНДС", NO_VAT)
    else:
        _text(node, "СумНал", _money(amount))


def _write_table(body: etree._Element, document: Document) -> None:
    """ТаблСчФакт: one СведТов per line (a service), then totals that are the sums of the lines."""
    table = _el(body, "ТаблСчФакт")
    for line in document.lines:
        unit = line.unit.strip() or DEFAULT_UNIT
        item = _el(
            table,
            "СведТов",
            НомСтр=str(line.position),
            НаимТов=shortened(line.text, ITEM_NAME_LIMIT),
            ОКЕИ_Тов=okei_code(unit),
            НаимЕдИзм=unit,
            КолТов=_measure(line.quantity),
            ЦенаТов=_measure(document.net_price(line), places=2),
            СтТовБезНДС=_money(line.net),
            НалСт=_vat_rate(line.vat_rate),
            СтТовУчНал=_money(line.gross),
        )
        _el(item, "ДопСведТов", ПрТовРаб=SERVICE)
        _write_vat(item, "СумНал", line.vat_rate.exempt, line.vat)
    totals = _el(
        table, "ВсегоОпл", СтТовБезНДСВсего=_money(document.net), СтТовУчНалВсего=_money(document.total)
    )
    _write_vat(totals, "СумНалВсего", document.vat_exempt, document.vat)


def _write_transfer(body: etree._Element, document: Document) -> None:
    """СвПродПер: services rendered over the document's period, on the contract when it has a date."""
    transfer = _el(
        _el(body, "СвПродПер"),
        "СвПер",
        СодОпер=SERVICES_RENDERED,
        ДатаНачПер=_date(document.period_start),
        ДатаОконПер=_date(document.period_end),
    )
    contract = document.contract
    if contract.date is not None:
        _el(transfer, "ОснПер", РеквНаимДок="Договор", РеквНомерДок=contract.number,
            РеквДатаДок=_date(contract.date))
    else:
        _text(transfer, "БезДокОснПер", "1")


def _problems(document: Document, company: Company, function: str, name: str) -> tuple[str, ...]:
    """What gets this file rejected: the format's schematron (NOTES §1.4), limits of the XSD our data can
    break, an operator's checks; and where the file says less than it should (no contract date)."""
    buyer, seller = document.counterparty, _seller(company)
    found: list[str] = []
    if not (buyer.edo_id or "").strip():
        found.append(
            f"нет идентификатора ЭДО покупателя {buyer.name} (ИНН {buyer.inn}): "
            "в имени файла его место пустое, оператор ЭДО файл не доставит"
        )
    if not company.edo_id.strip():
        found.append("нет идентификатора ЭДО продавца (edo_id в реквизитах компании): файл не примут")
    if len(name) > FILE_ID_LIMIT:
        found.append(f"имя файла длиннее {FILE_ID_LIMIT} символов: проверьте идентификаторы ЭДО")
    if function != "ДОП":
        for role, party in (("продавца", seller), ("покупателя", buyer)):
            if not party.address:
                found.append(f"нет адреса {role} {party.name}: в документе {function} адрес обязателен")
    if function == "СЧФ" and not document.related_number:
        found.append(f"счёт-фактура № {document.number}: не указан акт, к которому он выставлен (строка 5а)")
    found.extend(_line_problems(document, function))
    found.extend(_name_problems(company, seller, buyer))
    if function != "СЧФ" and document.contract.date is None:
        found.append(
            f"у договора № {document.contract.number} нет даты: основание передачи указано "
            "«без документа-основания»"
        )
    return tuple(found)


def _line_problems(document: Document, function: str) -> list[str]:
    """Lines the format cannot carry: a VAT rate 5.03 lacks, a price not above zero (except in ДОП)."""
    found: list[str] = []
    for line in document.lines:
        if _vat_rate(line.vat_rate) not in VAT_RATES:
            found.append(f"строка {line.position}: ставки НДС {line.vat_rate.label} нет в формате 5.03")
        if function != "ДОП" and document.net_price(line) <= 0:
            found.append(f"строка {line.position}: в документе {function} цена должна быть больше нуля")
    return found


def _name_problems(company: Company, seller: Counterparty, buyer: Counterparty) -> list[str]:
    """Full names the schema needs (the signer's, an ИП's) that cannot be split, and a signer's initials."""
    found: list[str] = []
    signer = parse_person_name(company.director)
    required_names = [("подписанта", company.director, signer)] + [  # ФИО is required for a signer and an ИП
        (role, party.name, person_name(party))
        for role, party in (("продавца", seller), ("покупателя", buyer))
        if party.legal_form is LegalForm.ENTREPRENEUR
    ]
    for role, written, parsed in required_names:
        if parsed.first_name is None:
            found.append(
                f"ФИО {role} «{written}» не разобрать на фамилию и имя: файл не пройдёт проверку схемой"
            )
    if signer.has_initials:
        found.append(
            f"ФИО подписанта «{company.director}» с инициалами: оператор ЭДО сверяет его с сертификатом "
            "подписи, укажите полностью"
        )
    return found
