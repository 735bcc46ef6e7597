"""Personal names as the ФНС formats take them: ФИО of a director, an ИП or a person (core)."""
from __future__ import annotations

import re
from dataclasses import dataclass

from daemon.core.records import Counterparty, LegalForm

_ENTREPRENEUR = re.compile(r"^\s*(ИП|индивидуальный\s+предприниматель)\s+", re.IGNORECASE)
_NAME_PART = re.compile(r"[^\s.]+\.?")


@dataclass(frozen=True)
class PersonName:
    """ФИО: Фамилия, Имя, Отчество (absent parts are None)."""

    surname: str
    first_name: str | None
    patronymic: str | None

    @property
    def has_initials(self) -> bool:
        return any(part.endswith(".") for part in (self.first_name or "", self.patronymic or ""))


def parse_person_name(name: str) -> PersonName:
    """ФИО from «Иванов Иван Иванович», «Иванов И. И.», «Иванов И.И.»; the rest after the name is Отчество."""
    parts = _NAME_PART.findall(name)
    return PersonName(
        surname=parts[0] if parts else name.strip(),
        first_name=parts[1] if len(parts) > 1 else None,
        patronymic=" ".join(parts[2:]) or None,
    )


def person_name(party: Counterparty) -> PersonName:
    """The ФИО of an ИП (after «ИП » or «Индивидуальный предприниматель ») or of a person."""
    if party.legal_form is LegalForm.ENTREPRENEUR:
        return parse_person_name(_ENTREPRENEUR.sub("", party.name))
    return parse_person_name(party.name)
