"""Russian identifier checks: ИНН, КПП, БИК, settlement and correspondent accounts, ОГРН (core).

Each function returns a reason in Russian, or None when the value is valid.
"""
from __future__ import annotations

import re

_KPP = re.compile(r"^([0-9][1-9]|[1-9][0-9])[0-9]{2}[0-9A-Z]{2}[0-9]{3}$")
_INN10_WEIGHTS = (2, 4, 10, 3, 5, 9, 4, 6, 8)
_INN11_WEIGHTS = (7, 2, 4, 10, 3, 5, 9, 4, 6, 8)
_INN12_WEIGHTS = (3, 7, 2, 4, 10, 3, 5, 9, 4, 6, 8)
_ACCOUNT_WEIGHTS = (7, 1, 3) * 8   # 23 digits: БИК part + 20-digit account


def _check_digit(digits: str, weights: tuple[int, ...]) -> int:
    # zip stops at the weights on purpose: the digits include the check digits being verified
    return sum(int(d) * w for d, w in zip(digits, weights, strict=False)) % 11 % 10


def inn_error(inn: str) -> str | None:
    if not inn.isdigit() or len(inn) not in (10, 12):
        return "ИНН: ожидается 10 цифр (организация) или 12 цифр (ИП, физлицо)"
    if inn.startswith("00"):   # «0000000000» passes the checksum; ФНС's XSD refuses it
        return "ИНН: код налогового органа 00 не существует"
    if len(inn) == 10:
        valid = _check_digit(inn, _INN10_WEIGHTS) == int(inn[9])
    else:
        valid = (
            _check_digit(inn, _INN11_WEIGHTS) == int(inn[10])
            and _check_digit(inn, _INN12_WEIGHTS) == int(inn[11])
        )
    return None if valid else "ИНН: неверная контрольная сумма"


def kpp_error(kpp: str) -> str | None:
    return None if _KPP.match(kpp) else "КПП: ожидается 9 знаков вида NNNNPPNNN"


def bik_error(bik: str) -> str | None:
    if not (bik.isdigit() and len(bik) == 9):
        return "БИК: ожидается 9 цифр"
    if not bik.startswith(("04", "01")):
        return "БИК: банковский БИК начинается с 04 (казначейский — с 01)"
    return None


def _key_valid(prefix: str, account: str) -> bool:
    # 23 digits against 24 weights: zip stops at the digits, the last weight is never used
    return sum(int(d) * w for d, w in zip(prefix + account, _ACCOUNT_WEIGHTS, strict=False)) % 10 == 0


def account_error(account: str, bik: str) -> str | None:
    """Расчётный счёт: 20 digits whose control key agrees with the БИК's last three digits."""
    if not (account.isdigit() and len(account) == 20):
        return "Расчётный счёт: ожидается 20 цифр"
    if bik_error(bik) is None and not _key_valid(bik[-3:], account):
        return "Расчётный счёт: не сходится контрольный ключ с БИК"
    return None


def corr_account_error(corr: str, bik: str) -> str | None:
    """Корр. счёт: 20 digits starting 301, keyed with "0" + БИК digits 5–6."""
    if not (corr.isdigit() and len(corr) == 20):
        return "Корр. счёт: ожидается 20 цифр"
    if bik_error(bik) is None and not _key_valid("0" + bik[4:6], corr):
        return "Корр. счёт: не соответствует БИК"
    return None


def ogrn_error(ogrn: str) -> str | None:
    """ОГРН (13 digits, mod 11) or ОГРНИП (15 digits, mod 13); the check is the remainder's last digit."""
    if not ogrn.isdigit() or len(ogrn) not in (13, 15):
        return "ОГРН: ожидается 13 цифр (ОГРН) или 15 цифр (ОГРНИП)"
    modulus = 11 if len(ogrn) == 13 else 13
    return None if int(ogrn[:-1]) % modulus % 10 == int(ogrn[-1]) else "ОГРН: неверная контрольная цифра"
