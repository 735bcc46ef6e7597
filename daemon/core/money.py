"""Money arithmetic in Decimal roubles, rounded half-up to kopecks (core)."""
from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

KOPECK = Decimal("0.01")
HUNDRED = Decimal(100)


def to_kopecks(amount: Decimal) -> Decimal:
    """Round to kopecks, half up (the decimal module's default is half even)."""
    return amount.quantize(KOPECK, rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class VatRate:
    """A VAT rate (ставка НДС): `percent` None means «без НДС»; 0 is a real 0 % rate."""

    percent: Decimal | None

    @property
    def label(self) -> str:
        """As printed on forms: «Без НДС», «0%», «22%»."""
        if self.percent is None:
            return "Без НДС"
        return f"{self.percent.normalize():f}%"

    @property
    def exempt(self) -> bool:
        return self.percent is None


NO_VAT = VatRate(None)


@dataclass(frozen=True)
class LineAmounts:
    """One line's amounts after VAT: net (без НДС), VAT and gross (с НДС), each in kopecks."""

    net: Decimal
    vat: Decimal
    gross: Decimal


def split_vat(amount: Decimal, rate: VatRate, *, included: bool) -> LineAmounts:
    """VAT of one line, computed per line and rounded once.

    included=True: `amount` is gross and VAT is amount*rate/(100+rate) (НДС в т.ч.);
    included=False: `amount` is net and VAT is amount*rate/100 on top.
    """
    amount = to_kopecks(amount)
    if rate.percent is None or rate.percent == 0:
        return LineAmounts(net=amount, vat=Decimal("0.00"), gross=amount)
    if included:
        vat = to_kopecks(amount * rate.percent / (HUNDRED + rate.percent))
        return LineAmounts(net=amount - vat, vat=vat, gross=amount)
    vat = to_kopecks(amount * rate.percent / HUNDRED)
    return LineAmounts(net=amount, vat=vat, gross=amount + vat)


def allocate(total: Decimal, weights: list[int]) -> list[Decimal]:
    """Split `total` into kopeck parts proportional to `weights` that add up exactly (largest remainder)."""
    if not weights or sum(weights) <= 0:
        raise ValueError("allocate needs positive weights")
    kopecks = int(to_kopecks(total) / KOPECK)
    whole = sum(weights)
    shares = [kopecks * w // whole for w in weights]
    remainders = sorted(range(len(weights)), key=lambda i: (-(kopecks * weights[i] % whole), i))
    for i in remainders[: kopecks - sum(shares)]:
        shares[i] += 1
    return [Decimal(s) * KOPECK for s in shares]
