"""1CClientBankExchange statements (format 1.01–1.03) to incoming payments (core).

A text file of `Key=Value` lines with СекцияРасчСчет … КонецРасчСчет and СекцияДокумент=<kind> …
КонецДокумента sections, ended by КонецФайла. `Кодировка` says Windows (cp1251) or DOS (cp866), but real
files lie, so the file is read in whichever of UTF-8, cp1251 and cp866 its section keys appear in, and
each line is checked against that choice (`decode_statement`).
"""
from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import TypeVar

from daemon.core.cleaning import parse_date, parse_decimal
from daemon.core.formats import plural

FIRST_LINE = "1CClientBankExchange"
UTF8_BOM = b"\xef\xbb\xbf"
ENCODINGS = ("utf-8", "cp1251", "cp866")   # the candidates; on a tie the earlier wins
ENCODING_NAMES = {"utf-8": "UTF-8", "cp1251": "cp1251 (Windows)", "cp866": "cp866 (DOS)"}
HEADER_VALUES = {"cp1251": "Windows", "cp866": "DOS"}   # what `Кодировка` says for each code page
DECLARED = {"windows": "cp1251", "windows-1251": "cp1251", "cp1251": "cp1251",
            "dos": "cp866", "cp866": "cp866", "utf-8": "utf-8", "utf8": "utf-8"}
# Keys that open, close or introduce sections: present in every statement, and spelt in Cyrillic, so
# they appear only when the file is read in its own encoding.
SECTION_KEYS = frozenset({"ВерсияФормата", "Кодировка", "СекцияРасчСчет", "КонецРасчСчет", "СекцияДокумент",
                          "КонецДокумента", "КонецФайла"})
REPLACEMENT = "\ufffd"
_REEXPORT = "выгрузите выписку из клиент-банка заново"
_ONE_ENCODING = f"{_REEXPORT} или сохраните файл целиком в одной кодировке"
LOST_LETTERS = (f"в строке знаки «{REPLACEMENT}» (U+FFFD) вместо букв: текст испорчен при перекодировке, "
                f"буквы не восстановить; {_REEXPORT}")
_INN_PREFIX = re.compile(r"^ИНН\s*\d+\s*")


@dataclass(frozen=True)
class StatementError:
    line: int
    key: str
    value: str
    reason: str


@dataclass(frozen=True)
class StatementFailure:
    """Why bytes are not a readable statement: its bad lines, or a `reason` for the whole file."""

    errors: tuple[StatementError, ...]
    reason: str = ""


@dataclass(frozen=True)
class StatementAccount:
    """The РасчСчет of one СекцияРасчСчет: an account the statement is of."""

    line: int
    account: str


@dataclass(frozen=True)
class StatementDocument:
    """One payment document (платёжное поручение, банковский ордер, …) of a statement."""

    line: int
    kind: str
    number: str
    # `dt.date` in this class: the field `date` shadows the type for the annotations below it
    date: dt.date
    amount: Decimal
    payer_account: str
    payer_inn: str
    payer_name: str
    payee_account: str
    payee_inn: str
    payee_name: str
    received: dt.date | None     # ДатаПоступило
    debited: dt.date | None      # ДатаСписано
    purpose: str
    # The accounts of the file it came in, so that each document can say what kind of file that was
    # (none: a payment file for the bank, not a statement).
    statement_accounts: tuple[StatementAccount, ...] = ()


@dataclass(frozen=True)
class BankStatement:
    format_version: str
    accounts: tuple[str, ...]    # the header's РасчСчет and the sections', each once
    documents: tuple[StatementDocument, ...]


@dataclass(frozen=True)
class Payment:
    """An incoming payment to one of our accounts; `key` identifies it across statements."""

    key: str
    number: str
    date: dt.date
    amount: Decimal
    payer_inn: str
    payer_name: str
    purpose: str
    account: str


@dataclass(frozen=True)
class DecodedText:
    """A file's lines in the encoding its section keys appear in, and the lines that do not fit it."""

    encoding: str
    lines: tuple[str, ...]
    errors: tuple[StatementError, ...]


def _section_keys(text: str) -> int:
    return sum(line.partition("=")[0].strip() in SECTION_KEYS for line in text.splitlines())


def decode_statement(data: bytes) -> DecodedText | StatementFailure:
    """Each line in the file's true encoding; a line in another encoding, lost letters (U+FFFD) and a
    `Кодировка` that names another code page are errors, each read as it is meant to be.

    UTF-8 under any header is accepted: strict UTF-8 cannot be mistaken for a code page, and banks write
    it under «Windows». A cp866 file declared Windows (or the reverse) is refused although it is read
    correctly here: any program that trusts the header misreads it, and the bank's export setting is wrong.
    """
    body = data.removeprefix(UTF8_BOM)
    found = {encoding: _section_keys(body.decode(encoding, errors="replace")) for encoding in ENCODINGS}
    encoding = max(ENCODINGS, key=found.__getitem__)
    if not found[encoding]:
        return StatementFailure((), _unreadable(body))
    lines: list[str] = []
    errors: list[StatementError] = []
    for number, raw in enumerate(body.splitlines(), start=1):
        text, reason = _decode_line(raw, encoding)
        lines.append(text)
        if reason:
            key, _, value = text.partition("=")
            errors.append(StatementError(number, key.strip()[:40], value.strip(), reason))
    mismatch = _declared_mismatch(lines, encoding)
    return DecodedText(encoding, tuple(lines), tuple(errors) + mismatch)


def _decode_line(raw: bytes, encoding: str) -> tuple[str, str]:
    """The line's text, and why it does not fit the file's encoding (empty when it does)."""
    text, reason = "", ""
    if encoding != "utf-8" and not raw.isascii():
        try:
            text = raw.decode("utf-8")
            reason = (f"строка в кодировке UTF-8, а остальной файл — в {ENCODING_NAMES[encoding]}: "
                      f"её правили или вставили в другой программе; {_ONE_ENCODING}")
        except UnicodeDecodeError:
            pass
    if not reason:
        try:
            text = raw.decode(encoding)
        except UnicodeDecodeError:
            text = raw.decode("cp1251" if encoding == "utf-8" else encoding, errors="replace")
            reason = (f"строка не в кодировке {ENCODING_NAMES[encoding]}, как остальной файл: её правили "
                      f"или вставили в другой программе; {_ONE_ENCODING}")
    return text, LOST_LETTERS if REPLACEMENT in text else reason


def _declared_mismatch(lines: Sequence[str], encoding: str) -> tuple[StatementError, ...]:
    """The header's `Кодировка` when it names a code page other than the one the file is in."""
    if encoding == "utf-8":
        return ()
    for number, text in enumerate(lines, start=1):
        key, _, value = (part.strip() for part in text.partition("="))
        if key.startswith("Секция"):
            break
        if key == "Кодировка":
            declared = DECLARED.get(value.lower())
            if declared == encoding:
                break
            again = f", выбрав кодировку {HEADER_VALUES[declared]}," if declared in HEADER_VALUES else ""
            return (StatementError(number, key, value, (
                f"файл в кодировке {ENCODING_NAMES[encoding]}, а в заголовке указано Кодировка={value}: "
                f"программа, которая поверит заголовку, прочтёт русские буквы неверно; выгрузите выписку "
                f"из клиент-банка заново{again} или исправьте эту строку на "
                f"Кодировка={HEADER_VALUES[encoding]}")),)
    return ()


def _unreadable(body: bytes) -> str:
    """Why no encoding shows the section keys: letters already lost (U+FFFD), or not this format at all."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        text = ""
    lost = text.count(REPLACEMENT)
    if lost:
        first = next(n for n, line in enumerate(text.splitlines(), start=1) if REPLACEMENT in line)
        return (f"файл испорчен: вместо русских букв в нём {plural(lost, 'знак', 'знака', 'знаков')} "
                f"«{REPLACEMENT}» (U+FFFD), впервые в строке {first}: его уже перекодировали с потерями "
                f"(открыли не в той кодировке и сохранили), буквы не восстановить; {_REEXPORT}")
    return ("ни в UTF-8, ни в cp1251 (Windows), ни в cp866 (DOS) в файле нет ключей формата "
            "(СекцияДокумент, КонецДокумента, КонецФайла): файл в другой кодировке или не выписка; "
            "выгрузите выписку из клиент-банка в кодировке Windows или DOS")


Fields = dict[str, tuple[int, str]]   # key → (line number, value)
_T = TypeVar("_T")


def _text(fields: Fields, key: str) -> str:
    return fields.get(key, (0, ""))[1]


def _party_name(fields: Fields, role: str) -> str:
    return _text(fields, f"{role}1") or _INN_PREFIX.sub("", _text(fields, role)).strip()


def _first_line(data: bytes) -> str:
    first = data.removeprefix(UTF8_BOM).split(b"\n", 1)[0].strip()
    try:
        return first.decode("utf-8")
    except UnicodeDecodeError:
        return first.decode("cp1251", errors="replace")


def parse_statement(data: bytes) -> BankStatement | StatementFailure:
    """The statement's documents, or every line that is wrong (an encoding problem among them)."""
    first = _first_line(data)
    if first != FIRST_LINE:
        reason = f"первая строка должна быть {FIRST_LINE}"
        return StatementFailure((StatementError(1, "", first[:60], reason),))
    decoded = decode_statement(data)
    if isinstance(decoded, StatementFailure):
        return decoded
    statement = _parse(decoded.lines)
    if isinstance(statement, StatementFailure) or decoded.errors:
        errors = decoded.errors + (statement.errors if isinstance(statement, StatementFailure) else ())
        return StatementFailure(tuple(sorted(errors, key=lambda e: e.line)))
    return statement


# One pass over the lines with the open section as its state: a branch per key the format defines, which
# reads more plainly in one place than split across helpers passing that state around.
def _parse(lines: Sequence[str]) -> BankStatement | StatementFailure:  # noqa: PLR0912
    errors: list[StatementError] = []
    header: dict[str, str] = {}
    accounts: list[str] = []
    sections: list[StatementAccount] = []
    closed: list[tuple[str, int, Fields]] = []   # document sections, read once the accounts are known
    section: tuple[str, int, Fields] | None = None   # kind, first line, fields
    last, ended = 1, False
    for number, raw in enumerate(lines[1:], start=2):
        text = raw.strip()
        if not text:
            continue
        last = number
        if text == "КонецФайла":
            ended = True
            break
        key, sep, value = text.partition("=")
        key, value = key.strip(), value.strip()
        if key in ("СекцияДокумент", "СекцияРасчСчет"):
            if section is not None:
                errors.append(StatementError(section[1], section[0], "", "секция не закрыта"))
            section = (value if key == "СекцияДокумент" else "СекцияРасчСчет", number, {})
        elif key in ("КонецДокумента", "КонецРасчСчет") and section is not None:
            if key == "КонецДокумента":
                closed.append(section)
            elif _text(section[2], "РасчСчет"):
                line, account = section[2]["РасчСчет"]
                accounts.append(account)
                sections.append(StatementAccount(line, account))
            section = None
        elif not sep:
            errors.append(StatementError(number, text[:40], "", "строка без знака «=»"))
        elif section is not None:
            section[2][key] = (number, value)
        else:
            header[key] = value
            if key == "РасчСчет":
                accounts.append(value)
    if not ended:
        inside = f" внутри секции «{section[0]}», начатой в строке {section[1]}," if section else ""
        errors.append(StatementError(last, "КонецФайла", "", (
            f"файл обрывается{inside} без завершающей строки КонецФайла: выписка выгружена или скопирована "
            f"не целиком; {_REEXPORT}")))
    elif section is not None:
        errors.append(StatementError(section[1], section[0], "", "секция не закрыта до КонецФайла"))
    documents = [_document(kind, start, fields, tuple(sections), errors) for kind, start, fields in closed]
    if errors:
        return StatementFailure(tuple(errors))
    return BankStatement(header.get("ВерсияФормата", ""), tuple(dict.fromkeys(accounts)),
                         tuple(d for d in documents if d is not None))


def _document(kind: str, start: int, fields: Fields, sections: tuple[StatementAccount, ...],
              errors: list[StatementError]) -> StatementDocument | None:
    problems = len(errors)

    def value(key: str, parse: Callable[[str], _T], required: bool = True) -> _T | None:
        line, text = fields.get(key, (start, ""))
        if not text:
            if required:
                errors.append(StatementError(line, key, "", "обязательное поле не заполнено"))
            return None
        try:
            return parse(text)
        except ValueError as exc:
            errors.append(StatementError(line, key, text, str(exc)))
            return None

    number = value("Номер", str)
    when = value("Дата", parse_date)
    amount = value("Сумма", parse_decimal)
    received = value("ДатаПоступило", parse_date, required=False)
    debited = value("ДатаСписано", parse_date, required=False)
    if len(errors) > problems or number is None or when is None or amount is None:
        return None   # a required field that is None has its error in `errors` already
    purpose = " ".join(
        _text(fields, k) for k in ("НазначениеПлатежа", *(f"НазначениеПлатежа{i}" for i in range(1, 7)))
        if _text(fields, k)
    )
    return StatementDocument(
        line=start, kind=kind, number=number, date=when, amount=amount,
        payer_account=_text(fields, "ПлательщикСчет") or _text(fields, "ПлательщикРасчСчет"),
        payer_inn=_text(fields, "ПлательщикИНН"), payer_name=_party_name(fields, "Плательщик"),
        payee_account=_text(fields, "ПолучательСчет") or _text(fields, "ПолучательРасчСчет"),
        payee_inn=_text(fields, "ПолучательИНН"), payee_name=_party_name(fields, "Получатель"),
        received=received, debited=debited, purpose=purpose, statement_accounts=sections,
    )


def incoming_payments(
    documents: Sequence[StatementDocument], own_accounts: Collection[str]
) -> tuple[Payment, ...]:
    """Credits to our accounts; our own outgoing payments and bank fees are not payments to us."""
    return tuple(
        Payment(
            key=f"{doc.number}|{doc.date.isoformat()}|{doc.payee_account}|{doc.amount}|{doc.payer_account}",
            number=doc.number, date=doc.date, amount=doc.amount, payer_inn=doc.payer_inn,
            payer_name=doc.payer_name, purpose=doc.purpose, account=doc.payee_account,
        )
        for doc in documents
        if doc.payee_account in own_accounts and doc.payer_account not in own_accounts
    )
