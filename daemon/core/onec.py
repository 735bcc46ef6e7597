"""What 1C:Бухгалтерия accepts: the EnterpriseData versions and the VAT rates each can carry (core).

The number lengths 1C loads are in daemon.core.numbering."""
from __future__ import annotations

from decimal import Decimal

from daemon.core.money import VatRate

SUPPORTED_VERSIONS = ("1.11", "1.17", "1.20", "1.22")
# VAT rate → (ВидСтавки from 1.17 on, the СтавкиНДС enum value up to 1.16 or None where it has none).
# 1C:Бухгалтерия picks its rate by Ставка; ВидСтавки is required by the schema (NOTES §2.4).
VAT_RATES: dict[Decimal | None, tuple[str, str | None]] = {
    None: ("БезНДС", "БезНДС"),
    Decimal(0): ("Нулевая", "НДС0"),
    Decimal(5): ("Пониженная", None),
    Decimal(7): ("Пониженная", None),
    Decimal(10): ("Пониженная", "НДС10"),
    Decimal(18): ("Общая", "НДС18"),
    Decimal(20): ("Общая", "НДС20"),
    Decimal(22): ("Общая", None),
}


def version_at_least(version: str, minimum: str) -> bool:
    """EnterpriseData versions compare as numbers: 1.20 is after 1.17."""
    return tuple(map(int, version.split("."))) >= tuple(map(int, minimum.split(".")))


def vat_rate_problem(rate: VatRate, version: str) -> str | None:
    """Why EnterpriseData `version` cannot carry `rate`, or None when it can."""
    names = VAT_RATES.get(rate.percent)
    if names is None:
        return f"ставка НДС {rate.label} не поддерживается форматом EnterpriseData"
    if names[1] is None and not version_at_least(version, "1.17"):
        return f"ставка НДС {rate.label} требует формата EnterpriseData 1.17 или новее (выбран {version})"
    return None
