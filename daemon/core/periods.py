"""Billing periods, act periods, pro-rating, and the VAT rates each period knows (core)."""
from __future__ import annotations

import calendar
from datetime import date, timedelta
from decimal import Decimal

from daemon.core.money import VatRate, to_kopecks

# Rates with a validity window (first day, last day or None); «без НДС», 0 % and 10 % have none.
# The general rate: 18 % until 2018, 20 % in 2019–2025, 22 % from 2026; УСН payers' 5 % and 7 % from 2025.
VAT_RATE_PERIODS: dict[Decimal, tuple[date | None, date | None]] = {
    Decimal(18): (None, date(2018, 12, 31)),
    Decimal(20): (date(2019, 1, 1), date(2025, 12, 31)),
    Decimal(22): (date(2026, 1, 1), None),
    Decimal(5): (date(2025, 1, 1), None),
    Decimal(7): (date(2025, 1, 1), None),
}


def month_start(day: date) -> date:
    return day.replace(day=1)


def month_end(day: date) -> date:
    return day.replace(day=calendar.monthrange(day.year, day.month)[1])


def days_in_month(day: date) -> int:
    return calendar.monthrange(day.year, day.month)[1]


def active_days(period: date, active_from: date | None, active_to: date | None) -> int:
    """Days of `period`'s month a service was active, both ends counted; 0 when outside it."""
    first = max(month_start(period), active_from or month_start(period))
    last = min(month_end(period), active_to or month_end(period))
    return max(0, (last - first).days + 1)


def prorate(monthly_fee: Decimal, period: date, active_from: date | None, active_to: date | None) -> Decimal:
    """Monthly fee × active days / days in the month, half-up to kopecks."""
    days = active_days(period, active_from, active_to)
    return to_kopecks(monthly_fee * days / days_in_month(period))


def act_period(registered: date, last_act_end: date | None, until: date) -> tuple[date, date]:
    """An act's period: from registration (no earlier act) or the day after the last act, to `until`."""
    start = registered if last_act_end is None else last_act_end + timedelta(days=1)
    return start, until



def vat_rate_period_problem(rate: VatRate, period: date) -> str | None:
    """Why `rate` did not exist on the first day of the billed `period`, or None when it did."""
    window = VAT_RATE_PERIODS.get(rate.percent) if rate.percent is not None else None
    if window is None:
        return None
    first, last = window
    if first is not None and period < first:
        return f"ставка НДС {rate.label} применяется с {first:%d.%m.%Y}, а период — {period:%m.%Y}"
    if last is not None and period > last:
        return f"ставка НДС {rate.label} применялась по {last:%d.%m.%Y}, а период — {period:%m.%Y}"
    return None
