"""Delivery through an HTTP email API with requests.

The request is a JSON document (from, to, subject, text, html, message_id,
headers) POSTed with a bearer token; the Message-ID doubles as the
Idempotency-Key, so an API that honours that header drops a repeated message.
2xx is accepted; 408, 429 and 5xx are transient; any other 4xx is permanent.
"""

from __future__ import annotations

import requests

from service.mail.port import (
    Mailer,
    MailSession,
    OutgoingMessage,
    PermanentMailError,
    Receipt,
    TransientMailError,
)


class HttpSession(MailSession):
    def __init__(self, mailer: HttpMailer) -> None:
        self.mailer = mailer
        self.http = requests.Session()
        if mailer.token:
            self.http.headers["Authorization"] = f"Bearer {mailer.token}"

    def send(self, message: OutgoingMessage) -> Receipt:
        body = {
            "from": message.sender,
            "to": message.recipient,
            "subject": message.subject,
            "text": message.text,
            "html": message.html,
            "message_id": message.message_id,
            "headers": message.headers,
        }
        try:
            response = self.http.post(
                self.mailer.url,
                json=body,
                headers={"Idempotency-Key": message.message_id},
                timeout=self.mailer.timeout,
            )
        except requests.RequestException as error:
            raise TransientMailError(f"mail API unreachable: {type(error).__name__}") from error
        code = response.status_code
        if 200 <= code < 300:
            return Receipt(code, response.text[:200])
        reason = f"mail API answered {code}: {response.text[:200]}"
        if code in {408, 429} or code >= 500:
            raise TransientMailError(reason, code)
        raise PermanentMailError(reason, code)

    def close(self) -> None:
        self.http.close()


class HttpMailer(Mailer):
    name = "http"

    def __init__(self, url: str, token: str | None, timeout: float = 10.0) -> None:
        self.url = url
        self.token = token
        self.timeout = timeout

    def open(self) -> MailSession:
        return HttpSession(self)
