"""Mail transports and the queue's flush against a real SMTP server on loopback; .eml files in a folder."""
from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from email import policy
from email.header import decode_header, make_header
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import formataddr
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from structlog.testing import capture_logs

from daemon.cli import main
from daemon.config import MailSettings, load_settings
from daemon.context import local_now
from daemon.mail_queue import flush_mail
from daemon.mailer import EmlFolderTransport, MailError, SmtpTransport, compose, retry_delay_s
from daemon.service import mail_transport, run_once
from daemon.store import Store
from daemon.store import mail as queue
from daemon.store.mail import MailJob
from daemon.workspace import Workspace
from tests.shell.test_sources import HOSTILE
from tests.workspaces import make_workspace

if TYPE_CHECKING:
    from tests.shell.conftest import SmtpServer

SENDER = 'ООО "СеверНет" <buh@severnet.example.ru>'
SUBJECT = "Счёт № 2611-00004 и акт за ноябрь 2026 — ООО «Гранит»"
BODY = "Здравствуйте!\n\nВо вложении счёт и акт за ноябрь.\n\n-- \nБухгалтерия СеверНет\n"
INVOICE = ("Счет_2611-00004.pdf", b"%PDF-1.7\n" + bytes(range(256)) * 40, "pdf")
ACT = ("Акт_2611-00004 от 30.11.2026.pdf", b"%PDF-1.7\nact\x00\xff", "pdf")


def _transport(server: SmtpServer, username: str | None = None, password: str | None = None) -> SmtpTransport:
    return SmtpTransport(server.host, server.port, "none", username, password, timeout_s=10.0)


def _invoice_mail(message_id: str | None = "<2611-00004.invoice@severnet.example.ru>") -> EmailMessage:
    return compose(SENDER, ["buh3@client3.ru"], SUBJECT, BODY, [INVOICE, ACT], message_id)


def test_mail_with_two_pdfs_and_a_cyrillic_subject_arrives_intact(smtp_server: SmtpServer) -> None:
    """Subject, body, attachment names and bytes survive the trip through a real SMTP server."""
    message_id = _transport(smtp_server).send(_invoice_mail())

    assert message_id == "<2611-00004.invoice@severnet.example.ru>"
    [delivery] = smtp_server.deliveries
    assert delivery.mail_from == "buh@severnet.example.ru"
    assert delivery.rcpt_tos == ("buh3@client3.ru",)
    received = delivery.message
    assert received["Subject"] == SUBJECT
    assert received["Message-ID"] == message_id
    assert received["To"] == "buh3@client3.ru"
    assert received["Date"] is not None
    body = received.get_body(preferencelist=("plain",))
    assert body is not None
    assert body.get_content().replace("\r\n", "\n") == BODY  # CRLF on the wire
    attachments = [(part.get_filename(), part.get_content(), part.get_content_type())
                   for part in received.iter_attachments()]
    assert attachments == [(INVOICE[0], INVOICE[1], "application/pdf"), (ACT[0], ACT[1], "application/pdf")]


def test_non_ascii_text_is_encoded_for_7bit_relays(smtp_server: SmtpServer) -> None:
    """Headers use encoded words and attachment names RFC 2231, so the raw mail is plain ASCII."""
    raw = _invoice_mail().as_bytes(policy=policy.SMTP)
    raw.decode("ascii")
    assert b"filename*" in raw


def test_login_with_the_right_password(smtp_server: SmtpServer) -> None:
    """Credentials are used when given; a Cyrillic password goes through as UTF-8."""
    transport = _transport(smtp_server, username=smtp_server.username, password=smtp_server.password)
    transport.send(_invoice_mail())
    assert len(smtp_server.messages) == 1


def test_login_with_an_ascii_password(smtp_server: SmtpServer) -> None:
    """An ASCII password takes smtplib's own login (CRAM-MD5, PLAIN or LOGIN, whichever is offered)."""
    smtp_server.users["relay"] = "Pa55-word"
    _transport(smtp_server, username="relay", password="Pa55-word").send(_invoice_mail())
    assert len(smtp_server.messages) == 1


@pytest.mark.parametrize("password", ["wrong", "неверный"])
def test_wrong_password_is_temporary(smtp_server: SmtpServer, password: str) -> None:
    """A 535 is the relay's configuration, not this mail's: it is retried once the admin fixes it."""
    with pytest.raises(MailError) as caught:
        _transport(smtp_server, username=smtp_server.username, password=password).send(_invoice_mail())
    assert not caught.value.permanent
    assert "535" in caught.value.reason
    assert smtp_server.messages == []


def test_starttls_is_never_skipped(smtp_server: SmtpServer) -> None:
    """A relay that does not offer STARTTLS gets nothing in clear text; the error is temporary."""
    transport = SmtpTransport(smtp_server.host, smtp_server.port, "starttls", None, None, timeout_s=10.0)
    with pytest.raises(MailError) as caught:
        transport.send(_invoice_mail())
    assert not caught.value.permanent
    assert smtp_server.messages == []


def test_ssl_to_a_plain_relay_is_a_temporary_error(smtp_server: SmtpServer) -> None:
    """Implicit TLS against a plain-text port fails the handshake: a settings problem, retried."""
    transport = SmtpTransport(smtp_server.host, smtp_server.port, "ssl", None, None, timeout_s=10.0)
    with pytest.raises(MailError) as caught:
        transport.send(_invoice_mail())
    assert not caught.value.permanent


def test_a_missing_message_id_is_generated_from_the_sender_domain(smtp_server: SmtpServer) -> None:
    """send() sets a Message-ID when there is none and returns it."""
    message_id = _transport(smtp_server).send(_invoice_mail(message_id=None))
    assert message_id.endswith("@severnet.example.ru>")
    assert smtp_server.messages[0]["Message-ID"] == message_id


def test_server_down_is_a_temporary_error(smtp_server: SmtpServer) -> None:
    """Connection refused can be retried, and the retry succeeds once the relay is back."""
    transport = _transport(smtp_server)
    smtp_server.stop()
    with pytest.raises(MailError) as caught:
        transport.send(_invoice_mail())
    assert not caught.value.permanent

    smtp_server.start()
    transport.send(_invoice_mail())
    assert len(smtp_server.messages) == 1


def test_a_silent_server_times_out_as_a_temporary_error() -> None:
    """A relay that accepts the connection but never greets ends in a timeout, not a hang."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        host, port = listener.getsockname()
        transport = SmtpTransport(host, port, "none", None, None, timeout_s=0.5)
        with pytest.raises(MailError) as caught:
            transport.send(_invoice_mail())
    assert not caught.value.permanent


def test_recipient_refused_with_550_is_permanent(smtp_server: SmtpServer) -> None:
    """A 5xx for the only recipient will never succeed: no retry."""
    smtp_server.refuse("buh3@client3.ru")
    with pytest.raises(MailError) as caught:
        _transport(smtp_server).send(_invoice_mail())
    assert caught.value.permanent
    assert "buh3@client3.ru" in caught.value.reason
    assert "550" in caught.value.reason
    assert smtp_server.messages == []


def test_recipient_refused_with_4xx_is_temporary(smtp_server: SmtpServer) -> None:
    """Greylisting or a full mailbox (4xx) is worth retrying."""
    smtp_server.refuse("buh3@client3.ru", "451 4.7.1 Greylisted, try again later")
    with pytest.raises(MailError) as caught:
        _transport(smtp_server).send(_invoice_mail())
    assert not caught.value.permanent


def test_one_refused_recipient_of_two_is_permanent(smtp_server: SmtpServer) -> None:
    """The other recipient got the mail, so a retry would send it twice."""
    smtp_server.refuse("gone@client3.ru")
    message = compose(SENDER, ["buh3@client3.ru", "gone@client3.ru"], SUBJECT, BODY, [], None)
    with pytest.raises(MailError) as caught:
        _transport(smtp_server).send(message)
    assert caught.value.permanent
    assert "gone@client3.ru" in caught.value.reason
    assert smtp_server.deliveries[0].rcpt_tos == ("buh3@client3.ru",)


def test_eml_folder_transport_writes_a_parseable_file(tmp_path: Path) -> None:
    """One <Message-ID>.eml per mail, nothing else left behind, and it parses back to the same mail."""
    folder = tmp_path / "mail"
    message_id = EmlFolderTransport(folder).send(_invoice_mail())

    [path] = folder.iterdir()
    assert path.name == "2611-00004.invoice@severnet.example.ru.eml"
    parsed = BytesParser(policy=policy.default).parsebytes(path.read_bytes())
    assert parsed["Message-ID"] == message_id
    assert parsed["Subject"] == SUBJECT
    assert [part.get_filename() for part in parsed.iter_attachments()] == [INVOICE[0], ACT[0]]
    assert [part.get_content() for part in parsed.iter_attachments()] == [INVOICE[1], ACT[1]]


def test_eml_folder_transport_names_files_safely(tmp_path: Path) -> None:
    """A hostile Message-ID cannot place the file outside the mail folder."""
    folder = tmp_path / "mail"
    EmlFolderTransport(folder).send(_invoice_mail(message_id="<../../etc/x@y>"))
    [path] = folder.iterdir()
    assert path.suffix == ".eml"


def test_eml_folder_transport_failure_is_temporary(tmp_path: Path) -> None:
    """A folder that cannot be written (here: a file in its place) is an error the queue retries."""
    blocker = tmp_path / "mail"
    blocker.write_bytes(b"not a folder")
    with pytest.raises(MailError) as caught:
        EmlFolderTransport(blocker).send(_invoice_mail())
    assert not caught.value.permanent


def test_html_attachment_keeps_its_full_type() -> None:
    """A "type/subtype" is used as is; a bare subtype means application/."""
    message = compose(SENDER, ["a@b.ru"], "x", "x", [("отчёт.html", b"<p>1</p>", "text/html")], None)
    [part] = message.iter_attachments()
    assert part.get_content_type() == "text/html"
    assert part.get_filename() == "отчёт.html"


def test_reply_to_is_set_when_given() -> None:
    """Clients answer the accountant, not the robot."""
    reply_to = "Бухгалтерия <buh@severnet.example.ru>"
    message = compose(SENDER, ["a@b.ru"], "x", "x", [], None, reply_to=reply_to)
    assert message["Reply-To"] == reply_to


@pytest.mark.parametrize(
    ("attempt", "delay_s"), [(1, 60), (2, 120), (3, 240), (6, 1920), (7, 3600), (1000, 3600)]
)
def test_retry_delay_doubles_up_to_an_hour(attempt: int, delay_s: float) -> None:
    """60 s after the first failure, doubling, never more than an hour."""
    assert retry_delay_s(attempt) == delay_s


# --- headers: every space kept, nothing injected ------------------------------------------------------

SUBJECTS = [
    SUBJECT,
    # the November client mail: folded at «оказания услуг», the space used to vanish
    'ООО "СеверНет": документы за ноябрь 2026 (счёт на оплату № 2611-00005, акт оказания услуг № 2611-00005)',
    ("billdrop: файл «Начисления абонентов за ноябрь 2026 года (выгрузка из биллинга, исправленная).xlsx» "
     "отклонён (3 ошибки)"),
    "A plain ASCII subject that is long enough to be folded by the policy at some space or other, twice over",
    "Два  пробела, неразрывный\u00a0пробел и ёмкость — всё как было",
]


@pytest.mark.parametrize("subject", SUBJECTS)
def test_subject_arrives_with_every_space(smtp_server: SmtpServer, subject: str) -> None:
    """The subject the relay receives decodes to exactly the intended one, folded in 7-bit lines of ≤ 78."""
    message = compose(SENDER, ["buh3@client3.ru"], subject, BODY, [], "<s@severnet.example.ru>")
    raw = message.as_bytes()
    head = raw.split(b"\r\n\r\n")[0].decode("ascii")
    assert max(len(line) for line in head.split("\r\n")) <= 78
    _transport(smtp_server).send(message)
    assert smtp_server.messages[0]["Subject"] == subject


def test_long_cyrillic_display_name_decodes_as_given() -> None:
    """A long organisation name in From is split into encoded words that RFC 2047 decoders join back."""
    name = 'Общество с ограниченной ответственностью "Северная Телекоммуникационная Компания Урал"'
    raw = compose(formataddr((name, "buh@severnet.example.ru")), ["a@b.ru"], "x", "x", [], None).as_bytes()
    parsed = BytesParser(policy=policy.compat32).parsebytes(raw)  # the raw folded header text
    decoded = str(make_header(decode_header(str(parsed["From"]))))
    assert decoded == f"{name} <buh@severnet.example.ru>"


def test_control_characters_cannot_add_headers(smtp_server: SmtpServer) -> None:
    """CR/LF in a subject, an attachment name or a recipient end up as spaces, never as a new header."""
    message = compose(SENDER, ["buh3@client3.ru\r\nBcc: x@evil.example"], "a\r\nBcc: x@evil.example", BODY,
                      [("отчёт\r\nBcc: x@evil.example.html", b"<p>1</p>", "text/html")], None)
    _transport(smtp_server).send(message)
    [delivery] = smtp_server.deliveries
    received = delivery.message
    assert received["Bcc"] is None
    assert "x@evil.example" not in delivery.rcpt_tos
    assert received["Subject"] == "a Bcc: x@evil.example"
    assert [part.get_filename() for part in received.iter_attachments()] == ["отчёт Bcc: x@evil.example.html"]


# --- the queue's flush: one job's failure is its own ------------------------------------------------------

CLOCK = datetime(2026, 12, 1, 10, 0, 0)
MAIL = MailSettings(sender=SENDER, max_attempts=5, retry_base_seconds=60)


def _job(n: int, to: str = "", attachments: tuple[str, ...] = ()) -> MailJob:
    return MailJob(f"test:{n}", (to or f"buh{n}@client{n}.ru",), f"Письмо № {n}", BODY, attachments,
                   f"<{n}@severnet.example.ru>")


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    store = Store(tmp_path / "state.sqlite")
    yield store
    store.close()


def _enqueue(store: Store, *jobs: MailJob, now: datetime = CLOCK) -> None:
    with store.transaction() as conn:
        queue.enqueue(conn, jobs, now)


def _states(store: Store) -> list[tuple[str, str, int, str | None]]:
    return store.conn.execute(
        "SELECT dedupe_key, status, attempts, last_error FROM mail_jobs ORDER BY id").fetchall()


def test_a_refused_recipient_fails_its_job_only(store: Store, tmp_path: Path,
                                                smtp_server: SmtpServer) -> None:
    """The refused mail is marked failed with the relay's answer; the mails before and after it are sent."""
    smtp_server.refuse("buh2@client2.ru")
    _enqueue(store, _job(1), _job(2), _job(3))
    counts = flush_mail(store, tmp_path, MAIL, _transport(smtp_server), lambda: CLOCK)

    assert counts == {"sent": 2, "retry": 0, "failed": 1, "postponed": 0}
    [(_, _, _, error)] = [state for state in _states(store) if state[1] == "failed"]
    assert error is not None and "buh2@client2.ru" in error and "550" in error
    assert [d.rcpt_tos for d in smtp_server.deliveries] == [("buh1@client1.ru",), ("buh3@client3.ru",)]


def test_a_missing_attachment_fails_its_job_only(store: Store, tmp_path: Path,
                                                 smtp_server: SmtpServer) -> None:
    """A PDF deleted before its mail went out: that job fails, naming the file; the next one is sent."""
    (tmp_path / "documents").mkdir()
    (tmp_path / "documents" / "Акт_1.pdf").write_bytes(b"%PDF-1.7\n")
    _enqueue(store, _job(1, attachments=("documents/Счет_1.pdf",)),
             _job(2, attachments=("documents/Акт_1.pdf",)))
    counts = flush_mail(store, tmp_path, MAIL, _transport(smtp_server), lambda: CLOCK)

    assert counts == {"sent": 1, "retry": 0, "failed": 1, "postponed": 0}
    assert _states(store)[0][1:] == ("failed", 1, "вложение documents/Счет_1.pdf: файл не найден")
    assert [m.get_filename() for m in smtp_server.messages[0].iter_attachments()] == ["Акт_1.pdf"]


class SilentServer:
    """A TCP server that accepts connections and never says a word; counts the connections."""

    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.host, self.port = self.listener.getsockname()
        self.connections: list[socket.socket] = []
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while True:
            try:
                connection, _ = self.listener.accept()
            except OSError:  # closed
                return
            self.connections.append(connection)

    def close(self) -> None:
        self.listener.close()
        for connection in self.connections:
            connection.close()


@pytest.fixture
def silent_server() -> Iterator[SilentServer]:
    server = SilentServer()
    yield server
    server.close()


def test_a_silent_relay_is_tried_once_per_flush(store: Store, tmp_path: Path, silent_server: SilentServer,
                                                smtp_server: SmtpServer) -> None:
    """The first mail times out; the others are postponed to its retry time untried, with no attempt
    counted, and go out once the relay answers again."""
    _enqueue(store, _job(1), _job(2), _job(3))
    silent = SmtpTransport(silent_server.host, silent_server.port, "none", None, None, timeout_s=0.5)
    counts = flush_mail(store, tmp_path, MAIL, silent, lambda: CLOCK)

    assert counts == {"sent": 0, "retry": 1, "failed": 0, "postponed": 2}
    assert len(silent_server.connections) == 1
    error = f"SMTP-сервер 127.0.0.1:{silent_server.port}: нет ответа (тайм-аут)"
    assert _states(store) == [("test:1", "queued", 1, error), ("test:2", "queued", 0, f"отложено: {error}"),
                              ("test:3", "queued", 0, f"отложено: {error}")]
    # nothing is due again before the first retry time: no new connection
    assert flush_mail(store, tmp_path, MAIL, silent, lambda: CLOCK + timedelta(seconds=59))["postponed"] == 0
    assert len(silent_server.connections) == 1

    later = CLOCK + timedelta(seconds=60)
    assert flush_mail(store, tmp_path, MAIL, _transport(smtp_server), lambda: later)["sent"] == 3
    assert [state[1] for state in _states(store)] == ["sent"] * 3


def test_a_relay_that_is_down_is_tried_once_per_flush(store: Store, tmp_path: Path,
                                                      smtp_server: SmtpServer) -> None:
    """Connection refused: one attempt, the rest postponed (the relay's failure, not each mail's)."""
    _enqueue(store, _job(1), _job(2))
    smtp_server.stop()
    counts = flush_mail(store, tmp_path, MAIL, _transport(smtp_server), lambda: CLOCK)
    assert counts == {"sent": 0, "retry": 1, "failed": 0, "postponed": 1}
    assert [state[2] for state in _states(store)] == [1, 0]


def test_a_zone_change_between_queueing_and_sending_holds_nothing(
    store: Store, tmp_path: Path, smtp_server: SmtpServer, zone: Callable[[str], None]
) -> None:
    """Queued at 10:00 in UTC+12, sent after the machine moved to UTC-12 (local clock 24 h behind): the
    queue keeps UTC, so the mail is due at once; it once waited a day."""
    zone("QUE-12")
    _enqueue(store, _job(1), now=local_now())
    [(stored,)] = store.conn.execute("SELECT next_attempt_at FROM mail_jobs").fetchall()
    assert stored.endswith("+00:00")

    zone("SND+12")
    counts = flush_mail(store, tmp_path, MAIL, _transport(smtp_server), local_now)
    assert counts["sent"] == 1
    assert len(smtp_server.messages) == 1


@pytest.fixture
def zone() -> Iterator[Callable[[str], None]]:
    """Set the process's time zone (POSIX TZ, so no tz database is needed); restored afterwards."""
    before = os.environ.get("TZ")

    def set_zone(tz: str) -> None:
        os.environ["TZ"] = tz
        time.tzset()

    yield set_zone
    if before is None:
        os.environ.pop("TZ", None)
    else:
        os.environ["TZ"] = before
    time.tzset()


def test_rows_queued_before_utc_are_read_as_local_time(store: Store, tmp_path: Path,
                                                       smtp_server: SmtpServer) -> None:
    """A job an older billdrop queued with a naive local time is due by that local time."""
    _enqueue(store, _job(1))
    naive_local = (CLOCK + timedelta(hours=1)).isoformat()
    store.conn.execute("UPDATE mail_jobs SET next_attempt_at = ?", (naive_local,))
    transport = _transport(smtp_server)
    assert flush_mail(store, tmp_path, MAIL, transport, lambda: CLOCK + timedelta(minutes=59))["sent"] == 0
    assert flush_mail(store, tmp_path, MAIL, transport, lambda: CLOCK + timedelta(hours=1))["sent"] == 1


def test_eml_files_are_written_not_sent(store: Store, tmp_path: Path) -> None:
    """Without a relay the job is «written» and logged as mail.written; only SMTP makes «sent»."""
    _enqueue(store, _job(1))
    with capture_logs() as logs:
        counts = flush_mail(store, tmp_path, MAIL, EmlFolderTransport(tmp_path / "mail"), lambda: CLOCK)
    assert counts == {"written": 1, "retry": 0, "failed": 0, "postponed": 0}
    assert _states(store)[0][1] == "written"
    assert [e["event"] for e in logs if e["event"].startswith("mail.")] == ["mail.written"]


def test_a_mail_that_cannot_be_written_fails_alone(store: Store, tmp_path: Path) -> None:
    """An address .eml files cannot carry in 7-bit headers (Cyrillic before the @) fails its own job with
    the error; the next mail is written."""
    _enqueue(store, _job(1, to="бухгалтерия@почта.рф"), _job(2))
    counts = flush_mail(store, tmp_path, MAIL, EmlFolderTransport(tmp_path / "mail"), lambda: CLOCK)
    assert counts == {"written": 1, "retry": 0, "failed": 1, "postponed": 0}
    [(_, status, attempts, error), second] = _states(store)
    assert (status, attempts, second[1]) == ("failed", 1, "written")
    assert error is not None and error.startswith("письмо не собрать или не отправить: UnicodeEncodeError")
    assert [p.name for p in (tmp_path / "mail").iterdir()] == ["2@severnet.example.ru.eml"]


def test_a_failed_job_can_be_retried(tmp_path: Path, smtp_server: SmtpServer, capsys) -> None:
    """`billdrop retry --mail` queues a failed job again with fresh attempts and sends it; an unknown
    number is named and exits 1; others stay as they are."""
    ws = make_workspace(tmp_path / "ws", smtp_port=smtp_server.port)
    smtp_server.refuse("buh1@client1.ru")
    store = Store(ws.state_path)
    try:
        _enqueue(store, _job(1), _job(2))
        flush_mail(store, ws.root, MAIL, _transport(smtp_server), lambda: CLOCK)
        [(failed_id,)] = store.conn.execute("SELECT id FROM mail_jobs WHERE status = 'failed'").fetchall()
    finally:
        store.close()
    smtp_server.refusals.clear()  # the address was fixed at the client's end
    capsys.readouterr()

    assert main(["retry", "--mail", str(failed_id + 100), "-w", str(ws.root)]) == 1
    assert capsys.readouterr().out.splitlines() == [
        f"нет писем с ошибкой под номерами: {failed_id + 100}", "снова в очереди: 0",
    ]
    assert main(["retry", "--mail", "-w", str(ws.root)]) == 0
    assert capsys.readouterr().out.strip() == "снова в очереди: 1; отправлено по SMTP: 1"
    assert [d.rcpt_tos for d in smtp_server.deliveries] == [("buh2@client2.ru",), ("buh1@client1.ru",)]


def test_smtp_timeout_defaults_to_seconds(tmp_path: Path) -> None:
    """A workspace's SMTP transport gives up on a silent relay within 15 s per step, not 30 s or more."""
    ws = make_workspace(tmp_path / "ws", smtp_port=2525)
    transport = mail_transport(ws, load_settings(ws.root))
    assert isinstance(transport, SmtpTransport)
    assert transport.timeout_s == 15


# --- through the runner: a hostile file name, every subject as intended --------------------------------

HOSTILE_NAME = "a\r\nBcc: x@evil.example.csv"


def test_a_crlf_file_name_reaches_the_operator_as_one_subject(tmp_path: Path, smtp_server: SmtpServer,
                                                              shared_samples: Path) -> None:
    """A rejected file named «a\\r\\nBcc: x@evil…» gives the operator one notice, to the operator only,
    and the month's client mails behind it are sent too (the notice once aborted every later mail)."""
    ws = make_workspace(tmp_path / "ws", smtp_port=smtp_server.port)
    shutil.copy(HOSTILE / "charges" / "bad_cells.csv", ws.inbox("charges") / HOSTILE_NAME)
    run_once(ws, load_settings(ws.root))
    shutil.copy(shared_samples / "charges" / "isp_charges_2026-11.csv", ws.inbox("charges") / "month.csv")
    run_once(ws, load_settings(ws.root))

    notices = [d for d in smtp_server.deliveries if d.rcpt_tos == ("operator@severnet.example.ru",)]
    assert len(notices) == 1
    notice = notices[0].message
    assert notice["Bcc"] is None
    assert notice["Subject"].startswith("billdrop: файл «a\\x0d\\x0aBcc: x@evil.example.csv» отклонён (")
    assert all("x@evil.example" not in d.rcpt_tos for d in smtp_server.deliveries)
    clients = [d for d in smtp_server.deliveries if d not in notices]
    assert len(clients) == 25  # one mail per client of the month, behind the notice in the queue
    assert mail_states(ws) == {"sent": 26}


def test_every_subject_decodes_to_the_one_rendered(tmp_path: Path, smtp_server: SmtpServer,
                                                   shared_samples: Path) -> None:
    """Each mail of a month, as the relay got it, has exactly the subject its template rendered."""
    ws = make_workspace(tmp_path / "ws", smtp_port=smtp_server.port)
    shutil.copy(shared_samples / "charges" / "isp_charges_2026-11.csv", ws.inbox("charges") / "month.csv")
    run_once(ws, load_settings(ws.root))

    store = Store(ws.state_path)
    try:
        intended = dict(store.conn.execute("SELECT message_id, subject FROM mail_jobs").fetchall())
    finally:
        store.close()
    received = {m["Message-ID"]: m["Subject"] for m in smtp_server.messages}
    assert received == intended
    assert any("акт оказания услуг №" in subject for subject in received.values())


def mail_states(ws: Workspace) -> dict[str, int]:
    store = Store(ws.state_path)
    try:
        return queue.counts(store.conn)
    finally:
        store.close()
