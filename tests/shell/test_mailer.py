"""Mail transports against a real SMTP server on loopback, and .eml files in a folder."""
from __future__ import annotations

import socket
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from daemon.mailer import EmlFolderTransport, MailError, SmtpTransport, compose, retry_delay_s

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
