"""Typed settings loading shared by every process: a TOML file, then ``THUVIEN_...`` environment overrides.

Each process (server, edge agent, kiosk, gate) declares its own ``pydantic-settings`` class deriving from
:class:`ProcessSettings`; :func:`load_settings` reads the file, applies the environment and turns every
validation problem into one :class:`SettingsError` sentence that names the bad key and what to do.

Exceptions::

    SettingsError (ValueError)   the file is missing or unreadable, not TOML, or a value is invalid
"""

from __future__ import annotations

import logging
import os
import tomllib
from pathlib import Path
from typing import Any, TypeVar

from pydantic import ValidationError
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

log = logging.getLogger(__name__)

CONFIG_ENV = "THUVIEN_CONFIG"


class SettingsError(ValueError):
    """A settings file or environment variable that cannot be used, explained in one sentence."""


class ProcessSettings(BaseSettings):
    """Base for every process's settings: unknown keys are refused; the environment wins over the file."""

    model_config = SettingsConfigDict(
        env_prefix="THUVIEN_",
        env_nested_delimiter="__",
        extra="forbid",
        validate_default=True,
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
        # The file's values arrive as init arguments; environment variables override them.
        return env_settings, init_settings


S = TypeVar("S", bound=ProcessSettings)


def read_toml(path: Path) -> dict[str, Any]:
    """Read a settings file, with a one-sentence error when it is missing or not TOML."""
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        raise SettingsError(f"settings file {str(path)!r} does not exist; check the --config path") from None
    except PermissionError:
        raise SettingsError(f"settings file {str(path)!r} cannot be read (permission denied)") from None
    except tomllib.TOMLDecodeError as exc:
        raise SettingsError(f"settings file {str(path)!r} is not valid TOML: {exc}") from None


def _describe(error: dict[str, Any], source: str) -> str:
    key = ".".join(str(part) for part in error.get("loc", ())) or "(top level)"
    env = "THUVIEN_" + "__".join(str(part) for part in error.get("loc", ())).upper()
    if error.get("type") == "extra_forbidden":
        return f"unknown setting {key!r} in {source}; remove it or check its spelling (see docs/configuration.md)"
    message = str(error.get("msg", "invalid value"))
    if message.startswith("Value error, "):
        message = message.removeprefix("Value error, ")
    return f"setting {key!r} ({source} or {env}): {message}"


def load_settings(cls: type[S], config_file: Path | str | None = None, **overrides: Any) -> S:
    """Build ``cls`` from ``config_file`` (or ``$THUVIEN_CONFIG``), the environment and ``overrides``.

    ``overrides`` are applied over the file but under the environment, as the file's values are.
    """
    path_text = config_file if config_file is not None else os.environ.get(CONFIG_ENV)
    data: dict[str, Any] = {}
    source = "the environment"
    if path_text:
        path = Path(path_text)
        data = read_toml(path)
        source = f"settings file {str(path)!r}"
        log.debug("settings read from %s", path)
    data = _merge(data, overrides)
    try:
        return cls(**data)
    except ValidationError as exc:
        errors = exc.errors()
        first = _describe(dict(errors[0]), source)
        more = f" (and {len(errors) - 1} more problem(s))" if len(errors) > 1 else ""
        raise SettingsError(first + more) from None


def _merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged
