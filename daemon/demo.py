"""`billdrop demo`: the shipped samples through a workspace, then a short summary of what came out (shell)."""
from __future__ import annotations

import shutil
from pathlib import Path

from daemon.config import builtin_dir, load_settings
from daemon.core.cancellations import KIND_NAMES
from daemon.core.documents import DocumentKind
from daemon.service import run_once
from daemon.store import Store, documents, files, mail
from daemon.workspace import Workspace

DEMO_ROUNDS = (
    # the month's exports and the platform's payouts first...
    ("charges/isp_charges_2026-10.xlsx", "charges/isp_charges_2026-11.csv",
     "bgbilling/bgb_narabotka_2026-11.csv", "payouts/payouts_2026-11-20.csv"),
    # ...then what follows them: the bank statement paying the invoices, a later payout, the agents'
    # acceptances
    ("bank/kl_to_1c_2026-11.txt", "payouts/payout_90101.csv", "acceptances/accepted_2026-11-22.csv"),
)
# The default config's placeholders an ЭДО operator would refuse (logged as edo.problem): the demo's
# company has its ЭДО id and the signer's full name, so the demo warns only of what the samples lack.
DEMO_COMPANY = (
    ('edo_id = ""', 'edo_id = "2BE0123456789abcdef0123456789abcdef"'),
    ('director = "Иванов И. И."', 'director = "Иванов Иван Иванович"'),
)


def run_demo(ws: Workspace) -> int:
    """Drop the samples into `ws`'s inboxes round by round and process them; exit code as `process`."""
    text = ws.config_path.read_text(encoding="utf-8")
    for placeholder, value in DEMO_COMPANY:
        text = text.replace(placeholder, value)
    ws.config_path.write_text(text, encoding="utf-8")
    samples = builtin_dir("samples")
    code = 0
    for round_ in DEMO_ROUNDS:
        for sample in round_:
            source, name = sample.split("/")
            shutil.copy2(samples / sample, ws.inbox(source) / name)
        code = max(code, run_once(ws, load_settings(ws.root)))
    return code


def demo_summary(ws: Workspace, shown_root: Path) -> str:
    """Files accepted and quarantined, documents per kind, mails, and where each output lies, with
    `shown_root` as the user named the workspace."""
    store = Store(ws.state_path, readonly=True)
    try:
        conn = store.conn
        outcomes, issued, mails = files.counts(conn), documents.counts(conn), mail.counts(conn)
    finally:
        store.close()
    waiting = outcomes.get("committed", 0)
    lines = [
        f"Демо: {shown_root}",
        f"  файлы: принято {outcomes.get('done', 0)}, в карантине {outcomes.get('quarantined', 0)}"
        + (f", ждут выпуска {waiting}" if waiting else ""),
        "  документы: " + ", ".join(f"{KIND_NAMES[kind]} {issued[kind.value]}" for kind in DocumentKind
                                    if kind.value in issued),
        "  письма: " + (", ".join(f"{MAIL_STATUS[status]} {count}" for status, count in sorted(mails.items()))
                        or "нет"),
        "Где смотреть:",
    ]
    lines += [f"  {title:<28} {shown_root / folder}" for title, folder in OUTPUT_FOLDERS]
    return "\n".join(lines)


MAIL_STATUS = {
    "written": "записано в mail/ (.eml)", "sent": "отправлено по SMTP", "queued": "в очереди",
    "failed": "не отправлено",
}
OUTPUT_FOLDERS = (
    ("обмен с 1С (EnterpriseData)", "outbox/1c"),
    ("ЭДО (ФНС XML)", "outbox/edo"),
    ("акты агентов для кабинета", "outbox/platform"),
    ("платёжки для банка", "outbox/bank"),
    ("PDF по клиентам", "documents"),
    ("письма (.eml)", "mail"),
    ("исходные файлы", "archive"),
    ("карантин с отчётами", "quarantine"),
)
