"""The base of every role's settings object: a frozen pydantic-settings model.

Each field that comes from the environment names its variable as its
``validation_alias`` (``RADAR_KAFKA_BOOTSTRAP``), declared in :mod:`ops.environment`.
Constructing a settings object directly (``KafkaSettings(namespace="t.")``) reads only
its arguments, never the environment; ``from_env(env)`` reads the mapping ``env``
(``os.environ`` by default) at a role's entry point, with keyword arguments taking
precedence over it. A bad value raises :class:`pydantic.ValidationError` (a
``ValueError``) whose message names the variable.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, Self

from pydantic_settings import (
    BaseSettings,
    EnvSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

# The mapping the settings object being built by ``from_env`` reads (None: none).
_READING: ContextVar[Mapping[str, str] | None] = ContextVar("radar_settings_env", default=None)


class MappingSource(EnvSettingsSource):
    """pydantic-settings' environment source, reading the ``RADAR_*`` names of ``env``
    instead of ``os.environ`` (so a field is never read under its own name)."""

    def __init__(self, settings_cls: type[BaseSettings], env: Mapping[str, str]) -> None:
        self._env = env
        super().__init__(settings_cls)

    def _load_env_vars(self) -> Mapping[str, str | None]:
        return {name: value for name, value in self._env.items() if name.startswith("RADAR_")}


class RadarSettings(BaseSettings):
    """Frozen (hashable), no unknown fields, constructed by field name; see the module.
    Errors never quote the input: it may hold a secret."""

    model_config = SettingsConfigDict(
        frozen=True,
        extra="forbid",
        case_sensitive=True,
        populate_by_name=True,
        hide_input_in_errors=True,
    )

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        env = _READING.get()
        if env is None:
            return (init_settings,)
        return (init_settings, MappingSource(settings_cls, env))

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ, **values: Any) -> Self:
        """The settings in ``env``; ``values`` (by field name) take precedence."""
        with _reading(env):
            return cls(**values)


@contextmanager
def _reading(env: Mapping[str, str]) -> Iterator[None]:
    token = _READING.set(env)
    try:
        yield
    finally:
        _READING.reset(token)


def empty_is_none(value: object) -> object:
    """For an optional field: an empty variable means unset."""
    return None if value == "" else value


def whole_number(name: str, value: object) -> object:
    """``value`` as an int, or a ValueError naming the variable ``name``."""
    if isinstance(value, str):
        try:
            return int(value)
        except ValueError:
            raise ValueError(f"{name} must be a whole number, got {value!r}") from None
    return value


def comma_list(value: object) -> object:
    """A comma-separated variable as a tuple of its non-empty, stripped items."""
    if isinstance(value, str):
        return tuple(item.strip() for item in value.split(",") if item.strip())
    return value
