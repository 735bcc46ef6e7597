"""Source schemas: how an export's headers map onto a canonical record (core; the TOML text is passed in)."""
from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass

DEFAULT_MAX_FILE_BYTES = 32 * 1024 * 1024   # ~170,000 rows of a typical charges export (~200 bytes a row)
_HEADER_NOISE = re.compile(r"[\s\u00a0.,;:№#_\-/\\()\[\]\"'«»*]+")


def header_key(text: str) -> str:
    """Headers compare case-, space- and punctuation-insensitively, ё as е: «№ договора» ~ «Договор №»."""
    return _HEADER_NOISE.sub("", text.lower().replace("ё", "е"))


@dataclass(frozen=True)
class FieldSpec:
    name: str
    aliases: tuple[str, ...]
    required: bool = False

    @property
    def keys(self) -> frozenset[str]:
        return frozenset(header_key(a) for a in (self.name, *self.aliases))


@dataclass(frozen=True)
class SourceSchema:
    """One source's mapping: record kind, fields with header aliases, XLSX sheet, totals-row markers."""

    name: str
    record: str
    fields: tuple[FieldSpec, ...]
    sheet: str | None = None
    totals_markers: tuple[str, ...] = ("итого", "всего")
    max_rows: int = 1_000_000
    max_xlsx_bytes: int = 200 * 1024 * 1024
    max_file_bytes: int = DEFAULT_MAX_FILE_BYTES   # larger files are refused unread: memory stays bounded

    @property
    def required(self) -> tuple[FieldSpec, ...]:
        return tuple(f for f in self.fields if f.required)

    @property
    def totals_pattern(self) -> re.Pattern[str]:
        return re.compile(r"^(?:" + "|".join(re.escape(m.lower()) for m in self.totals_markers) + r")\b")


RECORD_KINDS = frozenset({"charge", "payout", "acceptance"})


def parse_schema(toml_text: str, name: str) -> SourceSchema:
    """A schema from its TOML text; raises ValueError naming what is wrong."""
    raw = tomllib.loads(toml_text)
    record = raw.get("record")
    if record not in RECORD_KINDS:
        raise ValueError(f"schema {name}: record must be one of {sorted(RECORD_KINDS)}, not {record!r}")
    fields = tuple(
        FieldSpec(field, tuple(spec.get("aliases", ())), bool(spec.get("required", False)))
        for field, spec in raw.get("fields", {}).items()
    )
    if not fields:
        raise ValueError(f"schema {name}: no [fields.*] tables")
    limits = raw.get("limits", {})
    return SourceSchema(
        name=name,
        record=record,
        fields=fields,
        sheet=raw.get("sheet") or None,
        totals_markers=tuple(raw.get("totals_markers", ("итого", "всего"))),
        max_rows=int(limits.get("max_rows", 1_000_000)),
        max_xlsx_bytes=int(limits.get("max_xlsx_megabytes", 200)) * 1024 * 1024,
        max_file_bytes=int(limits.get("max_file_megabytes", DEFAULT_MAX_FILE_BYTES // 2**20)) * 1024 * 1024,
    )
