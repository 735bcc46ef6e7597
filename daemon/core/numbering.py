"""Document numbers from a format such as `{period:%y%m}-{seq:05}` (core).

The sequence runs per document kind and per everything else the format prints: with
`{period:%y%m}-{seq:05}` it restarts every month, with `{account}-{period:%m%y}-{seq}` per account
and month. That "scope" is the format rendered with the sequence left out.
"""
from __future__ import annotations

import string
from datetime import date

FIELDS = frozenset({"period", "seq", "account", "kind"})
ONEC_NUMBER_LIMIT = 11        # 1C:Бухгалтерия's Номер is String(11)...
ONEC_TAX_INVOICE_LIMIT = 12   # ...and String(12) for СчетФактураВыданный
WORST_CASE_PERIOD = date(2026, 12, 31)


class _SeqPlaceholder:
    def __format__(self, spec: str) -> str:
        return "\x00"


def format_error(fmt: str) -> str | None:
    """Why `fmt` is not a usable number format, or None."""
    try:
        names = {name for _, name, _, _ in string.Formatter().parse(fmt) if name is not None}
    except ValueError as exc:
        return f"неверный формат номера {fmt!r}: {exc}"
    if "seq" not in names:
        return f"формат номера {fmt!r} должен содержать {{seq}}"
    unknown = names - FIELDS
    if unknown:
        return f"формат номера {fmt!r}: неизвестные поля {', '.join(sorted(unknown))}"
    return None


def render_number(fmt: str, *, period: date, seq: int, account: str = "", kind: str = "") -> str:
    return fmt.format(period=period, seq=seq, account=account, kind=kind)


def sequence_scope(fmt: str, *, period: date, account: str = "", kind: str = "") -> str:
    """The part of the number the sequence runs within (the number with `seq` blanked)."""
    return fmt.format(period=period, seq=_SeqPlaceholder(), account=account, kind=kind)


def worst_case_length(fmt: str, *, account_digits: int, kind: str = "") -> int:
    """Longest number `fmt` gives for accounts of up to `account_digits` digits.

    `{seq:05}` is taken at its full width; a bare `{seq}` at one digit (one document per scope,
    as with per-account formats); a longer sequence is caught per document at run time.
    """
    return len(render_number(fmt, period=WORST_CASE_PERIOD, seq=1, account="9" * account_digits, kind=kind))
