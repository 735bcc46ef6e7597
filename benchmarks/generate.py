"""Generated charges exports in the ISP sample's format (cp1251, `;`, decimal comma) for benches and tests."""
from __future__ import annotations

import random
from datetime import date
from decimal import Decimal

HEADER = (
    "Договор;Лицевой счет;Клиент;ИНН;КПП;Email;ID сервиса;Адрес подключения;Услуга;Период;"
    "Дата подключения;Дата отключения;Абонплата;Сумма;Ставка НДС"
)
SERVICES = (
    ("Доступ в интернет, тариф «Бизнес 100»", Decimal("3500.00")),
    ("Аренда статического IP-адреса", Decimal("250.00")),
    ("IP-телефония, номер (343) 2xx-xx-xx", Decimal("590.00")),
    ("Видеонаблюдение, облачный архив 30 дней", Decimal("1200.00")),
)
STREETS = ("ул. Ленина", "пр-т Мира", "ул. Гагарина", "ул. Малышева", "ул. 8 Марта", "Сибирский тракт")


def legal_inn(serial: int) -> str:
    """A valid 10-digit ИНН (an organisation's) from a serial number."""
    body = f"66{serial:07d}"[-9:]
    weights = (2, 4, 10, 3, 5, 9, 4, 6, 8)
    check = sum(int(d) * w for d, w in zip(body, weights, strict=True)) % 11 % 10
    return body + str(check)


def _money(value: Decimal) -> str:
    return f"{value:.2f}".replace(".", ",")


def charges_csv(
    contracts: int, services_per_contract: int = 3, period: date = date(2026, 11, 1), seed: int = 1
) -> bytes:
    """A month's export: `contracts` contracts of `services_per_contract` lines, a title, a totals row."""
    rng = random.Random(seed)
    lines = [f"Выгрузка начислений за {period:%m.%Y} (сгенерировано)", "", HEADER]
    total = Decimal("0.00")
    for n in range(contracts):
        inn = legal_inn(n + 1)
        for s in range(services_per_contract):
            name, fee = SERVICES[(n + s) % len(SERVICES)]
            address = f"г. Екатеринбург, {rng.choice(STREETS)}, д. {rng.randint(1, 150)}"
            total += fee
            lines.append(
                f"Д-{n:06d};{100000 + n};ООО «Клиент {n}»;{inn};667001001;buh{n}@client.example.ru;"
                f"{n * 10 + s};{address};{name};{period:%m.%Y};;;{_money(fee)};{_money(fee)};Без НДС"
            )
    lines.append(f"Итого;;;;;;;;;;;;;{_money(total)};")
    return ("\r\n".join(lines) + "\r\n").encode("cp1251")
