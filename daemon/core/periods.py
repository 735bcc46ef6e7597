"""Billing periods, act periods and pro-rating (core)."""
from __future__ import annotations

import calendar
from datetime import date, timedelta
from decimal import Decimal

from daemon.core.money import to_kopecks


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

