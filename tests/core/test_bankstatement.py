"""1CClientBankExchange files: the true encoding, cut files, and which files are statements of ours."""
from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

import pytest

from daemon.core.bankstatement import (
    LOST_LETTERS,
    BankStatement,
    StatementFailure,
    decode_statement,
    incoming_payments,
    parse_statement,
)
from daemon.core.reading import FileError
from daemon.core.sources.bank import check, refuse_foreign

HOSTILE = Path(__file__).resolve().parent.parent / "hostile" / "bank"
OURS = "40702810016540012345"
OTHER = "40702810938000067890"
STATEMENT = """1CClientBankExchange
ВерсияФормата=1.03
Кодировка={declared}
ДатаНачала=01.11.2026
ДатаКонца=30.11.2026
РасчСчет=40702810016540012345
СекцияРасчСчет
ДатаНачала=01.11.2026
ДатаКонца=30.11.2026
РасчСчет=40702810016540012345
НачальныйОстаток=0.00
ВсегоПоступило=3500.00
ВсегоСписано=0.00
КонечныйОстаток=3500.00
КонецРасчСчет
СекцияДокумент=Платежное поручение
Номер=700
Дата=05.11.2026
Сумма=3500.00
ПлательщикСчет=40702810705886098897
ПлательщикИНН=6672002970
Плательщик1=ООО "Ромашка"
ПолучательСчет=40702810016540012345
ДатаПоступило=05.11.2026
ПолучательИНН=6670000014
Получатель1=ООО "СеверНет"
НазначениеПлатежа=Оплата по счёту № 2611-00001 за услуги связи
КонецДокумента
КонецФайла
"""
LINES = STATEMENT.splitlines()
# What a reason, key or value may hold: Russian and ASCII text, the quotes and dashes we write, and U+FFFD
# where the file itself has it. Mojibake («РљРѕРЅРµС†», «╨Ю») has letters and signs outside this set.
_READABLE = re.compile(r"[\x20-\x7eА-Яа-яЁё«»№—–…\ufffd]*")


def _line(prefix: str) -> int:
    """The line number (first = 1) of the statement's first line starting with `prefix`."""
    return next(n for n, line in enumerate(LINES, start=1) if line.startswith(prefix))


def _encoded(encoding: str, declared: str, *, other: dict[int, str] | None = None) -> bytes:
    """The statement in `encoding` under `Кодировка=declared`; line n in `other[n]` if given."""
    lines = STATEMENT.format(declared=declared).splitlines()
    other = other or {}
    encoded = [line.encode(other.get(n, encoding)) for n, line in enumerate(lines, start=1)]
    return b"\r\n".join(encoded) + b"\r\n"


def _errors(data: bytes) -> list[tuple[int, str, str, str]]:
    failure = parse_statement(data)
    assert isinstance(failure, StatementFailure), failure
    return [(e.line, e.key, e.value, e.reason) for e in failure.errors]


def _readable(*texts: str) -> bool:
    return all(_READABLE.fullmatch(text) for text in texts)


def test_every_real_statement_is_read_and_is_a_statement_of_its_accounts(shared_samples, specs_dir):
    """Each saved statement parses, and with its own accounts configured nothing refuses it."""
    saved = [*(shared_samples / "bank").rglob("*.txt"), *(specs_dir / "fns" / "1c-clientbank").glob("*")]
    assert len(saved) == 9
    for path in saved:
        statement = parse_statement(path.read_bytes())
        assert isinstance(statement, BankStatement), (path.name, statement)
        assert statement.documents and all(d.statement_accounts for d in statement.documents), path.name
        own = {a.account for a in statement.documents[0].statement_accounts}
        assert refuse_foreign(statement.documents, own) == (), path.name


def test_real_utf8_under_a_windows_header_is_read_as_utf8(shared_samples):
    """Tinkoff writes UTF-8 under Кодировка=Windows: read as UTF-8 and accepted (strict UTF-8 is proof)."""
    data = (shared_samples / "bank" / "real" / "odin_palace__taxdev_4645_utf.txt").read_bytes()
    decoded = decode_statement(data)
    assert not isinstance(decoded, StatementFailure)
    assert (decoded.encoding, decoded.errors) == ("utf-8", ())


@pytest.mark.parametrize(
    ("bom", "encoding", "declared"),
    [(b"", "cp1251", "Windows"), (b"", "cp1251", "windows-1251"), (b"", "cp866", "DOS"),
     (b"", "utf-8", "Windows"), (b"", "utf-8", "DOS"), (b"\xef\xbb\xbf", "utf-8", "Windows")],
)
def test_a_header_that_fits_or_utf8_is_read(bom, encoding, declared):
    """The header's code page, or UTF-8 under any header (with or without BOM), reads the document's names."""
    statement = parse_statement(bom + _encoded(encoding, declared))
    assert isinstance(statement, BankStatement), statement
    assert statement.documents[0].payer_name == 'ООО "Ромашка"'
    assert statement.documents[0].purpose == "Оплата по счёту № 2611-00001 за услуги связи"


@pytest.mark.parametrize(
    ("encoding", "declared", "named", "fix"),
    [("cp866", "Windows", "cp866 (DOS)", "DOS"), ("cp1251", "DOS", "cp1251 (Windows)", "Windows"),
     ("cp1251", "KOI8-R", "cp1251 (Windows)", "Windows")],
)
def test_a_code_page_other_than_the_header_says_is_refused_by_name(encoding, declared, named, fix):
    """A cp866 file declared Windows (and the reverse): one error on the Кодировка line naming both."""
    ((line, key, value, reason),) = _errors(_encoded(encoding, declared))
    assert (line, key, value) == (_line("Кодировка"), "Кодировка", declared)
    assert reason.startswith(f"файл в кодировке {named}, а в заголовке указано Кодировка={declared}: ")
    assert reason.endswith(f"исправьте эту строку на Кодировка={fix}")


def test_a_line_retyped_in_utf8_inside_cp1251_is_named_and_read():
    """КонецФайла re-typed in UTF-8 (the issue's «РљРѕРЅРµС†Р¤Р°Р№Р»Р°») is one error, read as КонецФайла."""
    end = _line("КонецФайла")
    errors = _errors(_encoded("cp1251", "Windows", other={end: "utf-8"}))
    assert errors == [(end, "КонецФайла", "", errors[0][3])]
    assert errors[0][3].startswith("строка в кодировке UTF-8, а остальной файл — в cp1251 (Windows): ")


def test_a_cp1251_line_inside_utf8_is_named():
    """The reverse mix: the purpose saved in cp1251 inside a UTF-8 file."""
    purpose = _line("НазначениеПлатежа")
    ((line, key, _, reason),) = _errors(_encoded("utf-8", "Windows", other={purpose: "cp1251"}))
    assert (line, key) == (purpose, "НазначениеПлатежа")
    assert reason.startswith("строка не в кодировке UTF-8, как остальной файл: ")


def test_replacement_characters_in_a_value_are_lost_letters():
    """A name whose letters became U+FFFD is an error on its line: the letters cannot be recovered."""
    damaged = STATEMENT.format(declared="Windows").replace('ООО "Ромашка"', 'ООО "\ufffd\ufffd\ufffd"')
    assert _errors(damaged.encode("utf-8")) == [
        (_line("Плательщик1"), "Плательщик1", 'ООО "\ufffd\ufffd\ufffd"', LOST_LETTERS)
    ]


def test_a_file_full_of_replacement_characters_is_refused_whole():
    """Every letter lost (cp1251 opened as UTF-8 and saved): the file as a whole, with the count."""
    lost = _encoded("cp1251", "Windows").decode("utf-8", errors="replace").encode("utf-8")
    checked = check(lost, "lost.txt")
    assert isinstance(checked, FileError)
    assert checked.reason.startswith("файл испорчен: вместо русских букв в нём ")
    assert "(U+FFFD), впервые в строке 2:" in checked.reason


def test_an_encoding_none_of_three_reads_is_named():
    """KOI8-R: no candidate shows the section keys, and the reason says which were tried."""
    checked = check(STATEMENT.format(declared="Windows").encode("koi8-r", errors="replace"), "koi8.txt")
    assert isinstance(checked, FileError)
    assert checked.reason.startswith("ни в UTF-8, ни в cp1251 (Windows), ни в cp866 (DOS) в файле нет ключей")


@pytest.mark.parametrize("case", sorted(HOSTILE.glob("*.txt")), ids=lambda p: p.name)
def test_no_reason_key_or_value_is_mojibake(case):
    """Whatever is wrong with a hostile file, its report reads as Russian, never as mis-decoded bytes."""
    checked = check(case.read_bytes(), case.name)
    if isinstance(checked, FileError):
        assert _readable(checked.reason)
        return
    errors = checked.errors or refuse_foreign(checked.records, {OURS})
    assert errors
    assert all(_readable(e.column, e.value, e.reason) for e in errors)


def test_a_statement_cut_after_a_document_is_cut():
    """No КонецФайла after a complete document: the file is cut, named at its last line."""
    text = STATEMENT.format(declared="Windows")
    cut = text[: text.index("КонецФайла")]
    ((line, key, value, reason),) = _errors(cut.encode("cp1251"))
    assert (line, key, value) == (_line("КонецДокумента"), "КонецФайла", "")
    assert reason.startswith("файл обрывается без завершающей строки КонецФайла: ")


def test_a_statement_cut_inside_a_document_names_the_section():
    """Cut inside a document: one error, naming the section and the line it began on."""
    text = STATEMENT.format(declared="Windows")
    cut = text[: text.index("НазначениеПлатежа")]
    ((line, key, _, reason),) = _errors(cut.encode("cp1251"))
    assert (line, key) == (_line("Получатель1"), "КонецФайла")
    assert f"внутри секции «Платежное поручение», начатой в строке {_line('СекцияДокумент')}," in reason


def test_a_section_left_open_before_the_end_of_file_is_named():
    """КонецФайла with a document still open: the document's section is not closed."""
    text = STATEMENT.format(declared="Windows").replace("КонецДокумента\n", "")
    assert _errors(text.encode("cp1251")) == [
        (_line("СекцияДокумент"), "Платежное поручение", "", "секция не закрыта до КонецФайла")
    ]


def _documents(data: bytes) -> tuple:
    statement = parse_statement(data)
    assert isinstance(statement, BankStatement), statement
    return statement.documents


def test_a_statement_of_an_account_not_configured_is_refused_with_both_lists():
    """Another account's statement: the section's РасчСчет named, with our configured accounts."""
    documents = _documents(STATEMENT.format(declared="Windows").replace(OURS, OTHER).encode("cp1251"))
    ((error),) = refuse_foreign(documents, {OURS})
    assert (error.line, error.column, error.value) == (_line("РасчСчет=") + 4, "РасчСчет", OTHER)
    assert f"наши счета — {OURS} (company.bank.account и company.other_accounts)" in error.reason
    assert "добавьте его в company.other_accounts" in error.reason
    assert refuse_foreign(documents, {OURS, OTHER}) == ()
    assert [p.account for p in incoming_payments(documents, {OURS, OTHER})] == [OTHER]


def test_a_mixed_statement_stays_and_counts_only_credits_to_our_account(shared_samples):
    """Two accounts in one file, one ours: accepted, and only the credits to ours are payments."""
    data = (shared_samples / "bank" / "real" / "odin_palace__two_accounts.txt").read_bytes()
    documents = _documents(data)
    accounts = sorted({a.account for a in documents[0].statement_accounts})
    assert len(accounts) == 2
    ours, theirs = accounts
    assert refuse_foreign(documents, {ours}) == ()
    payments = incoming_payments(documents, {ours})
    credits = [d for d in documents if d.payee_account == ours and d.payer_account != ours]
    assert [p.number for p in payments] == [d.number for d in credits]
    assert all(p.account == ours for p in payments)
    ((error),) = refuse_foreign(documents, {OURS})
    assert ours in error.value and theirs in error.value


def test_a_document_with_our_account_makes_a_statement_ours():
    """Touched = a section's РасчСчет or a document's payer or payee account: a credit to us is enough."""
    text = STATEMENT.format(declared="Windows").replace("РасчСчет=40702810016540012345", f"РасчСчет={OTHER}")
    documents = _documents(text.encode("cp1251"))
    assert documents[0].payee_account == OURS
    assert refuse_foreign(documents, {OURS}) == ()


@pytest.mark.parametrize("name", ["billdrop_outbox_bank.txt", "erp_payment_file.txt"])
def test_a_payment_file_for_the_bank_is_not_a_statement(name):
    """billdrop's own outbox/bank file and an ERP's upload: refused as payment files, our account marked."""
    documents = _documents((HOSTILE / name).read_bytes())
    ((error),) = refuse_foreign(documents, {OURS})
    assert (error.line, error.column) == (documents[0].line, "СекцияДокумент")
    assert error.reason.startswith("это файл платёжных поручений для загрузки в банк, а не выписка: ")
    assert f"2 платёжки со счёта {OURS} (наш), наши счета — {OURS}" in error.reason


def test_documents_with_bank_dates_are_a_statement_without_balances():
    """A bank that leaves out СекцияРасчСчет still fills ДатаПоступило: a statement, not a payment file."""
    documents = [replace(d, statement_accounts=()) for d in _documents(_encoded("cp1251", "Windows"))]
    assert refuse_foreign(documents, {OURS}) == ()
    ((error),) = refuse_foreign(documents, {OTHER})
    assert error.column == "СекцияДокумент" and OURS in error.value
