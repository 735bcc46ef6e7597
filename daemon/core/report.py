"""Row errors and the quarantine report: JSON for machines, HTML and XLSX for people (core)."""
from __future__ import annotations

import hashlib
import io
import json
import re
from dataclasses import asdict, dataclass
from html import escape

from openpyxl import Workbook

from daemon.core.cleaning import shown
from daemon.core.formats import plural

REPORT_ROW_CAP = 200
# A quarantined file `x.csv` lies beside its report as `x.csv.errors.json`, `.errors.html` and `.errors.xlsx`.
ERRORS_JSON = ".errors.json"
ERRORS_HTML = ".errors.html"
ERRORS_XLSX = ".errors.xlsx"
SIDECAR_SUFFIXES = (ERRORS_JSON, ERRORS_HTML, ERRORS_XLSX)
ERROR_FORMS = ("ошибка", "ошибки", "ошибок")
# A sidecar is written through a temp name ".<sidecar>.<pid>.tmp" that must stay within the 255 bytes
# filesystems allow, whatever the length of the quarantined file's name.
SIDECAR_MAX_BYTES = 200
# What a name cannot show as is: bytes that are not UTF-8 (os.fsdecode turns each into a lone surrogate,
# which SQLite, JSON files and mail refuse) and control characters.
_UNPRINTABLE = re.compile(r"[\udc80-\udcff\x00-\x1f\x7f-\x9f]")


def display_name(name: str) -> str:
    """A file name as reports, the store and logs show it: «отчёт\\xff.csv» for a name with byte 0xFF.

    Valid UTF-8 names stay as they are; a byte that is not UTF-8, or a control character, is shown as
    \\xNN, so the result is plain text that can be stored and mailed.
    """
    return _UNPRINTABLE.sub(lambda m: f"\\x{ord(m[0]) & 0xFF:02x}", name)


def sidecar_name(name: str, suffix: str) -> str:
    """The name of a quarantined file's report in one format: «x.csv» → «x.csv.errors.json».

    A name that is not plain text or too long is shown escaped and shortened, with a hash of the
    original so that two long names never share a report: «ддд…ддд~1a2b3c4d5e6f.errors.json».
    """
    if suffix not in SIDECAR_SUFFIXES:
        raise ValueError(f"not a quarantine report suffix: {suffix!r}")
    shown = display_name(name)
    if shown == name and len((name + suffix).encode()) <= SIDECAR_MAX_BYTES:
        return name + suffix
    tail = f"~{hashlib.sha256(name.encode('utf-8', 'surrogateescape')).hexdigest()[:12]}{suffix}"
    stem = shown.encode()[: SIDECAR_MAX_BYTES - len(tail)].decode(errors="ignore")
    return stem + tail


def is_sidecar(name: str) -> bool:
    """Whether a file in quarantine is a report beside a quarantined file rather than the file itself."""
    return any(name.endswith(suffix) and len(name) > len(suffix) for suffix in SIDECAR_SUFFIXES)


@dataclass(frozen=True)
class RowError:
    """One bad cell: row as Excel shows it (header = its own line), column as the file names it."""

    line: int
    column: str
    value: str    # as shown: control characters escaped, long text cut (every surface can hold it)
    reason: str   # for the operator, in Russian

    def __post_init__(self) -> None:
        object.__setattr__(self, "value", shown(self.value))


@dataclass(frozen=True)
class FileReport:
    """Why a file was rejected: a file-level reason, or its row errors (capped, with the full count)."""

    file_name: str
    source: str
    reason: str
    errors: tuple[RowError, ...]
    total_errors: int

    @classmethod
    def for_file(cls, file_name: str, source: str, reason: str) -> FileReport:
        """`file_name` as it is on disk: the report shows it with display_name."""
        return cls(display_name(file_name), source, reason, (), 1)

    @classmethod
    def for_rows(cls, file_name: str, source: str, errors: list[RowError]) -> FileReport:
        ordered = sorted(errors, key=lambda e: (e.line, e.column))
        reason = f"{plural(len(errors), *ERROR_FORMS)} в строках" if errors else ""
        return cls(display_name(file_name), source, reason, tuple(ordered[:REPORT_ROW_CAP]), len(errors))

    def as_text(self) -> str:
        if not self.total_errors:
            return f"{self.file_name}: ошибок нет"
        lines = [f"{self.file_name}: {self.reason}"]
        lines += [
            f"  строка {e.line}, столбец «{e.column}», значение «{e.value}»: {e.reason}" for e in self.errors
        ]
        if self.errors and self.total_errors > len(self.errors):
            lines.append(f"  … и ещё {plural(self.total_errors - len(self.errors), *ERROR_FORMS)}")
        return "\n".join(lines)


def report_json(report: FileReport) -> bytes:
    data = {
        "file": report.file_name,
        "source": report.source,
        "reason": report.reason,
        "total_errors": report.total_errors,
        "errors": [asdict(e) for e in report.errors],
    }
    return json.dumps(data, ensure_ascii=False, indent=2).encode("utf-8")


def report_html(report: FileReport) -> bytes:
    """A self-contained page; every value is escaped, so a cell like `=HYPERLINK(…)` stays inert text."""
    rows = "".join(
        f"<tr><td>{e.line}</td><td>{escape(e.column)}</td><td><code>{escape(e.value)}</code></td>"
        f"<td>{escape(e.reason)}</td></tr>"
        for e in report.errors
    )
    more = report.total_errors - len(report.errors)
    shown = len(report.errors)
    more_note = (
        f"<p>… и ещё {plural(more, *ERROR_FORMS)} (показаны первые {shown}).</p>" if more > 0 and rows else ""
    )
    table = (
        "<table><thead><tr><th>Строка</th><th>Столбец</th><th>Значение</th><th>Причина</th></tr></thead>"
        f"<tbody>{rows}</tbody></table>"
        if rows
        else ""
    )
    page = f"""<!doctype html>
<html lang="ru"><head><meta charset="utf-8"><title>Ошибки: {escape(report.file_name)}</title>
<style>body{{font-family:sans-serif;margin:2em}}table{{border-collapse:collapse}}
td,th{{border:1px solid #999;padding:4px 8px;text-align:left;vertical-align:top}}th{{background:#eee}}</style>
</head><body>
<h1>Файл не обработан</h1>
<p>Файл: <b>{escape(report.file_name)}</b>, источник: <b>{escape(report.source)}</b></p>
<p>{escape(report.reason)}</p>
{table}{more_note}
<p>Устраните причину — ошибки в строках файла или его расхождение с уже выпущенными документами,
как сказано выше, — и положите файл в папку снова. Ни один документ по нему не выпущен.</p>
</body></html>
"""
    return page.encode("utf-8")


# What Excel would evaluate or act on (CSV/formula injection).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
XLSX_HEADERS = ("Строка", "Столбец", "Значение", "Причина")


def report_xlsx(report: FileReport) -> bytes:
    """The errors as a sheet the operator can sort and filter. Every cell is text: a value such as
    `=HYPERLINK(…)` is stored as a string with Excel's quote prefix, never as a formula."""
    book = Workbook()
    sheet = book.worksheets[0]   # a new workbook has one sheet, its active one
    sheet.title = "Ошибки"
    rows: list[tuple[int | str, str, str, str]] = [(report.file_name, report.source, report.reason, ""),
                                                    XLSX_HEADERS]
    rows += [(e.line, e.column, e.value, e.reason) for e in report.errors]
    for values in rows:
        sheet.append(values)
    for row in sheet.iter_rows():
        for cell in row:
            if isinstance(cell.value, str) and cell.value.startswith(FORMULA_STARTS):
                cell.data_type = "s"
                cell.quotePrefix = True
    for column, width in zip("ABCD", (8, 24, 32, 80), strict=True):
        sheet.column_dimensions[column].width = width
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def report_sidecars(report: FileReport) -> dict[str, bytes]:
    """The report in every format, by suffix, in the order to write them (JSON, the machine record, first)."""
    return {ERRORS_JSON: report_json(report), ERRORS_HTML: report_html(report),
            ERRORS_XLSX: report_xlsx(report)}
