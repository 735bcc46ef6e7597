"""Units of measure (единицы измерения) and their ОКЕИ codes (core)."""
from __future__ import annotations

DEFAULT_UNIT = "мес"
# ОК 015-94 codes of the units billing exports use; ОКЕИ has no «услуга», so none is invented here.
OKEI_CODES = {
    "мес": "362",
    "шт": "796",
    "усл. ед": "876",
    "усл": "876",
    "ч": "356",
    "час": "356",
    "сут": "359",
    "дн": "359",
    "год": "366",
}


def okei_code(unit: str) -> str | None:
    """The ОКЕИ code of a unit as written («мес», «шт.», «Час»), or None when the table has none."""
    return OKEI_CODES.get(unit.strip().lower().rstrip("."))
