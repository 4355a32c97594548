"""The web app's configuration: validated once in ``main()``/``create_app`` and passed
down. Secrets come from the environment and never have a usable default."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class ReviewSettings:
    """``db``: the embedded store (cases; hits too unless ``elasticsearch``); review and
    notice state live in the same SQLite file. ``allowed_networks`` is the image
    proxy's and re-checker's opt-in to private addresses (tests and the demo only).
    ``image_fetches``: how many image-proxy fetches may run at once (more get 503)."""

    db: str
    secret_key: str = field(repr=False)
    elasticsearch: bool = False
    allowed_networks: tuple[str, ...] = ()
    session_hours: float = 12.0
    secure_cookies: bool = False
    claim_minutes: float = 10.0
    undo_minutes: float = 5.0  # how long an analyst may withdraw their last decision
    scheduler_minutes: float = 15.0  # 0: no background re-check scheduler
    provider_directory: str | None = None
    image_fetches: int = 8

    def __post_init__(self) -> None:
        if len(self.secret_key) < 32 or self.secret_key.lower() in ("changeme", "secret"):
            raise ValueError(
                "RADAR_REVIEW_SECRET must be a random string of at least 32 characters "
                '(e.g. python -c "import secrets; print(secrets.token_urlsafe(48))")'
            )
        if self.session_hours <= 0 or self.claim_minutes <= 0 or self.scheduler_minutes < 0:
            raise ValueError("session, claim and scheduler times must be positive")
        if self.undo_minutes < 0:
            raise ValueError("undo_minutes must not be negative")
        if self.image_fetches < 1:
            raise ValueError("image_fetches must be at least 1")

    @classmethod
    def from_env(cls, db: str, env: Mapping[str, str] = os.environ, **overrides: object):
        nets = tuple(n for n in env.get("RADAR_REVIEW_ALLOWED_NETWORKS", "").split(",") if n)
        values: dict[str, object] = {
            "db": db,
            "secret_key": env.get("RADAR_REVIEW_SECRET", ""),
            "allowed_networks": nets,
            "secure_cookies": env.get("RADAR_REVIEW_SECURE_COOKIES", "0") == "1",
            "provider_directory": env.get("RADAR_PROVIDER_DIRECTORY") or None,
        }
        values.update(overrides)
        return cls(**values)  # type: ignore[arg-type]
