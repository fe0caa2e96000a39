"""The embedded default: each message becomes one .eml file in a folder, so
`rolecall dev` needs no mail server. The file is named after the Message-ID and
written atomically, so a message written twice is still one file."""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path

from service.mail.port import Mailer, MailSession, OutgoingMessage, Receipt, TransientMailError

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")


class FolderSession(MailSession):
    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def send(self, message: OutgoingMessage) -> Receipt:
        name = _UNSAFE.sub("_", message.message_id.strip("<>")) + ".eml"
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            handle, temporary = tempfile.mkstemp(dir=self.folder, suffix=".tmp")
            with os.fdopen(handle, "wb") as stream:
                stream.write(message.as_bytes())
            os.replace(temporary, self.folder / name)
        except OSError as error:
            raise TransientMailError(
                f"cannot write to the mail folder: {error.strerror}"
            ) from error
        return Receipt(250, name)


class FolderMailer(Mailer):
    name = "folder"

    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)

    def open(self) -> MailSession:
        return FolderSession(self.folder)

    def messages(self) -> list[Path]:
        return sorted(self.folder.glob("*.eml")) if self.folder.exists() else []
