"""`make bench`: a generated month end to end, plus parse/validate and PDF figures, each beside its target."""
from __future__ import annotations

import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.generate import charges_csv  # noqa: E402
from daemon.config import builtin_dir  # noqa: E402
from daemon.core.reading import read_table  # noqa: E402
from daemon.core.schema import parse_schema  # noqa: E402
from daemon.core.validation import validate_table  # noqa: E402
from tests.workspaces import make_workspace  # noqa: E402


def _row(name: str, value: str, target: str) -> None:
    print(f"  {name:<44} {value:>18}   target {target}")


def parse_rate(rows: int) -> float:
    schema = parse_schema((builtin_dir("inbox_schemas") / "charges.toml").read_text(encoding="utf-8"), "charges")
    data = charges_csv(contracts=rows // 3, services_per_contract=3)
    started = time.perf_counter()
    validated = validate_table(read_table(data, "bench.csv", schema), schema)
    elapsed = time.perf_counter() - started
    assert not validated.errors, validated.errors[:3]
    return len(validated.records) / elapsed


def pdf_speed(tmp: Path) -> tuple[float, float, float]:
    """ms per document: a naive `HTML(string).write_pdf()` per act, one reused renderer, and the pool."""
    from weasyprint import CSS, HTML

    from daemon.config import load_settings
    from daemon.core.documents import DocumentKind, IssueRules, Ledger, plan_charge_documents
    from daemon.core.money import NO_VAT
    from daemon.render.pdf import PdfPool

    company = load_settings(make_workspace(tmp / "pdf").root).company.to_company()
    schema = parse_schema((builtin_dir("inbox_schemas") / "charges.toml").read_text(encoding="utf-8"), "charges")
    records = validate_table(read_table(charges_csv(100, 3), "b.csv", schema), schema).records
    fmt = "{period:%y%m}-{seq:05}"
    kinds = (DocumentKind.INVOICE, DocumentKind.ACT)
    docs = list(plan_charge_documents(records, Ledger({}, {}, {}), IssueRules(kinds, {k: fmt for k in kinds}, NO_VAT, True, 10)).documents)
    templates = builtin_dir("templates") / "pdf"
    pool = PdfPool(templates)
    acts = [d for d in docs if d.kind is DocumentKind.ACT][:20]
    started = time.perf_counter()
    for doc in acts:
        HTML(string=pool.local.html(doc, company), base_url=str(templates)).write_pdf(
            stylesheets=[CSS(filename=str(templates / "base.css"))])
    naive = (time.perf_counter() - started) / len(acts)
    started = time.perf_counter()
    for doc in acts:
        pool.local.render(doc, company)
    reused = (time.perf_counter() - started) / len(acts)
    pool.render_many(docs[:16], company)  # start the workers
    started = time.perf_counter()
    pool.render_many(docs, company)
    pooled = (time.perf_counter() - started) / len(docs)
    pool.close()
    return naive * 1000, reused * 1000, pooled * 1000


def end_to_end(contracts: int, tmp: Path) -> dict:
    """`billdrop process` on a month of `contracts` × 3 services in a child process; time and peak RSS."""
    ws = make_workspace(tmp / f"month-{contracts}")
    (ws.inbox("charges") / "month.csv").write_bytes(charges_csv(contracts, 3))
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "daemon", "process", "-w", str(ws.root)], cwd=ROOT, check=True,
                   stderr=subprocess.DEVNULL)
    elapsed = time.perf_counter() - started
    peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    pdfs = sum(1 for _ in (ws.root / "documents").rglob("*.pdf"))
    return {"seconds": elapsed, "rows": contracts * 3, "documents": pdfs, "pdfs": pdfs, "peak_mb": peak_kb / 1024}


def main() -> None:
    print("billdrop bench (this machine)")
    _row("parse + validate, 60,000 rows", f"{parse_rate(60_000):,.0f} rows/s", "≥ 50,000 rows/s")
    with tempfile.TemporaryDirectory() as tmp:
        naive, reused, pooled = pdf_speed(Path(tmp))
        _row("PDF, naive HTML().write_pdf() per act", f"{naive:.0f} ms/doc", "baseline")
        _row("PDF, one renderer reused", f"{reused:.0f} ms/doc", "report")
        _row("PDF stage (pool on every core)", f"{pooled:.0f} ms/doc", "report")
        _row("  speed-up over naive", f"{naive / pooled:.1f}x", "≥ 5x")
        for contracts, target in ((200, "≤ 20 s"), (1000, "report")):
            result = end_to_end(contracts, Path(tmp))
            label = f"month of {contracts} contracts × 3 services"
            _row(label + ", total", f"{result['seconds']:.1f} s", target)
            _row("  rows/s", f"{result['rows'] / result['seconds']:,.0f}", "report")
            _row("  documents/s (invoice + act each)", f"{result['documents'] / result['seconds']:.1f}", "report")
            _row("  PDFs/s", f"{result['pdfs'] / result['seconds']:.1f}", "report")
            _row("  peak RSS of the largest child so far", f"{result['peak_mb']:.0f} MB", "≤ 500 MB")


if __name__ == "__main__":  # the PDF pool's workers import this module: no work at import time
    main()
