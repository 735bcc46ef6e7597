"""`billdrop status`: what it counts in quarantine and the mail queue, and how the table, in Russian,
writes sums, dates and mail."""
from __future__ import annotations

from datetime import UTC, date, datetime

from daemon.status import collect_status, format_status
from daemon.store import Store
from daemon.store import mail as queue
from daemon.store.mail import MailJob, Unaddressed
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


def test_a_file_name_with_crlf_stays_on_its_line(tmp_path):
    """A quarantined «a\\r\\nBcc: x@evil.csv» is listed escaped, not split over two lines of the table."""
    ws = make_workspace(tmp_path / "ws")
    ws.quarantine("charges").mkdir(parents=True, exist_ok=True)
    (ws.quarantine("charges") / "a\r\nBcc: x@evil.csv").write_bytes(b"x")
    store = Store(ws.state_path)
    try:
        lines = format_status(collect_status(ws, store, date(2026, 12, 2))).splitlines()
    finally:
        store.close()
    assert lines[lines.index("В карантине: 1") + 1] == "  quarantine/charges/a\\x0d\\x0aBcc: x@evil.csv"


STATUS = {
    "date": "2026-12-02",
    "files": {"done": 3, "quarantined": 1},
    "failing": [{"file": "month.csv", "source": "charges", "attempts": 3, "error": "OSError: No space left",
                 "retry_at": "2026-12-02T11:00:00"}],
    "stuck": [],
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
    "mail": {
        "written": 0, "sent": 2, "queued": 1, "failed": 1,
        "problems": [
            {"id": 3, "status": "failed", "to": ["buh3@client3.ru"], "subject": "ООО «СеверНет»: документы",
             "attempts": 1, "error": "адресаты отклонены: buh3@client3.ru (550 5.1.1 No such user)",
             "next_attempt_at": None},
            {"id": 4, "status": "queued", "to": ["buh4@client4.ru"], "subject": "ООО «СеверНет»: документы",
             "attempts": 2, "error": "SMTP-сервер smtp.example.ru:587: нет ответа (тайм-аут)",
             "next_attempt_at": "2026-12-02T09:00:00+00:00"},
        ],
        "without_email": [
            {"period": "2026-11-01", "inn": "6673317299", "client": 'ООО "Ромашка"',
             "documents": [{"kind": "invoice", "number": "4100-1126-1"},
                           {"kind": "upd", "number": "4100-1126-1"}]},
        ],
    },
    "zero_total": [{"contract": "Д-2022/151", "inn": "6677276935", "client": 'АО "Вектор"',
                    "period": "2026-11-01"}],
}


def test_table_writes_sums_dates_and_counts_for_people():
    """«10 632,67 руб.», «02.12.2026» and «3 счёта», as mails and print forms write them."""
    table = format_status(STATUS)
    assert table.startswith("billdrop status: состояние на 02.12.2026")
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


def test_table_is_russian_and_tells_written_from_sent():
    """Files and mail in Russian: .eml files are not «sent»; failed jobs and clients without e-mail listed."""
    lines = format_status(STATUS).splitlines()
    assert "  обработаны:                   3" in lines
    assert "  в карантине:                  1" in lines
    assert lines[lines.index("Письма:"):][:4] == [
        "Письма:", "  записано в mail/ (.eml): 0", "  отправлено по SMTP: 2", "  в очереди: 1"]
    assert any(ln.startswith("    ждут повтора после ошибки: 1, ближайшая попытка 02.12.2026 ") and
               ln.endswith("; SMTP-сервер smtp.example.ru:587: нет ответа (тайм-аут)") for ln in lines)
    assert "  ошибки: 1" in lines
    assert ("    № 3 → buh3@client3.ru «ООО «СеверНет»: документы»: 1 попытка, адресаты отклонены: "
            "buh3@client3.ru (550 5.1.1 No such user)") in lines
    assert "  клиенты без e-mail: 1" in lines
    assert '    ноябрь 2026: ООО "Ромашка", ИНН 6673317299 — счёт № 4100-1126-1, УПД № 4100-1126-1' in lines
    english = ("done", "sent", "queued", "failed", "written", "quarantined", "committed")
    assert not any(word in line.split() for line in lines for word in english)


def _job(n: int) -> MailJob:
    return MailJob(f"k{n}", (f"buh{n}@client{n}.ru",), f"Письмо {n}", "текст", (), f"<{n}@x.ru>")


def test_mail_section_counts_each_outcome_from_the_store(tmp_path):
    """What the queue holds, by outcome; the failed job with its error; clients without e-mail per period."""
    ws = make_workspace(tmp_path / "ws")
    store = Store(ws.state_path)
    now = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)
    try:
        with store.transaction() as conn:
            queue.enqueue(conn, [_job(n) for n in range(1, 5)], now)
            queue.mark_delivered(conn, 1, now, queue.WRITTEN)
            queue.mark_delivered(conn, 2, now, queue.SENT)
            queue.mark_failed(conn, 3, "адресаты отклонены: buh3@client3.ru (550)", None)
            queue.record_unaddressed(conn, [Unaddressed("documents:invoice-1", "6673317299", 'ООО "Ромашка"',
                                                        date(2026, 11, 1), (("invoice", "1"),))], now)
        mail = collect_status(ws, store, date(2026, 12, 2))["mail"]
    finally:
        store.close()
    assert {k: mail[k] for k in ("written", "sent", "queued", "failed")} == {
        "written": 1, "sent": 1, "queued": 1, "failed": 1}
    assert [(p["id"], p["status"], p["error"], p["next_attempt_at"]) for p in mail["problems"]] == [
        (3, "failed", "адресаты отклонены: buh3@client3.ru (550)", None)]
    assert mail["without_email"] == [{"period": "2026-11-01", "inn": "6673317299", "client": 'ООО "Ромашка"',
                                      "documents": [{"kind": "invoice", "number": "1"}]}]

