"""Typed settings loading shared by every process: a TOML file, then ``THUVIEN_...`` environment overrides.

Each process (server, edge agent, kiosk, gate) declares its own ``pydantic-settings`` class deriving from
:class:`ProcessSettings`; :func:`load_settings` reads the file, applies the environment and turns every
validation problem into one :class:`SettingsError` sentence that names the bad key and what to do.

Settings naming files use :data:`ReadableFile` (the file must exist and be readable when the settings are
loaded) and :func:`check_key_pair` (a TLS client certificate and its private key, given together and matching),
so that a wrong path is reported at start-up in one sentence rather than as a TLS failure later.

Exceptions::

    SettingsError (ValueError)   the file is missing or unreadable, not TOML, or a value is invalid
"""

from __future__ import annotations

import logging
import os
import ssl
import tomllib
from pathlib import Path
from typing import Annotated, Any, TypeVar

from pydantic import AfterValidator, ValidationError
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


def _readable_file(value: Path) -> Path:
    path = value.expanduser()
    if not path.is_file():
        raise ValueError(f"file {str(path)!r} does not exist (or is not a file)")
    try:
        with path.open("rb"):
            pass
    except OSError as exc:
        raise ValueError(f"file {str(path)!r} cannot be read ({exc.strerror or exc})") from None
    return path


ReadableFile = Annotated[Path, AfterValidator(_readable_file)]
"""A path to a file that exists and can be read (checked when the settings are loaded)."""


def check_key_pair(cert: Path | None, key: Path | None) -> None:
    """A TLS client certificate and its private key: both or neither, and the key must match the certificate
    (``ValueError`` naming both files otherwise)."""
    if (cert is None) != (key is None):
        raise ValueError("tls_cert and tls_key go together: give both (a client certificate and its key) or neither")
    if cert is None or key is None:
        return
    try:
        ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT).load_cert_chain(cert, key)
    except ssl.SSLError as exc:
        raise ValueError(
            f"tls_cert {str(cert)!r} and tls_key {str(key)!r} are not a PEM certificate and its matching "
            f"unencrypted private key ({exc.reason or exc})"
        ) from None


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
