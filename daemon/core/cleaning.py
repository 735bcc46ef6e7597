"""Cell text to values: decimal comma, NBSP, Excel serial dates, VAT rates, totals rows (core)."""
from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation

from daemon.core.formats import shortened
from daemon.core.money import NO_VAT, VatRate

_SPACES = re.compile(r"[\s\u00a0\u202f\u2007]+")
_THOUSANDS = re.compile(r"[\s\u00a0\u202f\u2007']")
_NUMBER = re.compile(r"^[+-]?(\d+([.,]\d*)?|[.,]\d+)$")
_EXCEL_EPOCH = date(1899, 12, 30)
_SERIAL = re.compile(r"^\d{4,5}(\.0+)?$")
_DMY = re.compile(r"^(\d{1,2})[./-](\d{1,2})[./-](\d{2}|\d{4})$")
_ISO = re.compile(r"^(\d{4})-(\d{2})-(\d{2})([ T][\d:.]+(?:Z|[+-]\d{2}:?\d{2})?)?$")   # time and zone ignored
_MONTH_YEAR = re.compile(r"^(\d{1,2})[./-](\d{4})$")
_YEAR_MONTH = re.compile(r"^(\d{4})[./-](\d{1,2})$")
_DATE_RANGE = re.compile(r"^(\S+)\s*(?:-|–|—|по)\s*(\S+)$")   # «01.11.2026-30.11.2026» (BGBilling)
_VAT = re.compile(r"^(?:ндс\s*)?(\d+(?:[.,]\d+)?)\s*%?$")
_MONTHS = {
    name: n
    for n, names in enumerate(
        (
            ("январь", "января", "янв"), ("февраль", "февраля", "фев"), ("март", "марта", "мар"),
            ("апрель", "апреля", "апр"), ("май", "мая"), ("июнь", "июня", "июн"), ("июль", "июля", "июл"),
            ("август", "августа", "авг"), ("сентябрь", "сентября", "сен"), ("октябрь", "октября", "окт"),
            ("ноябрь", "ноября", "ноя"), ("декабрь", "декабря", "дек"),
        ),
        start=1,
    )
    for name in names
}
# Characters no output can hold: XML 1.0 forbids C0 controls and these code points, fonts have no glyph
# for C1 controls (they are mojibake anyway), 1C refuses them all.
_FORBIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")
# Invisible format characters (soft hyphen, zero-width spaces and joiners, bidi controls, BOM): removed.
_INVISIBLE = re.compile("[\u00ad\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u206f\ufeff]")
_UNPRINTABLE = re.compile(f"{_FORBIDDEN.pattern}|{_INVISIBLE.pattern}")
TEXT_LIMIT = 1000   # ФНС's longest name fields (НаимОрг, АдрТекст) hold 1000 characters
_NO_VAT_WORDS = {"без ндс", "без налога", "без налога (ндс)", "ндс не облагается", "не облагается", "нет"}


def normalize_text(text: str) -> str:
    """Trim and fold every kind of space (NBSP included) into one plain space."""
    return _SPACES.sub(" ", text).strip()


def clean_text(text: str) -> str:
    """A cell's text as every output can hold it: `normalize_text`d, invisible format characters removed;
    a control character or more than TEXT_LIMIT characters is a ValueError."""
    if forbidden := _FORBIDDEN.search(text):
        code, position = ord(forbidden[0]), forbidden.start() + 1
        raise ValueError(f"недопустимый управляющий символ U+{code:04X} в позиции {position}")
    value = normalize_text(_INVISIBLE.sub("", text))
    if len(value) > TEXT_LIMIT:
        raise ValueError(f"текст длиннее {TEXT_LIMIT} знаков ({len(value)})")
    return value


def shown(text: str, limit: int = 200) -> str:
    """A cell as a report shows it: control and invisible characters as escapes («\\x01»), cut at `limit`."""
    return shortened(_UNPRINTABLE.sub(lambda m: repr(m[0])[1:-1], text), limit)


def parse_decimal(text: str) -> Decimal:
    """«1 234,50», «-5», «3500»; a decimal comma or point; never through float."""
    cleaned = _THOUSANDS.sub("", text.strip()).replace("\u2212", "-").replace("\u2013", "-")
    if not _NUMBER.match(cleaned):
        raise ValueError(f"ожидается число, получено «{text}»")
    try:
        return Decimal(cleaned.replace(",", "."))
    except InvalidOperation:
        raise ValueError(f"ожидается число, получено «{text}»") from None


def _excel_serial(text: str) -> date | None:
    if _SERIAL.match(text):
        serial = int(text.split(".", maxsplit=1)[0])
        if 1 <= serial < 2958466:
            return _EXCEL_EPOCH + timedelta(days=serial)
    return None


def parse_date(text: str) -> date:
    """dd.mm.yyyy, dd.mm.yy, ISO (with a time part), or an Excel serial number."""
    value = text.strip()
    try:
        if m := _DMY.match(value):
            day, month, year = int(m[1]), int(m[2]), int(m[3])
            return date(year + 2000 if year < 100 else year, month, day)
        if m := _ISO.match(value):
            return date(int(m[1]), int(m[2]), int(m[3]))
        if serial := _excel_serial(value):
            return serial
    except ValueError:
        pass
    raise ValueError(f"ожидается дата ДД.ММ.ГГГГ, получено «{text}»")


def parse_period(text: str) -> date:
    """The first day of a month: «11.2026», «2026-11», «01.11.2026», «ноябрь 2026», an Excel serial, or a
    date range inside one month «01.11.2026-30.11.2026»."""
    value = normalize_text(text).lower().removesuffix(" г.").removesuffix(" г")
    if (m := _DATE_RANGE.match(value)) and _DMY.match(m[1]) and _DMY.match(m[2]):
        start, end = parse_date(m[1]), parse_date(m[2])
        if (start.year, start.month) != (end.year, end.month) or end < start:
            raise ValueError(f"период «{text}» должен лежать внутри одного месяца")
        return start.replace(day=1)
    try:
        if m := _MONTH_YEAR.match(value):
            return date(int(m[2]), int(m[1]), 1)
        if m := _YEAR_MONTH.match(value):
            return date(int(m[1]), int(m[2]), 1)
        words = value.split()
        if len(words) == 2 and words[0] in _MONTHS and words[1].isdigit():
            return date(int(words[1]), _MONTHS[words[0]], 1)
        return parse_date(value).replace(day=1)
    except ValueError:
        raise ValueError(f"ожидается период ММ.ГГГГ, получено «{text}»") from None


def parse_vat_rate(text: str) -> VatRate | None:
    """«Без НДС» → NO_VAT; «22%», «22», «НДС 22%» → 22 %; empty → None (the source's default)."""
    value = normalize_text(text).lower()
    if not value:
        return None
    if value in _NO_VAT_WORDS:
        return NO_VAT
    if m := _VAT.match(value):
        return VatRate(Decimal(m[1].replace(",", ".")).normalize())
    raise ValueError(f"неизвестная ставка НДС «{text}»: ожидается «Без НДС» или число процентов")


def excel_cell_text(value: object) -> str:
    """An openpyxl cell value as the text Excel shows: ints plainly, floats shortest, dates ISO."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == datetime.min.time() else value.isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def is_blank(cells: tuple[str, ...]) -> bool:
    return not "".join(cells).strip()


def is_totals_row(cells: tuple[str, ...], markers: tuple[str, ...]) -> bool:
    """A row whose first non-empty cells start with «Итого», «Всего»… (case-insensitive)."""
    texts = [normalize_text(c).lower() for c in cells if c.strip()]
    return any(text.startswith(markers) for text in texts[:3])
