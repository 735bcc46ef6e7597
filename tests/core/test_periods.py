"""Periods: pro-rating and act periods."""
from datetime import date
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from daemon.core.money import VatRate
from daemon.core.periods import act_period, active_days, prorate, vat_rate_period_problem


def test_prorate_counts_both_ends():
    """Connected on 02.11: 29 of 30 days of 590.00 is 570.33 (the sample's line)."""
    assert prorate(Decimal("590.00"), date(2026, 11, 1), date(2026, 11, 2), None) == Decimal("570.33")


def test_prorate_removed_mid_month():
    """Active 01.11–11.11: 11 of 30 days of 15 000 is 5 500."""
    part = prorate(Decimal(15000), date(2026, 11, 1), date(2026, 11, 1), date(2026, 11, 11))
    assert part == Decimal("5500.00")


def test_whole_month_gives_full_fee():
    """No dates: the whole fee."""
    assert prorate(Decimal("1200.00"), date(2026, 2, 1), None, None) == Decimal("1200.00")


def test_dates_outside_month_give_nothing():
    """A service active only in another month has zero days in this one."""
    assert active_days(date(2026, 11, 1), date(2026, 12, 1), None) == 0


@given(
    fee=st.decimals(min_value=0, max_value=10**6, places=2),
    month=st.integers(1, 12),
    split=st.integers(1, 27),
)
def test_split_month_adds_up_within_a_kopeck(fee, month, split):
    """Two halves of a month add up to the fee (within the one kopeck two roundings can lose)."""
    period = date(2026, month, 1)
    first = prorate(fee, period, None, date(2026, month, split))
    second = prorate(fee, period, date(2026, month, split + 1), None)
    assert abs(first + second - fee) <= Decimal("0.01")


def test_act_period_new_counterparty_starts_at_registration():
    """No earlier act: from registration to the payout date."""
    assert act_period(date(2026, 3, 1), None, date(2026, 11, 20)) == (date(2026, 3, 1), date(2026, 11, 20))


def test_act_period_known_counterparty_starts_after_last_act():
    """An earlier act ended 20.11: the next starts 21.11."""
    assert act_period(date(2026, 3, 1), date(2026, 11, 20), date(2026, 11, 24)) == (
        date(2026, 11, 21),
        date(2026, 11, 24),
    )


def test_vat_rates_by_period_follow_the_tax_code():
    """18 % to 2018, 20 % 2019–2025, 22 % from 2026, УСН 5 %/7 % from 2025; 0 %, 10 %, без НДС always."""
    def valid(percent: int | None, year: int, month: int) -> bool:
        rate = VatRate(None if percent is None else Decimal(percent))
        return vat_rate_period_problem(rate, date(year, month, 1)) is None

    assert valid(18, 2018, 12) and not valid(18, 2019, 1)
    assert not valid(20, 2018, 12) and valid(20, 2019, 1) and valid(20, 2025, 12) and not valid(20, 2026, 1)
    assert not valid(22, 2025, 12) and valid(22, 2026, 1)
    assert not valid(5, 2024, 12) and valid(5, 2025, 1) and valid(7, 2026, 11)
    assert all(valid(p, 2017, 1) and valid(p, 2026, 11) for p in (None, 0, 10))
    assert "с 01.01.2026" in (vat_rate_period_problem(VatRate(Decimal(22)), date(2025, 12, 1)) or "")
