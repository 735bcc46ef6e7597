"""Command line: init | run | process | check | demo (shell)."""
from __future__ import annotations

import argparse
import shutil
import signal
import sys
import threading
from datetime import date
from pathlib import Path

from daemon.actions import cancel_document, find_quarantined, quarantined, retry_files
from daemon.config import ConfigError, Settings, builtin_dir, load_settings, resource_dir
from daemon.context import load_schemas
from daemon.core.cancellations import KIND_NAMES, Refused
from daemon.core.documents import DocumentKind
from daemon.core.report import FileReport
from daemon.inbox import Unfit
from daemon.lock import WorkspaceBusy, workspace_lock
from daemon.log import configure_logging
from daemon.runner import Failed, Planned, Quarantined, Rejected, check_file, plan_file, take_input
from daemon.service import remind_once, run_once, serve
from daemon.status import collect_status, format_status, status_json
from daemon.store import Store
from daemon.workspace import Workspace

EXIT_OK, EXIT_QUARANTINED, EXIT_USAGE = 0, 1, 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="billdrop", description="Billing exports in, closing documents out."
    )
    parser.add_argument("--log-level", default="info")
    sub = parser.add_subparsers(dest="command", required=True)
    init = sub.add_parser("init", help="create a workspace with a commented billdrop.toml")
    init.add_argument("dir", type=Path)
    for name, text in (
        ("run", "watch the inboxes (the daemon)"),
        ("process", "process the inboxes now and exit"),
    ):
        cmd = sub.add_parser(name, help=text)
        cmd.add_argument("-w", "--workspace", type=Path, required=True)
    check = sub.add_parser("check", help="validate one file and print the report; changes nothing")
    check.add_argument("file", type=Path)
    check.add_argument("--source", required=True, help="source name (its schema), e.g. charges")
    check.add_argument(
        "-w", "--workspace", type=Path, help="workspace whose config maps the source to a schema"
    )
    remind = sub.add_parser("remind", help="queue and send today's payment reminders and manager digests")
    remind.add_argument("-w", "--workspace", type=Path, required=True)
    status = sub.add_parser("status", help="files, quarantine, unpaid/overdue invoices, payments, mail")
    status.add_argument("-w", "--workspace", type=Path, required=True)
    status.add_argument("--json", action="store_true", help="machine-readable output")
    retry = sub.add_parser("retry", help="вернуть файлы из карантина в обработку (после исправления "
                           "настроек или схемы); коды выхода как у process")
    retry.add_argument("file", type=Path, nargs="?", help="файл в quarantine/<источник>/ (путь или имя)")
    retry.add_argument("--all", action="store_true", help="все файлы карантина")
    retry.add_argument("-w", "--workspace", type=Path, required=True)
    cancel = sub.add_parser("cancel", help="аннулировать выпущенный документ: номер больше не выдаётся, "
                            "1С получает УдалениеОбъекта, PDF помечается")
    cancel.add_argument("number", help="номер документа")
    cancel.add_argument("--kind", choices=[kind.value for kind in KIND_NAMES],
                        help="вид документа, когда номер есть у нескольких")
    cancel.add_argument("--reason", required=True, help="причина: печатается на PDF и попадает в журнал")
    cancel.add_argument("-w", "--workspace", type=Path, required=True)
    demo = sub.add_parser("demo", help="init a workspace, drop the samples in, process them")
    demo.add_argument("dir", type=Path, nargs="?", default=Path("demo"))
    return parser


def main(argv: list[str] | None = None) -> int:
    try:
        args = _parser().parse_args(argv)
    except SystemExit as exc:
        return EXIT_OK if exc.code == 0 else EXIT_USAGE
    configure_logging(args.log_level)
    try:
        if args.command not in EXCLUSIVE:
            return COMMANDS[args.command](args)
        return _exclusive(args)
    except (ConfigError, WorkspaceBusy) as exc:
        print(f"billdrop: {exc}", file=sys.stderr)
        return EXIT_USAGE


# Commands that change the workspace: one at a time (status and check only read, beside them).
EXCLUSIVE = frozenset({"run", "process", "retry", "cancel", "remind", "demo"})


def _exclusive(args: argparse.Namespace) -> int:
    """The command with the workspace's lock held throughout; a missing folder is the command's to report."""
    root = (args.dir if args.command == "demo" else args.workspace).resolve()
    if args.command == "demo":
        root.mkdir(parents=True, exist_ok=True)
    if not root.is_dir():
        return COMMANDS[args.command](args)
    with workspace_lock(root):
        return COMMANDS[args.command](args)


def init_workspace(root: Path) -> Workspace:
    ws = Workspace(root.resolve())
    ws.root.mkdir(parents=True, exist_ok=True)
    if not ws.config_path.exists():
        shutil.copyfile(builtin_dir("templates") / "billdrop.toml", ws.config_path)
    ws.create(list(load_settings(ws.root).sources))
    return ws


def _init(args: argparse.Namespace) -> int:
    ws = init_workspace(args.dir)
    print(f"workspace ready: {ws.root}\nedit {ws.config_path}, then: billdrop run -w {ws.root}")
    return EXIT_OK


def _process(args: argparse.Namespace) -> int:
    ws = Workspace(args.workspace.resolve())
    return run_once(ws, load_settings(ws.root))


def _run(args: argparse.Namespace) -> int:
    ws = Workspace(args.workspace.resolve())
    settings = load_settings(ws.root)
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    return serve(ws, settings, stop)


def _check(args: argparse.Namespace) -> int:
    """The same read, validation and plan as `process` (numbers, control totals, ledger), nothing stored."""
    root = args.workspace.resolve() if args.workspace else None
    settings = load_settings(root) if root else shipped_settings()
    if args.source not in settings.sources:
        raise ConfigError(
            f"неизвестный источник «{args.source}»; в настройках есть: {', '.join(settings.sources)}"
        )
    schemas = load_schemas(
        resource_dir(root, "inbox_schemas") if root else builtin_dir("inbox_schemas"), settings
    )
    conf = settings.sources[args.source]
    try:  # as `process` reads it: a regular file within the size limit, never a link, a FIFO or a device
        taken = take_input(args.file, args.source, settings, schemas, sole_name=False)
    except OSError as exc:
        raise ConfigError(f"{args.file}: {exc.strerror}") from None
    if isinstance(taken, Unfit):
        print(FileReport.for_file(args.file.name, args.source, taken.reason).as_text())
        return EXIT_QUARANTINED
    data = taken.data
    print(
        f"{args.file.name}: источник «{args.source}» (вид {conf.kind}, схема {conf.schema_name})",
        file=sys.stderr,
    )
    checked = check_file(data, args.file.name, args.source, settings, schemas)
    planned: Planned | Rejected
    if isinstance(checked, Rejected):
        planned = checked
    else:
        for header, field in checked.mapped:
            print(f"  «{header}» → {field}", file=sys.stderr)
        if checked.ignored:
            print(f"  не используются: {', '.join(f'«{h}»' for h in checked.ignored)}", file=sys.stderr)
        state = root / "state.sqlite" if root else None
        store = Store(state, readonly=True) if state and state.exists() else Store(Path(":memory:"))
        try:
            planned = plan_file(store.conn, checked, args.file.name, args.source, settings, date.today())
        finally:
            store.close()
    if isinstance(planned, Rejected):
        print(planned.report.as_text())
        return EXIT_QUARANTINED
    print(f"{args.file.name}: ошибок нет; строк: {planned.rows}, пропущено без изменений: {planned.skipped}")
    return EXIT_OK


def shipped_settings() -> Settings:
    """The settings `billdrop init` writes: what `check` uses without a workspace."""
    return load_settings(builtin_dir("templates"), name="billdrop.toml")


def _remind(args: argparse.Namespace) -> int:
    ws = Workspace(args.workspace.resolve())
    remind_once(ws, load_settings(ws.root))
    return EXIT_OK


def _status(args: argparse.Namespace) -> int:
    ws = Workspace(args.workspace.resolve())
    load_settings(ws.root)
    store = Store(ws.state_path)
    try:
        status = collect_status(ws, store, date.today())
    finally:
        store.close()
    print(status_json(status) if args.json else format_status(status))
    return EXIT_OK


def _retry(args: argparse.Namespace) -> int:
    ws = Workspace(args.workspace.resolve())
    settings = load_settings(ws.root)
    if bool(args.file) == args.all:
        print("billdrop retry: укажите файл из карантина или --all", file=sys.stderr)
        return EXIT_USAGE
    targets = quarantined(ws, settings) if args.all else [find_quarantined(ws, settings, args.file)]
    outcomes = retry_files(ws, settings, targets)
    for (_, path), outcome in zip(targets, outcomes, strict=False):
        print(f"{ws.relative(path)}: {_RETRY_OUTCOMES[type(outcome).__name__]}")
    return EXIT_QUARANTINED if any(isinstance(o, Quarantined | Failed) for o in outcomes) else EXIT_OK


_RETRY_OUTCOMES = {
    "Accepted": "принят", "Duplicate": "уже был принят, в архиве", "Quarantined": "снова в карантине",
    "Failed": "принят, но выпуск не удался; повторится сам", "Waiting": "ждёт повтора",
}


def _cancel(args: argparse.Namespace) -> int:
    ws = Workspace(args.workspace.resolve())
    kind = DocumentKind(args.kind) if args.kind else None
    result = cancel_document(ws, load_settings(ws.root), args.number, kind, args.reason)
    if isinstance(result, Refused):
        print(f"billdrop cancel: {result.reason}", file=sys.stderr)
        return EXIT_USAGE
    print(f"{KIND_NAMES[result.kind]} № {result.number} от {result.date:%d.%m.%Y}: {result.mark}")
    return EXIT_OK


DEMO_ROUNDS = (
    # the month's exports and the platform's payouts first...
    ("charges/isp_charges_2026-10.xlsx", "charges/isp_charges_2026-11.csv",
     "bgbilling/bgb_narabotka_2026-11.csv", "payouts/payouts_2026-11-20.csv"),
    # ...then what follows them: the bank statement paying the invoices, a later payout, the agents'
    # acceptances
    ("bank/kl_to_1c_2026-11.txt", "payouts/payout_90101.csv", "acceptances/accepted_2026-11-22.csv"),
)


def _demo(args: argparse.Namespace) -> int:
    ws = init_workspace(args.dir)
    samples = builtin_dir("samples")
    code = EXIT_OK
    for round_ in DEMO_ROUNDS:
        for sample in round_:
            source, name = sample.split("/")
            shutil.copy2(samples / sample, ws.inbox(source) / name)
        code = max(code, run_once(ws, load_settings(ws.root)))
    print(
        f"\nDemo workspace: {ws.root}\n"
        f"  1C exchange files: {ws.outbox('1c')}\n"
        f"  ЭДО (ФНС XML):     {ws.outbox('edo')}\n"
        f"  platform, bank:    {ws.outbox('platform')}, {ws.outbox('bank')}\n"
        f"  PDFs per client:   {ws.root / 'documents'}\n"
        f"  mails (.eml):      {ws.mail_dir}\n"
        f"  originals:         {ws.root / 'archive'}\n"
        f"  rejected files:    {ws.root / 'quarantine'}\n"
        f"  payments:          billdrop status -w {ws.root}"
    )
    return code


COMMANDS = {
    "init": _init, "run": _run, "process": _process, "check": _check, "remind": _remind, "status": _status,
    "demo": _demo, "retry": _retry, "cancel": _cancel,
}
