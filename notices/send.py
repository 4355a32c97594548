"""Sending a notice by SMTP. Settings come from the environment (secrets never have a
default and stay out of ``repr``)."""

from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage
from typing import Annotated, Protocol, Self

from pydantic import BeforeValidator, Field, field_validator, model_validator

from ops.settings import RadarSettings, empty_is_none, whole_number


class SendError(Exception):
    """The message was not accepted by the SMTP server; the text says why."""


def _port(value: object) -> object:
    return whole_number("RADAR_SMTP_PORT", value)


class SmtpSettings(RadarSettings):
    """How to reach the SMTP server; ``from_env`` reads ``RADAR_SMTP_*``."""

    host: str = Field(default="127.0.0.1", validation_alias="RADAR_SMTP_HOST")
    port: Annotated[int, BeforeValidator(_port)] = Field(
        default=25, validation_alias="RADAR_SMTP_PORT"
    )
    security: str = Field(
        default="none", validation_alias="RADAR_SMTP_SECURITY"
    )  # none, starttls, tls
    username: str | None = Field(default=None, validation_alias="RADAR_SMTP_USERNAME")
    password: str | None = Field(default=None, validation_alias="RADAR_SMTP_PASSWORD", repr=False)
    sender: str = Field(
        default="notices@reupload-radar.local", validation_alias="RADAR_SMTP_SENDER"
    )
    timeout: float = 30.0

    _optional = field_validator("username", "password", mode="before")(empty_is_none)

    @field_validator("security")
    @classmethod
    def _security(cls, value: str) -> str:
        if value not in ("none", "starttls", "tls"):
            raise ValueError("RADAR_SMTP_SECURITY must be none, starttls or tls")
        return value

    @model_validator(mode="after")
    def _login(self) -> Self:
        if bool(self.username) != bool(self.password):
            raise ValueError("RADAR_SMTP_USERNAME and RADAR_SMTP_PASSWORD go together")
        return self


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
