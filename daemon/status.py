"""`billdrop status`: files (failing, stuck), quarantine, unpaid and overdue invoices, payments, mail (shell).

`collect_status` gives the machine form (`status --json`, the API: English keys, ISO dates, sums as
strings, mail times in UTC); `format_status` the table people read, all in Russian.
"""
from __future__ import annotations

import json
import re
import sqlite3
from datetime import date, datetime
from decimal import Decimal

from daemon.core.cancellations import KIND_NAMES
from daemon.core.documents import DocumentKind
from daemon.core.formats import format_date, format_roubles, month_name, plural, plural_word, shortened
from daemon.core.report import display_name, is_sidecar
from daemon.core.sources.bank import invoice_status
from daemon.dunning import invoices_sent
from daemon.mailer import CONTROL_CHARACTER
from daemon.store import Store, cancellations, files, invoices, mail
from daemon.store import charges as store_charges
from daemon.workspace import Workspace

INVOICE_FORMS = ("счёт", "счёта", "счетов")
ATTEMPT_FORMS = ("попытка", "попытки", "попыток")
FILE_OUTCOMES = {"done": "обработаны", "committed": "приняты, выпуск не закончен",
                 "quarantined": "в карантине", "stuck": "остановлены"}
_CONTROL = re.compile(CONTROL_CHARACTER)
SUBJECT_SHOWN = 60   # characters of a failed mail's subject in the table


def collect_status(ws: Workspace, store: Store, today: date) -> dict:
    conn = store.conn
    due = invoices_sent(conn)
    failing = files.failing(conn)
    open_invoices = [
        {"number": i.number, "inn": i.inn, "client": i.client_name, "due": i.due_date.isoformat(),
         "total": str(i.total), "paid": str(i.paid), "outstanding": str(i.outstanding),
         "status": invoice_status(i.total, i.paid, i.due_date, today)}
        for i in due
        if i.outstanding > 0
    ]
    quarantine = sorted(  # every entry of quarantine/<source>/: links, FIFOs and folders are refused too
        display_name(p.relative_to(ws.root).as_posix())
        for p in (ws.root / "quarantine").glob("*/*")
        if not is_sidecar(p.name)
    )
    return {
        "date": today.isoformat(),
        "files": files.counts(conn),
        "failing": [
            {"file": f.name, "source": f.source, "attempts": f.attempts, "error": f.last_error,
             "retry_at": f.retry_at.isoformat() if f.retry_at else None}
            for f in failing if not f.stuck
        ],
        "stuck": [{"file": f.name, "source": f.source, "attempts": f.attempts, "error": f.last_error}
                  for f in failing if f.stuck],
        "quarantine": quarantine,
        "invoices": {
            status: {
                "count": sum(1 for i in open_invoices if i["status"] == status),
                "outstanding": str(sum((Decimal(i["outstanding"]) for i in open_invoices
                                        if i["status"] == status), Decimal("0.00"))),
            }
            for status in ("unpaid", "partly_paid", "overdue")
        },
        "open_invoices": open_invoices,
        "unmatched_payments": [
            {"number": n, "date": d, "amount": a, "payer_inn": inn, "payer": name}
            for n, d, a, inn, name in invoices.unmatched_payments(conn)
        ],
        "balances": {inn: str(amount) for inn, amount in invoices.balances(conn).items()},
        "mail": _mail(conn),
        "cancelled": [
            {"kind": c.kind.value, "number": c.number, "date": c.date.isoformat(), "inn": c.inn,
             "total": str(c.total), "reason": c.reason, "cancelled_at": c.cancelled_at.isoformat()}
            for c in cancellations.cancelled(conn)
        ],
        **zero_total_status(conn),
    }


def _mail(conn: sqlite3.Connection) -> dict:
    """Jobs per status (written: .eml in mail/ only; sent: by SMTP), the failed and retrying jobs, and
    the clients whose documents were not mailed for want of an address."""
    counts = mail.counts(conn)
    return {
        **{status: counts.get(status, 0) for status in mail.STATUSES},
        "problems": [
            {"id": p.id, "status": p.status, "to": list(p.recipients), "subject": p.subject,
             "attempts": p.attempts, "error": p.error,
             "next_attempt_at": p.next_attempt_at.isoformat() if p.next_attempt_at else None}
            for p in mail.problems(conn)
        ],
        "without_email": [
            {"period": u.period_start.isoformat(), "inn": u.inn, "client": u.client,
             "documents": [{"kind": kind, "number": number} for kind, number in u.documents]}
            for u in mail.unaddressed(conn)
        ],
    }


def zero_total_status(conn: sqlite3.Connection) -> dict:
    """Contracts whose period summed to 0: no documents were issued for them."""
    return {"zero_total": [{"contract": contract, "inn": inn, "client": client, "period": start}
                           for contract, inn, client, start in store_charges.zero_totals(conn)]}


def format_zero_totals(status: dict) -> list[str]:
    """The table's section of contracts left without documents (sum 0)."""
    return [f"Без документов (сумма за период 0,00 руб.): {len(status['zero_total'])}"] + [
        f"  договор {z['contract']}, {month_name(date.fromisoformat(z['period']))}, "
        f"ИНН {z['inn']} {z['client']}" for z in status["zero_total"]
    ]


def format_status(status: dict) -> str:
    """A plain table for people: sums as «10 632,67 руб.», dates as «02.12.2026» (JSON keeps plain values)."""
    lines = [f"billdrop status: состояние на {_date(status['date'])}", "", "Файлы:"]
    lines += [f"  {FILE_OUTCOMES.get(outcome, outcome) + ':':<29} {count}"
              for outcome, count in sorted(status["files"].items())] or ["  нет"]
    lines += ["", f"Не удаётся выпустить: {len(status['failing'])}"]
    lines += [f"  {f['file']} ({f['source']}): {plural(f['attempts'], *ATTEMPT_FORMS)}, {f['error']}"
              + (f"; следующая в {_date_time(f['retry_at'])}" if f["retry_at"] else "")
              for f in status["failing"]]
    lines += ["", f"Остановлены, ждут исправления и billdrop retry: {len(status['stuck'])}"]
    lines += [f"  {f['file']} ({f['source']}): {plural(f['attempts'], *ATTEMPT_FORMS)}, {f['error']}"
              for f in status["stuck"]]
    lines += ["", f"В карантине: {len(status['quarantine'])}"]
    lines += [f"  {name}" for name in status["quarantine"]]
    lines += ["", "Счета:"]
    titles = {"unpaid": "не оплачены", "partly_paid": "оплачены частично", "overdue": "просрочены"}
    lines += [f"  {titles[s]:<20} {v['count']:>5} {plural_word(v['count'], *INVOICE_FORMS):<7} "
              f"{_roubles(v['outstanding']):>19}" for s, v in status["invoices"].items()]
    overdue = [i for i in status["open_invoices"] if i["status"] == "overdue"]
    lines += [f"    {i['number']:<14} {i['client'][:40]:<40} срок {_date(i['due'])}  "
              f"долг {_roubles(i['outstanding'])}" for i in overdue]
    lines += ["", f"Неопознанные платежи: {len(status['unmatched_payments'])}"]
    lines += [f"  № {p['number']} от {_date(p['date'])} на {_roubles(p['amount'])}, "
              f"ИНН {p['payer_inn']} {p['payer']}" for p in status["unmatched_payments"]]
    lines += ["", "Переплаты:"]
    lines += [f"  ИНН {inn}: {_roubles(amount)}" for inn, amount in status["balances"].items()]
    lines += ["", f"Аннулированы: {len(status['cancelled'])}"]
    lines += [f"  {KIND_NAMES[DocumentKind(c['kind'])]} № {c['number']} от {_date(c['date'])}, "
              f"ИНН {c['inn']}, {_roubles(c['total'])}: {_date_time(c['cancelled_at'])}, {c['reason']}"
              for c in status["cancelled"]]
    lines += ["", *format_zero_totals(status)]
    lines += ["", *_mail_lines(status["mail"])]
    # file names, errors and relay replies may hold CR/LF: shown escaped, one item a line
    return "\n".join(_CONTROL.sub(lambda found: repr(found.group())[1:-1], line) for line in lines)


def _mail_lines(queue: dict) -> list[str]:
    failed = [p for p in queue["problems"] if p["status"] == "failed"]
    waiting = [p for p in queue["problems"] if p["status"] == "queued"]
    lines = ["Письма:", f"  записано в mail/ (.eml): {queue['written']}",
             f"  отправлено по SMTP: {queue['sent']}", f"  в очереди: {queue['queued']}"]
    if waiting:  # one line: with the relay down, every queued mail waits for the same reason
        lines.append(f"    ждут повтора после ошибки: {len(waiting)}, ближайшая попытка "
                     f"{_date_time(min(p['next_attempt_at'] for p in waiting))}; {waiting[0]['error']}")
    lines.append(f"  ошибки: {queue['failed']}")
    lines += [f"    № {p['id']} → {', '.join(p['to'])} «{shortened(p['subject'], SUBJECT_SHOWN)}»: "
              f"{plural(p['attempts'], *ATTEMPT_FORMS)}, {p['error']}" for p in failed]
    unaddressed = queue["without_email"]
    lines.append(f"  клиенты без e-mail: {len({u['inn'] for u in unaddressed})}")
    lines += [f"    {month_name(date.fromisoformat(u['period']))}: {u['client']}, ИНН {u['inn']} — "
              + ", ".join(f"{KIND_NAMES[DocumentKind(d['kind'])]} № {d['number']}" for d in u["documents"])
              for u in unaddressed]
    return lines


def _roubles(amount: str) -> str:
    """A sum as `collect_status` keeps it («10632.67») as people read it."""
    return format_roubles(Decimal(amount))


def _date(iso: str) -> str:
    """A date as `collect_status` keeps it («2026-12-02») as people read it."""
    return format_date(date.fromisoformat(iso))


def _date_time(iso: str) -> str:
    """A time as people read it, in local time (mail times are kept in UTC, files' retries locally)."""
    when = datetime.fromisoformat(iso)
    if when.tzinfo is not None:
        when = when.astimezone()
    return f"{format_date(when.date())} {when:%H:%M}"


def status_json(status: dict) -> str:
    return json.dumps(status, ensure_ascii=False, indent=2)
