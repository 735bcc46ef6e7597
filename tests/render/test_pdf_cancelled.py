"""An annulled document's print form: the same form, under a visible «АННУЛИРОВАН <date>: <reason>» mark."""
from __future__ import annotations

from datetime import datetime

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
