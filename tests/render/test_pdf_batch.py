"""Print forms rendered in batches and in the process pool: each PDF is, byte for byte, the one made alone."""
from __future__ import annotations

import io
from decimal import Decimal
from multiprocessing import active_children

from pypdf import PdfReader

from daemon.config import builtin_dir
from daemon.core.documents import DocumentKind
from daemon.core.money import VatRate
from daemon.render.pdf import PdfPool
from tests.render.test_enterprisedata import ROMASHKA, document, line, sample_documents

VAT22 = VatRate(Decimal(22))


def mixed_documents() -> list:
    """Every kind of form, and a multi-page invoice among one-page ones."""
    long_invoice = document(
        DocumentKind.INVOICE,
        "2611-00099",
        ROMASHKA,
        tuple(line(n, "100.00", VAT22, included=False) for n in range(1, 61)),
        included=False,
    )
    return [*sample_documents(VAT22), long_invoice, *sample_documents(VAT22)[:2]]


def test_batch_gives_each_document_its_own_bytes(renderer, company):
    """A batch of mixed kinds yields, in order, the bytes of each document rendered alone, pages and all."""
    documents = mixed_documents()
    batch = renderer.render_batch(documents, company)
    assert batch == [renderer.render(d, company) for d in documents]
    pages = [len(PdfReader(io.BytesIO(pdf)).pages) for pdf in batch]
    assert pages[len(sample_documents(VAT22))] > 1 and pages.count(1) >= 4


def test_pool_renders_in_order_with_the_same_bytes(renderer, company):
    """Many documents go to worker processes in batches and come back in order, as rendered alone."""
    documents = mixed_documents()
    pool = PdfPool(builtin_dir("templates") / "pdf", workers=2, batch_size=3, inline_below=4)
    try:
        assert list(pool.render_many(documents, company)) == [renderer.render(d, company) for d in documents]
    finally:
        pool.close()


def test_pool_replaces_its_workers_and_keeps_rendering(renderer, company):
    """Past `documents_per_worker` each, the workers are replaced between calls and rendering goes on
    (with `max_tasks_per_child` the pool stalled for good once both workers reached the limit)."""
    documents = mixed_documents()
    expected = [renderer.render(d, company) for d in documents]
    pool = PdfPool(
        builtin_dir("templates") / "pdf",
        workers=2,
        batch_size=2,
        inline_below=2,
        documents_per_worker=len(documents),
    )
    workers = []
    try:
        for _ in range(3):
            assert list(pool.render_many(documents, company)) == expected
            workers.append({p.pid for p in active_children()})
    finally:
        pool.close()
    assert workers[0] and workers[0] <= workers[1]
    assert workers[2] and workers[2].isdisjoint(workers[1])
