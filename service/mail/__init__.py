"""The mailer port: how an invitation leaves the building.

One setting (`ROLECALL_MAILER`) chooses the implementation: `folder` (the embedded
default, one .eml file per message), `smtp` (smtplib) or `http` (an email API via
requests). Every implementation keeps the same contract, checked by one test class:

- `open()` gives a session that may be reused for many messages (one SMTP
  connection for a whole batch) and is closed by its context manager.
- `MailSession.send(message)` returns a `Receipt` only when the far side has
  accepted responsibility for the message (SMTP's 250 after DATA, an HTTP 2xx).
- It raises `TransientMailError` when trying again later may work (4xx replies,
  a dropped or refused connection, a timeout) and `PermanentMailError` when it
  will not (5xx replies, an address the server refuses). Both carry the reply code
  when there is one and a reason fit to show an admin (never a credential).
- A message carries its own Message-ID; sending the same message twice is the
  caller's decision, never the mailer's: no implementation retries by itself.
"""

from __future__ import annotations

from service.mail.port import (
    Mailer,
    MailError,
    MailSession,
    OutgoingMessage,
    PermanentMailError,
    Receipt,
    TransientMailError,
)
from service.settings import Settings

__all__ = [
    "MailError",
    "MailSession",
    "Mailer",
    "OutgoingMessage",
    "PermanentMailError",
    "Receipt",
    "TransientMailError",
    "make_mailer",
]


def make_mailer(settings: Settings) -> Mailer:
    if settings.mailer == "smtp":
        from service.mail.smtp import SmtpMailer

        return SmtpMailer(
            host=settings.smtp_host,
            port=settings.smtp_port,
            security=settings.smtp_security,
            username=settings.smtp_username,
            password=settings.smtp_password,
            timeout=settings.smtp_timeout_seconds,
        )
    if settings.mailer == "http":
        from service.mail.http import HttpMailer

        assert settings.mail_http_url is not None  # Settings.validate guarantees it
        return HttpMailer(settings.mail_http_url, settings.mail_http_token)
    from service.mail.folder import FolderMailer

    return FolderMailer(settings.mail_folder)
