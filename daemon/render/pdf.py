"""Print forms: Document → PDF through user-editable Jinja2 templates and WeasyPrint (shell renderer).

One Jinja2 environment, one FontConfiguration and one parsed stylesheet serve every document of the
process: building them per document is what makes naive WeasyPrint use slow.
"""
from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from datetime import date
from multiprocessing import get_context
from decimal import Decimal
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from weasyprint import CSS, HTML
from weasyprint.text.fonts import FontConfiguration

from daemon.core.documents import Document, DocumentKind
from daemon.core.records import Company
from daemon.core.units import okei_code
from daemon.core.words import amount_in_words

TEMPLATES = {
    DocumentKind.INVOICE: "invoice.html.j2",
    DocumentKind.ACT: "act.html.j2",
    DocumentKind.AGENT_ACT: "agent_act.html.j2",
    DocumentKind.UPD: "upd.html.j2",
    DocumentKind.TAX_INVOICE: "tax_invoice.html.j2",
}
MONTHS_GENITIVE = (
    "января", "февраля", "марта", "апреля", "мая", "июня",
    "июля", "августа", "сентября", "октября", "ноября", "декабря",
)


def format_money(value: Decimal) -> str:
    """«3 500,00»: NBSP between thousands, decimal comma."""
    whole, _, frac = f"{value:.2f}".partition(".")
    sign = "-" if whole.startswith("-") else ""
    digits = whole.lstrip("-")
    groups = []
    while digits:
        groups.insert(0, digits[-3:])
        digits = digits[:-3]
    return f"{sign}{chr(0xA0).join(groups)},{frac}"


def format_quantity(value: Decimal) -> str:
    return f"{value.normalize():f}".replace(".", ",")


def format_date_long(value: date) -> str:
    """«1 ноября 2026 г.»"""
    return f"{value.day} {MONTHS_GENITIVE[value.month - 1]} {value.year} г."


def make_environment(templates_dir: Path) -> Environment:
    env = Environment(
        loader=FileSystemLoader(templates_dir),
        autoescape=select_autoescape(["html", "j2"], default=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        money=format_money,
        qty=format_quantity,
        long_date=format_date_long,
        short_date=lambda d: f"{d:%d.%m.%Y}",
        in_words=amount_in_words,
        okei=lambda unit: okei_code(unit) or "--",
    )
    return env


class PdfRenderer:
    """Renders documents to PDF bytes; build once per process and reuse."""

    def __init__(self, templates_dir: Path) -> None:
        self.templates_dir = templates_dir
        self.env = make_environment(templates_dir)
        self.fonts = FontConfiguration()
        self.stylesheet = CSS(filename=str(templates_dir / "base.css"), font_config=self.fonts)

    def html(self, document: Document, company: Company) -> str:
        template = self.env.get_template(TEMPLATES[document.kind])
        return template.render(doc=document, company=company, kind=DocumentKind)

    def render(self, document: Document, company: Company) -> bytes:
        """Same document, same bytes: no creation date, an identifier derived from kind and number."""
        identifier = hashlib.md5(f"{document.kind.value}:{document.number}".encode()).hexdigest().encode()
        return HTML(string=self.html(document, company), base_url=str(self.templates_dir)).write_pdf(
            stylesheets=[self.stylesheet],
            font_config=self.fonts,
            pdf_identifier=identifier,
            uncompressed_pdf=False,
        )


_worker_renderer: PdfRenderer | None = None


def _start_worker(templates_dir: Path) -> None:
    global _worker_renderer
    _worker_renderer = PdfRenderer(templates_dir)


def _render_in_worker(document: Document, company: Company) -> bytes:
    assert _worker_renderer is not None, "worker not initialised"
    return _worker_renderer.render(document, company)


class PdfPool:
    """Renders many documents on every core; a handful render in-process, where a pool would only add latency.

    Workers are recycled after `tasks_per_worker` documents so WeasyPrint's caches cannot grow without
    bound; they start by forkserver, never by forking a process that runs watcher threads.
    """

    def __init__(self, templates_dir: Path, *, workers: int | None = None, tasks_per_worker: int = 500,
                 inline_below: int = 8) -> None:
        self.local = PdfRenderer(templates_dir)
        self.templates_dir = templates_dir
        self.workers = workers or os.cpu_count() or 1
        self.tasks_per_worker = tasks_per_worker
        self.inline_below = inline_below
        self._pool: ProcessPoolExecutor | None = None

    def render(self, document: Document, company: Company) -> bytes:
        return self.local.render(document, company)

    def render_many(self, documents: Sequence[Document], company: Company) -> list[bytes]:
        if len(documents) < self.inline_below or self.workers < 2:
            return [self.local.render(d, company) for d in documents]
        if self._pool is None:
            self._pool = ProcessPoolExecutor(
                self.workers, mp_context=get_context("forkserver"), initializer=_start_worker,
                initargs=(self.templates_dir,), max_tasks_per_child=self.tasks_per_worker,
            )
        chunk = max(1, len(documents) // (self.workers * 4))
        return list(self._pool.map(_render_in_worker, documents, [company] * len(documents), chunksize=chunk))

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown()
            self._pool = None
