"""Sending a notice by SMTP. Settings come from the environment (secrets never have a
default and stay out of ``repr``)."""

from __future__ import annotations

import os
import smtplib
import ssl
from collections.abc import Mapping
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Protocol


class SendError(Exception):
    """The message was not accepted by the SMTP server; the text says why."""


@dataclass(frozen=True, slots=True)
class SmtpSettings:
    host: str = "127.0.0.1"
    port: int = 25
    security: str = "none"  # none, starttls, tls
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    sender: str = "notices@reupload-radar.local"
    timeout: float = 30.0

    def __post_init__(self) -> None:
        if self.security not in ("none", "starttls", "tls"):
            raise ValueError("RADAR_SMTP_SECURITY must be none, starttls or tls")
        if bool(self.username) != bool(self.password):
            raise ValueError("RADAR_SMTP_USERNAME and RADAR_SMTP_PASSWORD go together")

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ) -> SmtpSettings:
        return cls(
            host=env.get("RADAR_SMTP_HOST", "127.0.0.1"),
            port=int(env.get("RADAR_SMTP_PORT", "25")),
            security=env.get("RADAR_SMTP_SECURITY", "none"),
            username=env.get("RADAR_SMTP_USERNAME") or None,
            password=env.get("RADAR_SMTP_PASSWORD") or None,
            sender=env.get("RADAR_SMTP_SENDER", "notices@reupload-radar.local"),
        )


class Mailer(Protocol):
    sender: str

    def send(self, message: EmailMessage) -> None:
        """Deliver or raise SendError."""
        ...


class SmtpMailer:
    def __init__(self, settings: SmtpSettings) -> None:
        self.settings = settings
        self.sender = settings.sender

    def send(self, message: EmailMessage) -> None:
        s = self.settings
        try:
            if s.security == "tls":
                client: smtplib.SMTP = smtplib.SMTP_SSL(
                    s.host, s.port, timeout=s.timeout, context=ssl.create_default_context()
                )
            else:
                client = smtplib.SMTP(s.host, s.port, timeout=s.timeout)
            with client:
                if s.security == "starttls":
                    client.starttls(context=ssl.create_default_context())
                if s.username and s.password:
                    client.login(s.username, s.password)
                refused = client.send_message(message)
        except (smtplib.SMTPException, OSError) as exc:
            raise SendError(f"SMTP {s.host}:{s.port}: {exc}") from exc
        if refused:
            raise SendError(f"recipients refused: {', '.join(refused)}")
