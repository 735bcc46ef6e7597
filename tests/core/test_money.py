"""Money: kopeck rounding, VAT per line, allocation."""
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from daemon.core.money import NO_VAT, VatRate, allocate, split_vat, to_kopecks


def test_to_kopecks_rounds_half_up():
    """0.005 goes up, as accountants expect (Decimal's default would go to even)."""
    assert to_kopecks(Decimal("0.005")) == Decimal("0.01")
    assert to_kopecks(Decimal("2.675")) == Decimal("2.68")


def test_vat_included_22_percent():
    """НДС в т.ч. 22 %: 1220.00 holds 220.00."""
    amounts = split_vat(Decimal("1220.00"), VatRate(Decimal(22)), included=True)
    assert (amounts.net, amounts.vat, amounts.gross) == (
        Decimal("1000.00"),
        Decimal("220.00"),
        Decimal("1220.00"),
    )


def test_vat_on_top_rounds_per_line():
    """VAT on top of 3.60 at 5.5 % is 0.20 for the line (odoo#155833's case, rounded per line)."""
    amounts = split_vat(Decimal("3.60"), VatRate(Decimal("5.5")), included=False)
    assert amounts.vat == Decimal("0.20") and amounts.gross == Decimal("3.80")


def test_no_vat_and_zero_rate_carry_no_tax():
    """«Без НДС» and 0 % both give zero VAT but stay different rates."""
    assert split_vat(Decimal(10), NO_VAT, included=True).vat == Decimal("0.00")
    assert split_vat(Decimal(10), VatRate(Decimal(0)), included=False).vat == Decimal("0.00")
    assert NO_VAT.label == "Без НДС" and VatRate(Decimal(0)).label == "0%"


@given(
    total=st.decimals(min_value=0, max_value=10**9, places=2),
    weights=st.lists(st.integers(1, 10**6), min_size=1, max_size=50),
)
def test_allocate_keeps_every_kopeck(total, weights):
    """Parts are whole kopecks and add up to the total exactly."""
    parts = allocate(total, weights)
    assert sum(parts) == total and all(p == to_kopecks(p) for p in parts)


@given(
    gross=st.decimals(min_value=0, max_value=10**9, places=2),
    percent=st.sampled_from([Decimal(5), Decimal(7), Decimal(10), Decimal(20), Decimal(22)]),
)
def test_vat_within_half_a_kopeck(gross, percent):
    """Included VAT is within half a kopeck of the exact fraction and net + VAT = gross."""
    amounts = split_vat(gross, VatRate(percent), included=True)
    exact = gross * percent / (100 + percent)
    assert abs(amounts.vat - exact) <= Decimal("0.005")
    assert amounts.net + amounts.vat == amounts.gross == gross
