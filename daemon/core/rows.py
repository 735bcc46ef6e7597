"""Row-by-row validation of a RawTable with a pydantic model, every error collected (core).

Used by the sources whose rows stand alone (payouts, acceptances); `build` applies the rules that tie
fields together and returns the record or (field, reason) pairs.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ValidationError

from daemon.core.cleaning import is_blank
from daemon.core.reading import RawTable
from daemon.core.report import RowError
from daemon.core.schema import SourceSchema
from daemon.core.validation import _columns, _error_message


@dataclass(frozen=True)
class RowsValidated:
    records: tuple[Any, ...]
    errors: tuple[RowError, ...]
    ignored_columns: tuple[str, ...]


Build = Callable[[Any, int], Any]   # (parsed row, line) → record | list[(field, reason)]


def validate_rows(table: RawTable, schema: SourceSchema, model: type[BaseModel], build: Build) -> RowsValidated:
    columns, ignored = _columns(table, schema)
    header_of = {field: table.headers[index] for field, index in columns.items()}
    records, errors = [], []
    for row in table.rows:
        if is_blank(row.cells):
            continue
        cells = {field: row.cells[index] for field, index in columns.items()}
        try:
            parsed = model.model_validate(cells)
        except ValidationError as exc:
            errors.extend(
                RowError(row.line, header_of.get(err["loc"][0], str(err["loc"][0])),
                         cells.get(err["loc"][0], ""), _error_message(err))
                for err in exc.errors()
            )
            continue
        result = build(parsed, row.line)
        if isinstance(result, list):
            errors.extend(RowError(row.line, header_of.get(f, f), cells.get(f, ""), reason) for f, reason in result)
        else:
            records.append(result)
    return RowsValidated(tuple(records), tuple(errors), ignored)
