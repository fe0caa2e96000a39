"""SMTP delivery with the standard library's smtplib.

One connection serves a whole batch; a connection that failed is dropped and the
next message opens a fresh one. Replies map to the port's errors: 4xx and lost or
refused connections are transient, 5xx replies are permanent.
"""

from __future__ import annotations

import smtplib
import ssl

from service.mail.port import (
    Mailer,
    MailSession,
    OutgoingMessage,
    PermanentMailError,
    Receipt,
    TransientMailError,
)


def _decode(reply: bytes | str) -> str:
    text = reply.decode("utf-8", "replace") if isinstance(reply, bytes) else reply
    return " ".join(text.split())[:300]


def _by_code(code: int, reply: bytes | str, what: str) -> Exception:
    reason = f"{what}: {code} {_decode(reply)}"
    if 400 <= code < 500:
        return TransientMailError(reason, code)
    return PermanentMailError(reason, code)


class SmtpSession(MailSession):
    def __init__(self, mailer: SmtpMailer) -> None:
        self.mailer = mailer
        self.connection: smtplib.SMTP | None = None

    def _connect(self) -> smtplib.SMTP:
        mailer = self.mailer
        context = ssl.create_default_context()
        connection: smtplib.SMTP
        if mailer.security == "tls":
            connection = smtplib.SMTP_SSL(
                mailer.host, mailer.port, timeout=mailer.timeout, context=context
            )
        else:
            connection = smtplib.SMTP(mailer.host, mailer.port, timeout=mailer.timeout)
        connection.ehlo_or_helo_if_needed()
        if mailer.security == "starttls":
            connection.starttls(context=context)
            connection.ehlo()
        if mailer.username:
            connection.login(mailer.username, mailer.password or "")
        return connection

    def send(self, message: OutgoingMessage) -> Receipt:
        try:
            if self.connection is None:
                self.connection = self._connect()
            recipient = message.envelope_recipient
            options = [] if recipient.isascii() else ["SMTPUTF8"]
            refused = self.connection.sendmail(
                message.envelope_sender, [recipient], message.as_bytes(), mail_options=options
            )
        except smtplib.SMTPRecipientsRefused as error:
            code, reply = next(iter(error.recipients.values()))
            raise _by_code(code, reply, "recipient refused") from error
        except smtplib.SMTPSenderRefused as error:
            raise _by_code(error.smtp_code, error.smtp_error, "sender refused") from error
        except smtplib.SMTPDataError as error:
            raise _by_code(error.smtp_code, error.smtp_error, "message refused") from error
        except smtplib.SMTPAuthenticationError as error:
            # A configuration problem, not the recipient's: retry, so fixing it saves the mail.
            self._drop()
            raise TransientMailError(
                f"SMTP login failed: {error.smtp_code}", error.smtp_code
            ) from error
        except smtplib.SMTPResponseException as error:
            self._drop()
            raise _by_code(error.smtp_code, error.smtp_error, "SMTP error") from error
        except (TimeoutError, smtplib.SMTPException, OSError) as error:
            self._drop()
            raise TransientMailError(f"SMTP connection failed: {type(error).__name__}") from error
        if refused:
            code, reply = next(iter(refused.values()))
            raise _by_code(code, reply, "recipient refused")
        return Receipt(250)

    def _drop(self) -> None:
        if self.connection is not None:
            try:
                self.connection.close()
            finally:
                self.connection = None

    def close(self) -> None:
        if self.connection is not None:
            try:
                self.connection.quit()
            except (smtplib.SMTPException, OSError):
                pass
            finally:
                self._drop()


class SmtpMailer(Mailer):
    name = "smtp"

    def __init__(
        self,
        host: str,
        port: int,
        security: str = "none",
        username: str | None = None,
        password: str | None = None,
        timeout: float = 10.0,
    ) -> None:
        self.host = host
        self.port = port
        self.security = security
        self.username = username
        self.password = password
        self.timeout = timeout

    def open(self) -> MailSession:
        return SmtpSession(self)
