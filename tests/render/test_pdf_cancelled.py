"""An annulled document's print form: the same form, under a visible «АННУЛИРОВАН <date>: <reason>» mark."""
from __future__ import annotations

import io
from datetime import datetime

from pypdf import PdfReader

from daemon.core.cancellations import Cancellation
from daemon.core.documents import DocumentKind
from tests.render.test_enterprisedata import VAT22, sample_documents
from tests.workspaces import pdf_text


def test_cancelled_form_carries_the_mark(renderer, company, tmp_path):
    """The mark with its date and reason stands above the unchanged form; the plain render has none."""
    act = next(d for d in sample_documents(VAT22) if d.kind is DocumentKind.ACT)
    cancellation = Cancellation(act.kind, act.number, act.date, act.counterparty.inn, act.total,
                                "ошибка в сумме", datetime(2026, 12, 2, 10, 0))
    marked, plain = tmp_path / "marked.pdf", tmp_path / "plain.pdf"
    marked.write_bytes(renderer.render_cancelled(act, company, cancellation))
    plain.write_bytes(renderer.render(act, company))
    assert pdf_text(marked).startswith(f"АННУЛИРОВАН 02.12.2026: ошибка в сумме Акт № {act.number}")
    assert "АННУЛИРОВАН" not in pdf_text(plain)


def test_mark_shares_the_landscape_page(renderer, company):
    """A cancelled УПД keeps its page count: the mark does not push the landscape form onto a new page."""
    upd = next(d for d in sample_documents(VAT22) if d.kind is DocumentKind.UPD)
    cancellation = Cancellation(upd.kind, upd.number, upd.date, upd.counterparty.inn, upd.total, "дубль",
                                datetime(2026, 12, 2, 10, 0))
    marked = PdfReader(io.BytesIO(renderer.render_cancelled(upd, company, cancellation)))
    plain = PdfReader(io.BytesIO(renderer.render(upd, company)))
    assert len(marked.pages) == len(plain.pages)
    assert "АННУЛИРОВАН" in (marked.pages[0].extract_text() or "")
