"""The types every mailer shares (see the package docstring for the contract)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from email.header import Header
from email.message import Message
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.policy import compat32
from email.utils import format_datetime, formataddr, parseaddr
from types import TracebackType

from service.persistence.base import utcnow


@dataclass(frozen=True)
class OutgoingMessage:
    sender: str
    recipient: str
    subject: str
    text: str
    html: str
    message_id: str
    headers: dict[str, str] = field(default_factory=dict)

    def to_email(self) -> Message:
        """multipart/alternative (text, then HTML), UTF-8, headers RFC 2047-encoded when
        not ASCII. Built with the compat32 MIME classes: several times faster than
        EmailMessage, and a bulk job builds one per invitation."""
        message = MIMEMultipart("alternative")
        message["From"] = _address(self.sender)
        message["To"] = _address(self.recipient)
        message["Subject"] = _header(self.subject)
        message["Message-ID"] = self.message_id
        message["Date"] = format_datetime(utcnow())
        for name, value in self.headers.items():
            message[name] = _header(value)
        message.attach(MIMEText(self.text, "plain", "utf-8"))
        message.attach(MIMEText(self.html, "html", "utf-8"))
        return message

    def as_bytes(self) -> bytes:
        # CRLF line ends: smtplib passes bytes through as they are.
        return self.to_email().as_bytes(policy=_WIRE)

    @property
    def envelope_sender(self) -> str:
        return parseaddr(self.sender)[1]

    @property
    def envelope_recipient(self) -> str:
        return parseaddr(self.recipient)[1] or self.recipient


_WIRE = compat32.clone(linesep="\r\n")


def _header(value: str) -> str:
    return value if value.isascii() else Header(value, "utf-8").encode()


def _address(value: str) -> str:
    name, address = parseaddr(value)
    if not name or name.isascii():
        return value
    return formataddr((name, address), charset="utf-8")


@dataclass(frozen=True)
class Receipt:
    """The far side took the message: its reply code and text (an SMTP queue id, say)."""

    code: int
    reply: str = ""


class MailError(Exception):
    def __init__(self, reason: str, code: int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.code = code


class TransientMailError(MailError):
    """Trying again later may work."""


class PermanentMailError(MailError):
    """Trying again will not work; the invitation fails with this reason."""


class MailSession(ABC):
    @abstractmethod
    def send(self, message: OutgoingMessage) -> Receipt: ...

    def close(self) -> None:  # noqa: B027 - most sessions hold nothing to release
        """Release the connection, if any."""

    def __enter__(self) -> MailSession:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


class Mailer(ABC):
    name: str

    @abstractmethod
    def open(self) -> MailSession: ...
