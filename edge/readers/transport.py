"""Reader URLs → an open :class:`~edge.readers.base.TagReader`.

=========================================================  ==============================================
``serial:///dev/serial/by-id/usb-FEIG...?driver=feig``     native serial port (store by-id paths)
``serial:///dev/ttyUSB0?driver=3m&baud=19200``             3M/Bibliotheca 810 pad
``socket://10.0.0.5:10001?driver=feig``                    Ethernet reader or ser2net
``spy:///dev/ttyUSB0?driver=feig&file=/tmp/feig.log``      pyserial's hex-dump spy around a native port
``loop://?driver=feig``                                    pyserial loop-back (parser tests)
``sim://?driver=feig&tags=demo-tags.json&timing=on``       an in-process simulator on a pseudo-terminal
``pcsc://ACS ACR1552``                                     PC/SC reader whose name contains the text
=========================================================  ==============================================

Query keys used here: ``driver`` (feig, 3m; default feig), ``baud``, ``parity`` (N, E, O), ``address``,
``timeout`` (s), ``block_order`` (msb, lsb), ``advanced`` (1: FEIG advanced frames), ``retries`` (3m).
Other keys go to pyserial unchanged.
"""

from __future__ import annotations

import logging
import os
import termios
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit

from .base import TagReader
from .errors import ReaderConnectionError, ReaderUrlError

__all__ = ["ReaderUrl", "parse_url", "open_port", "open_reader", "DRIVERS"]

log = logging.getLogger(__name__)

DRIVERS = ("feig", "3m")
_DEFAULTS: dict[str, dict[str, Any]] = {
    "feig": {"baudrate": 38400, "parity": "E"},
    "3m": {"baudrate": 19200, "parity": "N"},
}
_OURS = {"driver", "baud", "parity", "address", "timeout", "block_order", "retries", "tags", "timing", "advanced"}


@dataclass(frozen=True)
class ReaderUrl:
    scheme: str
    target: str  # device path, host:port, or reader name
    driver: str
    options: dict[str, str] = field(default_factory=dict)  # our keys
    passthrough: dict[str, str] = field(default_factory=dict)  # pyserial's keys

    def pyserial_url(self) -> str:
        query = f"?{urlencode(self.passthrough)}" if self.passthrough else ""
        if self.scheme == "serial":
            return self.target
        return f"{self.scheme}://{self.target}{query}"


def parse_url(url: str) -> ReaderUrl:
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in ("serial", "socket", "rfc2217", "spy", "loop", "sim", "pcsc"):
        raise ReaderUrlError(f"unsupported reader URL scheme {parts.scheme!r} in {url!r}")
    query = dict(parse_qsl(parts.query, keep_blank_values=True))
    options = {k: v for k, v in query.items() if k in _OURS}
    passthrough = {k: v for k, v in query.items() if k not in _OURS}
    driver = options.get("driver", "pcsc" if scheme == "pcsc" else "feig").lower()
    if scheme != "pcsc" and driver not in DRIVERS:
        raise ReaderUrlError(f"unknown reader driver {driver!r} in {url!r}; one of {DRIVERS}")
    target = unquote(parts.netloc + parts.path)
    if scheme == "serial" and not target:
        raise ReaderUrlError(f"serial URL without a device path: {url!r}")
    if scheme in ("socket", "rfc2217") and ":" not in parts.netloc:
        raise ReaderUrlError(f"{scheme} URL needs host:port: {url!r}")
    return ReaderUrl(scheme, target, driver, options, passthrough)


def _number(url: ReaderUrl, key: str, default: float) -> float:
    text = url.options.get(key)
    if text is None:
        return default
    try:
        return float(text)
    except ValueError as exc:
        raise ReaderUrlError(f"{key} must be a number, got {text!r}") from exc


def _is_pty(path: str) -> bool:
    return os.path.realpath(path.split("?", 1)[0]).startswith("/dev/pts/")


def open_port(url: ReaderUrl) -> Any:
    """Open the pyserial port a URL names (raises ReaderConnectionError when it cannot be opened)."""
    import serial  # only edge.readers imports pyserial

    settings = dict(_DEFAULTS.get(url.driver, _DEFAULTS["feig"]))
    if "baud" in url.options:
        baud = int(_number(url, "baud", 0))
        if baud not in serial.SerialBase.BAUDRATES:
            raise ReaderUrlError(f"not a valid baud rate: {baud!r}")
        settings["baudrate"] = baud
    if "parity" in url.options:
        parity = url.options["parity"].upper()
        if parity not in ("N", "E", "O"):
            raise ReaderUrlError(f"parity must be N, E or O, got {parity!r}")
        settings["parity"] = parity
    if url.scheme in ("serial", "spy") and _is_pty(url.target):
        # Linux ptys force 8 data bits without parity and refuse a second tcsetattr asking for parity
        settings["parity"] = "N"
    timeout = min(0.05, _number(url, "timeout", 1.0))
    try:
        return serial.serial_for_url(url.pyserial_url(), timeout=timeout, **settings)
    except (serial.SerialException, OSError, termios.error) as exc:
        raise ReaderConnectionError(f"cannot open {url.scheme}://{url.target}: {exc}") from exc


def open_reader(url: str) -> TagReader:
    """Open the reader a URL names, with the driver its ``driver`` key chooses."""
    parsed = parse_url(url)
    if parsed.scheme == "pcsc":
        from .pcsc import PcscTagReader

        return PcscTagReader(parsed.target or None)
    if parsed.scheme == "sim":
        from .sim.server import open_sim_reader

        return open_sim_reader(parsed)
    return open_driver(parsed, open_port(parsed))


def open_driver(parsed: ReaderUrl, port: Any, *, owns_port: bool = True) -> TagReader:
    timeout = _number(parsed, "timeout", 1.0)
    name = f"{parsed.driver}:{parsed.target or parsed.scheme}"
    if parsed.driver == "feig":
        from .feig import FeigReader

        address = int(_number(parsed, "address", 0xFF))
        order = parsed.options.get("block_order", "msb")
        advanced = parsed.options.get("advanced", "0").lower() in ("1", "true", "on", "yes")
        return FeigReader(
            port,
            address=address,
            timeout=timeout,
            block_order=order,
            advanced=advanced,
            name=name,
            owns_port=owns_port,
        )
    from .bibliotheca810 import Bibliotheca810Reader

    retries = int(_number(parsed, "retries", 5))
    return Bibliotheca810Reader(port, timeout=timeout, retries=retries, name=name, owns_port=owns_port)
