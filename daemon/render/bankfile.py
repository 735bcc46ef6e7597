"""Our payment orders as a 1CClientBankExchange 1.03 file for the bank client (renderer; `now` passed in).

1C's «Стандарт обмена с системами Клиент банка» (specs/fns/NOTES.md §3): cp1251 text, CRLF line ends,
one `Key=Value` per line; a header, one `СекцияДокумент=Платежное поручение` … `КонецДокумента` per
order, then `КонецФайла`. The purpose is written once, as the one-line `НазначениеПлатежа`, and not
also split into `НазначениеПлатежа1…6`: the split lines are the older alternative, and readers that
join every purpose key (billdrop's own `parse_statement` among them) would read the text twice.

Values are made single-line (whitespace runs become one space, so a line break cannot end a key
early) and cp1251-safe: a character cp1251 lacks becomes its compatibility form without accents
(«é» → «e», «ﬁ» → «fi», full-width «Ａ» → «A»), a hyphen or minus sign variant becomes «-», and
anything else «?», so the operator sees where text was lost.
"""  # noqa: RUF002 -- the full-width letter A above is the example being described

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from datetime import datetime

from daemon.core.formats import PURPOSE_LIMIT
from daemon.core.money import to_kopecks
from daemon.core.records import BankAccount, Company
from daemon.core.sources.acceptances import PaymentOrder

FIRST_LINE = "1CClientBankExchange"
FORMAT_VERSION = "1.03"
ENCODING = "cp1251"  # Кодировка=Windows
SENDER = "billdrop"
DOCUMENT_KIND = "Платежное поручение"
PAYMENT_KIND = "01"  # ВидОплаты of a платёжное поручение
PRIORITY = "5"  # Очередность of ordinary payments to counterparties (ст. 855 ГК РФ)
_HYPHENS = dict.fromkeys(map(ord, "\u2010\u2011\u2012\u2043\u2212\ufe63\uff0d"), "-")
# «ПАО Сбербанк г. Екатеринбург», as copied from a printed order: the city goes to …Банк2.
_BANK_CITY = re.compile(r"^(?P<bank>.*?\S)[\s,]+(?P<city>г\.\s?[А-ЯЁ][^,]*)$")


def _encodable(text: str) -> bool:
    try:
        text.encode(ENCODING)
    except UnicodeEncodeError:
        return False
    return True


def _cp1251_char(char: str) -> str:
    if _encodable(char):
        return char
    plain = "".join(c for c in unicodedata.normalize("NFKD", char) if not unicodedata.combining(c))
    plain = plain.translate(_HYPHENS)
    return plain if plain and _encodable(plain) else "?"


def _clean(text: str) -> str:
    """One line of cp1251-safe text (see the module docstring)."""
    return "".join(map(_cp1251_char, " ".join(text.split())))


def _bank_and_city(bank: BankAccount) -> tuple[str, str]:
    """…Банк1 and …Банк2: the bank's name and, when its name ends with one, its city."""
    found = _BANK_CITY.match(bank.bank_name.strip())
    return (found["bank"], found["city"]) if found else (bank.bank_name, "")


def _party_fields(role: str, inn: str, kpp: str, name: str, bank: BankAccount) -> list[tuple[str, str]]:
    """The payer's or payee's keys; `role` is «Плательщик» or «Получатель». A direct settlement: the
    account is both …Счет and …РасчСчет, and «ИНН <ИНН> <name>» goes to the combined key."""
    bank_name, city = _bank_and_city(bank)
    return [
        (f"{role}Счет", bank.account),
        (role, f"ИНН {inn} {name}" if inn else name),
        (f"{role}ИНН", inn),
        (f"{role}КПП", kpp),
        (f"{role}1", name),
        (f"{role}РасчСчет", bank.account),
        (f"{role}Банк1", bank_name),
        (f"{role}Банк2", city),
        (f"{role}БИК", bank.bik),
        (f"{role}Корсчет", bank.corr_account),
    ]


def payee_account(order: PaymentOrder) -> BankAccount:
    """Where the order's money goes; ValueError when the payee has no bank account."""
    if order.payee.bank is None:
        raise ValueError(
            f"платёжное поручение № {order.number}: у получателя {order.payee.name} нет банковского счёта"
        )
    return order.payee.bank


def _order_fields(order: PaymentOrder, company: Company) -> list[tuple[str, str]]:
    payee, purpose = order.payee, _clean(order.purpose)
    if len(purpose) > PURPOSE_LIMIT:
        raise ValueError(
            f"платёжное поручение № {order.number}: назначение платежа длиннее {PURPOSE_LIMIT} символов"
        )
    return [
        ("Номер", order.number),
        ("Дата", f"{order.date:%d.%m.%Y}"),
        ("Сумма", f"{to_kopecks(order.amount):.2f}"),
        *_party_fields("Плательщик", company.inn, company.kpp or "", company.name, company.bank),
        # An ИП or a person has no КПП: the key stays empty (a «0» is for budget payments only).
        *_party_fields("Получатель", payee.inn, payee.kpp or "", payee.name, payee_account(order)),
        ("ВидОплаты", PAYMENT_KIND),
        ("Очередность", PRIORITY),
        ("НазначениеПлатежа", purpose),
    ]


def render_payment_file(orders: Sequence[PaymentOrder], company: Company, *, now: datetime) -> bytes:
    """The upload file of `orders` from our account; `now` is written as given (the operator's clock).

    Raises ValueError when there is no order, a payee has no bank account, or a purpose is longer
    than the bank takes.
    """
    if not orders:
        raise ValueError("нет платёжных поручений для выгрузки в банк")
    dates = [order.date for order in orders]
    header = [
        ("ВерсияФормата", FORMAT_VERSION),
        ("Кодировка", "Windows"),
        ("Отправитель", SENDER),
        ("Получатель", ""),
        ("ДатаСоздания", f"{now:%d.%m.%Y}"),
        ("ВремяСоздания", f"{now:%H:%M:%S}"),
        ("ДатаНачала", f"{min(dates):%d.%m.%Y}"),
        ("ДатаКонца", f"{max(dates):%d.%m.%Y}"),
        ("РасчСчет", company.bank.account),
        ("Документ", DOCUMENT_KIND),
    ]
    lines = [FIRST_LINE, *(f"{key}={_clean(value)}" for key, value in header)]
    for order in orders:
        lines.append(f"СекцияДокумент={DOCUMENT_KIND}")
        lines += (f"{key}={_clean(value)}" for key, value in _order_fields(order, company))
        lines.append("КонецДокумента")
    lines.append("КонецФайла")
    return ("\r\n".join(lines) + "\r\n").encode(ENCODING)
