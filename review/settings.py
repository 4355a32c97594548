"""The web app's configuration: validated once in ``main()``/``create_app`` and passed
down. Secrets come from the environment and never have a usable default.

Also the rules of the admin's settings form (:func:`parse_settings_form`): the values
admins change at run time, stored in the review store; every field is checked before
any is saved."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Annotated, Any, Self

from pydantic import BeforeValidator, Field, field_validator, model_validator
from pydantic_settings import NoDecode

from notices.mailbox import mailbox_problem
from ops.settings import RadarSettings, comma_list, empty_is_none


def _unset_is_off(value: object) -> object:
    return False if value == "" else value


class ReviewSettings(RadarSettings):
    """``db``: the embedded store (cases; hits too unless ``elasticsearch``); review and
    notice state live in the same SQLite file. ``allowed_networks`` is the image
    proxy's and re-checker's opt-in to private addresses (tests and the demo only).
    ``image_fetches``: how many image-proxy fetches may run at once (more get 503).
    ``from_env`` reads ``RADAR_REVIEW_SECRET``, ``_SECURE_COOKIES`` (``1``, or any of
    pydantic's true words), ``_ALLOWED_NETWORKS`` (comma-separated) and
    ``RADAR_PROVIDER_DIRECTORY``; the rest are the command line's."""

    db: str = Field(repr=False)  # a postgresql:// URL may carry the password
    # "" is refused like any short key: there is no usable default.
    secret_key: str = Field(
        default="", validation_alias="RADAR_REVIEW_SECRET", repr=False, validate_default=True
    )
    elasticsearch: bool = False
    allowed_networks: Annotated[tuple[str, ...], NoDecode, BeforeValidator(comma_list)] = Field(
        default=(), validation_alias="RADAR_REVIEW_ALLOWED_NETWORKS"
    )
    session_hours: float = 12.0
    secure_cookies: Annotated[bool, BeforeValidator(_unset_is_off)] = Field(
        default=False, validation_alias="RADAR_REVIEW_SECURE_COOKIES"
    )
    claim_minutes: float = 10.0
    undo_minutes: float = 5.0  # how long an analyst may withdraw their last decision
    scheduler_minutes: float = 15.0  # 0: no background re-check scheduler
    provider_directory: str | None = Field(
        default=None, validation_alias="RADAR_PROVIDER_DIRECTORY"
    )
    image_fetches: int = 8

    _optional = field_validator("provider_directory", mode="before")(empty_is_none)

    @field_validator("secret_key")
    @classmethod
    def _secret(cls, value: str) -> str:
        if len(value) < 32 or value.lower() in ("changeme", "secret"):
            raise ValueError(
                "RADAR_REVIEW_SECRET must be a random string of at least 32 characters "
                '(e.g. python -c "import secrets; print(secrets.token_urlsafe(48))")'
            )
        return value

    @model_validator(mode="after")
    def _times(self) -> Self:
        if self.session_hours <= 0 or self.claim_minutes <= 0 or self.scheduler_minutes < 0:
            raise ValueError("session, claim and scheduler times must be positive")
        if self.undo_minutes < 0:
            raise ValueError("undo_minutes must not be negative")
        if self.image_fetches < 1:
            raise ValueError("image_fetches must be at least 1")
        return self

    @classmethod
    def from_env(  # type: ignore[override]  # the store is the command line's, first
        cls, db: str, env: Mapping[str, str] = os.environ, **overrides: Any
    ) -> Self:
        """The settings for the store ``db`` in ``env``; ``overrides`` (by field name)
        take precedence over ``env``."""
        return super().from_env(env, db=db, **overrides)


# -- the admin's settings form (stored in the review store, changed at run time) --------------
NOTIFIER_KEYS = (
    "notifier_name",
    "notifier_org",
    "notifier_email",
    "notifier_phone",
    "notifier_address",
)
# name -> (kind, lowest, highest): whole numbers and hours the form accepts
NUMBERS: dict[str, tuple[type, float, float]] = {
    "consensus": (int, 1, 5),
    "exposure_budget": (int, 0, 1000),
    "recheck_every_hours": (float, 0, 8760),
    "remind_after_hours": (float, 0, 8760),
    "max_reminders": (int, 0, 20),
}
CHECKBOXES = ("escalate", "auto_send")
MAX_TEXT = 500


def form_values(stored: Mapping[str, Any]) -> dict[str, Any]:
    """The settings form's values (text for the inputs, bools for the checkboxes) from
    the stored settings ``stored`` (with their defaults filled in)."""
    notifier = stored.get("notifier") or {}
    values: dict[str, Any] = {k: _number_text(stored.get(k, "")) for k in NUMBERS}
    values |= {k: bool(stored.get(k)) for k in CHECKBOXES}
    values |= {k: str(notifier.get(k, "")) for k in NOTIFIER_KEYS}
    return values


def _number_text(value: object) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def parse_settings_form(
    form: Mapping[str, Any], current: Mapping[str, Any]
) -> tuple[dict[str, Any], dict[str, Any], dict[str, str]]:
    """Check every field of the posted settings form at once.

    Returns ``(typed, settings, errors)``: ``typed`` is what the form shows again (what
    was posted, a field missing from the post keeps its ``current`` form value);
    ``settings`` the values to store (setting name -> value, the notifier as one dict),
    meaningful only when ``errors`` (field name -> a sentence for the admin) is empty.
    Never raises for bad input."""
    typed: dict[str, Any] = {}
    for key in (*NUMBERS, *NOTIFIER_KEYS):
        raw = form[key] if key in form else current.get(key, "")
        typed[key] = str(raw).replace("\r\n", "\n").strip()
    for key in CHECKBOXES:
        typed[key] = form.get(key) == "on"
    errors: dict[str, str] = {}
    settings: dict[str, Any] = {}
    for key, (kind, low, high) in NUMBERS.items():
        text = typed[key]
        what = "a whole number" if kind is int else "a number"
        rule = f"{what} from {low:g} to {high:g}"
        try:
            value = kind(text)
        except ValueError:
            errors[key] = f"Enter {rule}." if text else f"Required: {rule}."
            continue
        if not (low <= value <= high):  # also NaN
            errors[key] = f"Out of range: enter {rule}."
            continue
        settings[key] = value
    for key in CHECKBOXES:
        settings[key] = typed[key]
    for key in NOTIFIER_KEYS:
        if len(typed[key]) > MAX_TEXT:
            errors[key] = f"At most {MAX_TEXT} characters."
    email = typed["notifier_email"]
    if email and "notifier_email" not in errors and (problem := mailbox_problem(email)):
        errors["notifier_email"] = f"Not one e-mail address: {problem}."
    settings["notifier"] = {k: typed[k] for k in NOTIFIER_KEYS}
    return typed, settings, errors
