"""Print forms: Document → PDF through user-editable Jinja2 templates and WeasyPrint (shell renderer).

One Jinja2 environment, one FontConfiguration and one parsed stylesheet serve every document of the
process (building them per document is what makes naive WeasyPrint use slow); documents of a kind are
laid out together and split into one PDF each; a pool of processes renders on every core.
"""
from __future__ import annotations

import gc
import hashlib
import os
import re
import select
import sys
import threading
from collections.abc import Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from weasyprint import CSS, HTML, Page
from weasyprint import Document as PdfLayout
from weasyprint.document import DocumentMetadata
from weasyprint.html import get_html_metadata
from weasyprint.text.fonts import FontConfiguration

from daemon.core.cancellations import Cancellation
from daemon.core.documents import Document, DocumentKind
from daemon.core.formats import FILTERS
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


def make_environment(templates_dir: Path) -> Environment:
    """The print forms' environment: the filters of `daemon.core.formats`, amounts in words, ОКЕИ codes."""
    env = Environment(
        loader=FileSystemLoader(templates_dir),
        autoescape=select_autoescape(["html", "j2"], default=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(FILTERS, in_words=amount_in_words, okei=lambda unit: okei_code(unit) or "--")
    return env


class PdfRenderer:
    """Renders documents to PDF bytes; build once per process and reuse."""

    def __init__(self, templates_dir: Path) -> None:
        self.templates_dir = templates_dir
        self.env = make_environment(templates_dir)
        self.fonts = FontConfiguration()
        self.stylesheets = [
            CSS(filename=str(templates_dir / "base.css"), font_config=self.fonts),
            CSS(string=_BATCH_CSS, font_config=self.fonts),
        ]

    def html(self, document: Document, company: Company, cancellation: Cancellation | None = None) -> str:
        template = self.env.get_template(TEMPLATES[document.kind])
        return template.render(doc=document, company=company, kind=DocumentKind, cancellation=cancellation)

    def render(self, document: Document, company: Company) -> bytes:
        return self.render_batch([document], company)[0]

    def render_cancelled(self, document: Document, company: Company, cancellation: Cancellation) -> bytes:
        """The document's form again, with its annulment's mark above it."""
        html = HTML(string=self.html(document, company, cancellation), base_url=str(self.templates_dir))
        pdf: bytes = html.write_pdf(stylesheets=self.stylesheets[:1], font_config=self.fonts,
                                    pdf_identifier=_identifier(document))
        return pdf

    def render_batch(self, documents: Sequence[Document], company: Company) -> list[bytes]:
        """One PDF per document, the documents of a kind laid out together (a fifth faster than one by one).

        Same document, same bytes, whatever else shares its batch: no creation date, an identifier from
        kind and number, and each document starts after a forced page break with the body's top margin.
        """
        pdfs: dict[int, bytes] = {}
        for kind in dict.fromkeys(d.kind for d in documents):
            indexes = [i for i, d in enumerate(documents) if d.kind is kind]
            pdfs.update(
                zip(indexes, self._render_kind([documents[i] for i in indexes], company), strict=True)
            )
        return [pdfs[i] for i in range(len(documents))]

    def _render_kind(self, documents: list[Document], company: Company) -> list[bytes]:
        """Documents of one template: one layout, then one PDF per document from its own pages."""
        heads, bodies = zip(*(_split_body(self.html(d, company)) for d in documents), strict=True)
        # The empty first block takes page 1, so every document starts as the later ones do.
        blocks = "".join(f'<div data-document="{i}">{body}</div>' for i, body in enumerate(bodies))
        layout = HTML(
            string=f"{heads[0]}<body><div></div>{blocks}</body></html>", base_url=str(self.templates_dir)
        ).render(stylesheets=self.stylesheets, font_config=self.fonts)
        pages: list[list[Page]] = [[] for _ in documents]
        for page in layout.pages[1:]:
            pages[_document_index(page)].append(page)
        return [
            PdfLayout(own, DocumentMetadata(**get_html_metadata(HTML(string=head))), layout.url_fetcher,
                      self.fonts, layout.color_profiles, layout.output_intent).write_pdf(
                pdf_identifier=_identifier(doc))
            for doc, head, own in zip(documents, heads, pages, strict=True)
        ]


def _identifier(doc: Document) -> bytes:
    """The PDF's identifier, from kind and number: the same document gives the same bytes."""
    return hashlib.md5(f"{doc.kind.value}:{doc.number}".encode()).hexdigest().encode()


# Each document of a batch starts on a new page and keeps the body's top margin and padding, which a
# forced page break would otherwise leave on the batch's first page only.
_BATCH_CSS = "[data-document] { break-before: page; margin-top: inherit; padding-top: inherit }"
_BODY = re.compile(r"<body\b[^>]*>(.*)</body>", re.DOTALL | re.IGNORECASE)


def _split_body(html: str) -> tuple[str, str]:
    """A print form's HTML as what precedes <body> and what is inside it."""
    match = _BODY.search(html)
    if match is None:
        raise ValueError("в шаблоне печатной формы нет <body>…</body>")
    return html[: match.start()], match[1]


def _document_index(page: Page) -> int:
    """Which document of a batch a page belongs to: its first block in <body> is that document's."""
    body = page._page_box.children[0].children[0]
    return int(body.children[0].element.get("data-document"))


_worker_renderer: PdfRenderer | None = None


def _exit_with_daemon(owner: int) -> None:
    """End this worker when `owner`, the daemon, dies, even by SIGKILL. Nothing else would: a worker waits
    for tasks on a queue it holds both ends of, and the forkserver, its parent, lives while any worker
    holds its pipe."""
    if sys.platform != "linux":
        return
    daemon = os.pidfd_open(owner)  # readable once the daemon has exited
    # it may have died before: then the forkserver, our parent, has another parent, and the pid another owner
    with open(f"/proc/{os.getppid()}/stat", encoding="ascii") as stat:
        if int(stat.read().rsplit(")", 1)[1].split()[1]) != owner:
            os._exit(1)
    threading.Thread(target=_exit_when_readable, args=(daemon,), name="exit-with-daemon", daemon=True).start()


def _exit_when_readable(fd: int) -> None:
    select.select([fd], [], [])
    os._exit(1)


def _start_worker(templates_dir: Path, owner: int) -> None:
    # The pool's initializer: a process global is how ProcessPoolExecutor hands a worker its state.
    global _worker_renderer  # noqa: PLW0603
    _exit_with_daemon(owner)
    _worker_renderer = PdfRenderer(templates_dir)
    # WeasyPrint allocates millions of short-lived objects; collecting cycles less often is a tenth
    # faster, and recycling the worker bounds what lingers.
    gc.freeze()
    gc.set_threshold(50_000, 50, 100)


def _render_in_worker(documents: Sequence[Document], company: Company) -> list[bytes]:
    assert _worker_renderer is not None, "worker not initialised"
    return _worker_renderer.render_batch(documents, company)


def _noop() -> None:
    """A task that only makes a worker start."""


class PdfPool:
    """Renders many documents on every core, in batches; a handful render in-process, where a pool would
    only add latency.

    Workers are replaced between calls once each has rendered about `documents_per_worker` documents, so
    WeasyPrint's caches cannot grow without bound (not by `max_tasks_per_child`: on Python 3.11–3.13 the
    pool stops when workers exit at that limit, cpython#115634). They start by forkserver, never by
    forking a process that runs watcher threads.
    """

    def __init__(self, templates_dir: Path, *, workers: int | None = None, documents_per_worker: int = 2000,
                 batch_size: int = 20, inline_below: int = 8) -> None:
        self.local = PdfRenderer(templates_dir)
        self.templates_dir = templates_dir
        self.workers = workers or os.cpu_count() or 1
        self.documents_per_worker = documents_per_worker
        self.batch_size = batch_size
        self.inline_below = inline_below
        self._pool: ProcessPoolExecutor | None = None
        self._rendered_by_pool = 0

    def render(self, document: Document, company: Company) -> bytes:
        return self.local.render(document, company)

    def render_cancelled(self, document: Document, company: Company, cancellation: Cancellation) -> bytes:
        return self.local.render_cancelled(document, company, cancellation)

    def start(self) -> None:
        """Start every worker in the background (each takes a second to load WeasyPrint), so the first
        big file does not wait for them; returns at once."""
        if self.workers >= 2:
            for _ in range(self.workers):
                self._executor().submit(_noop)

    def render_many(self, documents: Sequence[Document], company: Company) -> Iterator[bytes]:
        """PDFs in the order of `documents`, yielded when ready (a month's PDFs need not fit in memory)."""
        if len(documents) < self.inline_below or self.workers < 2:
            yield from self.local.render_batch(documents, company)
            return
        if self._rendered_by_pool >= self.documents_per_worker * self.workers:
            self.close()
        self._rendered_by_pool += len(documents)
        size = min(self.batch_size, -(-len(documents) // self.workers))
        batches = [documents[i : i + size] for i in range(0, len(documents), size)]
        for pdfs in self._executor().map(_render_in_worker, batches, [company] * len(batches)):
            yield from pdfs

    def _executor(self) -> ProcessPoolExecutor:
        if self._pool is None:
            self._pool = ProcessPoolExecutor(
                self.workers, mp_context=get_context("forkserver"), initializer=_start_worker,
                initargs=(self.templates_dir, os.getpid()),
            )
        return self._pool

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown()
            self._pool = None
            self._rendered_by_pool = 0
