"""What every source's check returns, and row-by-row validation with a pydantic model (core).

`validate_rows` serves the sources whose rows stand alone (payouts, acceptances); `build` applies the
rules that tie fields together and returns the record or (field, reason) pairs.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ValidationError

from daemon.core.cleaning import is_blank
from daemon.core.reading import RawTable
from daemon.core.report import RowError
from daemon.core.schema import SourceSchema, header_key

R = TypeVar("R")
MISSING_COLUMN = "обязательная колонка отсутствует в файле"


@dataclass(frozen=True)
class Checked(Generic[R]):
    """A file's records and every error found in it, with how its headers were read."""

    records: tuple[R, ...]
    errors: tuple[RowError, ...]
    mapped: tuple[tuple[str, str], ...] = ()   # (header as the file names it, field)
    ignored: tuple[str, ...] = ()              # headers no field claims


Build = Callable[[Any, int], Any]   # (parsed row, line) → record | list[(field, reason)]


def columns_of(table: RawTable, schema: SourceSchema) -> tuple[dict[str, int], tuple[str, ...]]:
    """Field name → column index (first matching header), and the headers no field claims."""
    by_key: dict[str, int] = {}
    for index, header in enumerate(table.headers):
        by_key.setdefault(header_key(header), index)
    columns = {}
    for spec in schema.fields:
        hits = [by_key[k] for k in spec.keys if k in by_key]
        if hits:
            columns[spec.name] = min(hits)
    claimed = set(columns.values())
    ignored = tuple(h for i, h in enumerate(table.headers) if i not in claimed and h.strip())
    return columns, ignored


def validate_rows(
    table: RawTable, schema: SourceSchema, model: type[BaseModel], build: Build
) -> Checked[Any]:
    columns, ignored = columns_of(table, schema)
    header_of = {field: table.headers[index] for field, index in columns.items()}
    records: list[Any] = []
    errors: list[RowError] = []
    for row in table.rows:
        if is_blank(row.cells):
            continue
        cells = {field: row.cells[index] for field, index in columns.items()}
        try:
            parsed = model.model_validate(cells)
        except ValidationError as exc:
            for err in exc.errors():
                field = str(err["loc"][0])  # a model validated from a dict: the loc is a field name
                errors.append(
                    RowError(row.line, header_of.get(field, field), cells.get(field, ""), _reason(err))
                )
            continue
        result = build(parsed, row.line)
        if isinstance(result, list):
            errors.extend(
                RowError(row.line, header_of.get(f, f), cells.get(f, ""), reason) for f, reason in result
            )
        else:
            records.append(result)
    return Checked(tuple(records), tuple(errors), tuple((h, f) for f, h in header_of.items()), ignored)


def _reason(error: Any) -> str:
    """pydantic's message for the operator: our parsers' Russian reasons, a missing column named so."""
    return MISSING_COLUMN if error["type"] == "missing" else str(error["msg"]).removeprefix("Value error, ")
