"""`billdrop status`: what it counts in quarantine and how the table writes sums and dates."""
from __future__ import annotations

from datetime import date

from daemon.status import collect_status, format_status
from daemon.store import Store
from tests.workspaces import make_workspace

NBSP = "\u00a0"


def test_quarantine_counts_files_not_their_reports(tmp_path):
    """A quarantined file with its .errors.json, .errors.html and .errors.xlsx beside it counts once."""
    ws = make_workspace(tmp_path / "ws")
    folder = ws.quarantine("charges")
    folder.mkdir(parents=True, exist_ok=True)
    for name in ("bad.csv", "Начисления.xlsx"):
        (folder / name).write_bytes(b"x")
        for suffix in (".errors.json", ".errors.html", ".errors.xlsx"):  # what the pipeline writes beside it
            (folder / f"{name}{suffix}").write_bytes(b"report")
    store = Store(ws.state_path)
    try:
        status = collect_status(ws, store, date(2026, 12, 2))
    finally:
        store.close()
    assert status["quarantine"] == ["quarantine/charges/bad.csv", "quarantine/charges/Начисления.xlsx"]


STATUS = {
    "date": "2026-12-02",
    "files": {"accepted": 3, "quarantined": 1},
    "failing": [{"file": "month.csv", "source": "charges", "attempts": 3, "error": "OSError: No space left",
                 "retry_at": "2026-12-02T11:00:00"}],
    "quarantine": ["quarantine/charges/bad.csv"],
    "cancelled": [],
    "invoices": {"unpaid": {"count": 1, "outstanding": "1000.00"},
                 "partly_paid": {"count": 0, "outstanding": "0.00"},
                 "overdue": {"count": 3, "outstanding": "10632.67"}},
    "open_invoices": [{"number": "2611-00004", "inn": "6674085940", "client": 'ООО "Гранит"',
                       "due": "2026-11-11", "total": "10632.67", "paid": "0.00", "outstanding": "10632.67",
                       "status": "overdue"}],
    "unmatched_payments": [{"number": "811", "date": "2026-11-20", "amount": "1500.5",
                            "payer_inn": "6670000001", "payer": "ООО «Неизвестный»"}],
    "balances": {"669644592893": "100.00"},
    "mail": {"sent": 2},
    "zero_total": [{"contract": "Д-2022/151", "inn": "6677276935", "client": 'АО "Вектор"',
                    "period": "2026-11-01"}],
}


def test_table_writes_sums_dates_and_counts_for_people():
    """«10 632,67 руб.», «02.12.2026» and «3 счёта», as mails and print forms write them."""
    table = format_status(STATUS)
    assert table.startswith("billdrop status на 02.12.2026")
    lines = table.splitlines()
    assert f"  не оплачены              1 счёт          1{NBSP}000,00 руб." in lines
    assert f"  просрочены               3 счёта        10{NBSP}632,67 руб." in lines
    assert "  оплачены частично        0 счетов            0,00 руб." in lines
    assert any(ln.endswith(f"срок 11.11.2026  долг 10{NBSP}632,67 руб.") for ln in lines)
    assert f"  № 811 от 20.11.2026 на 1{NBSP}500,50 руб., ИНН 6670000001" in table
    assert "  ИНН 669644592893: 100,00 руб." in table
    assert "  month.csv (charges): 3 попытки, OSError: No space left; следующая в 02.12.2026 11:00" in lines
    assert "Без документов (сумма за период 0,00 руб.): 1" in lines
    assert '  договор Д-2022/151, ноябрь 2026, ИНН 6677276935 АО "Вектор"' in lines
    assert "10632.67" not in table and "2026-11-11" not in table

