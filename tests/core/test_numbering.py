"""Numbering formats, sequence scopes and the 1C length check."""
from datetime import date

from daemon.core.numbering import format_error, render_number, sequence_scope, worst_case_length

NOV = date(2026, 11, 1)


def test_default_format():
    """{period:%y%m}-{seq:05} gives 2611-00001."""
    assert render_number("{period:%y%m}-{seq:05}", period=NOV, seq=1) == "2611-00001"


def test_account_format_scopes_per_account_and_period():
    """Per-account formats restart the sequence per account and month."""
    fmt = "{account}-{period:%m%y}-{seq}"
    assert render_number(fmt, period=NOV, seq=1, account="4100") == "4100-1126-1"
    assert sequence_scope(fmt, period=NOV, account="4100") != sequence_scope(fmt, period=NOV, account="4107")
    assert sequence_scope(fmt, period=NOV, account="4100") != sequence_scope(
        fmt, period=date(2026, 12, 1), account="4100"
    )


def test_worst_case_length_flags_long_accounts():
    """A 4-digit account fits 11 characters; a 6-digit one does not."""
    fmt = "{account}-{period:%m%y}-{seq}"
    assert worst_case_length(fmt, account_digits=4) == 11
    assert worst_case_length(fmt, account_digits=6) == 13


def test_format_errors():
    """A format needs {seq} and only known fields."""
    assert format_error("{period:%y%m}") is not None
    assert format_error("{client}-{seq}") is not None
    assert format_error("{period:%y%m}-{seq:05}") is None
