"""The types every mailer shares (see the package docstring for the contract)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import format_datetime
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

    def to_email(self) -> EmailMessage:
        message = EmailMessage()
        message["From"] = self.sender
        message["To"] = self.recipient
        message["Subject"] = self.subject
        message["Message-ID"] = self.message_id
        message["Date"] = format_datetime(utcnow())
        for name, value in self.headers.items():
            message[name] = value
        message.set_content(self.text)
        message.add_alternative(self.html, subtype="html")
        return message


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
