"""Device credentials in Mosquitto's own format, so the broker can check them from the generated password file.

``$7$<iterations>$<base64 salt>$<base64 PBKDF2-HMAC-SHA512>``, with a 12-byte salt: what ``mosquitto_passwd``
writes for Mosquitto 2.x. Mosquitto cannot read argon2, so device credentials use this hash, not
:mod:`server.security`'s.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import secrets

log = logging.getLogger(__name__)

DEFAULT_ITERATIONS = 101  # mosquitto_passwd's default; each broker connect pays for it
SALT_BYTES = 12


def new_password() -> str:
    """A random device password (32 URL-safe characters)."""
    return secrets.token_urlsafe(24)


def mosquitto_hash(password: str, *, iterations: int = DEFAULT_ITERATIONS, salt: bytes | None = None) -> str:
    if iterations < 1:
        raise ValueError(f"iterations must be at least 1, got {iterations!r}")
    salt = secrets.token_bytes(SALT_BYTES) if salt is None else salt
    digest = hashlib.pbkdf2_hmac("sha512", password.encode("utf-8"), salt, iterations)
    return f"$7${iterations}${base64.b64encode(salt).decode()}${base64.b64encode(digest).decode()}"


def verify_mosquitto_hash(stored: str | None, password: str) -> bool:
    """True when ``password`` matches a ``$7$`` hash; a missing or malformed hash never matches."""
    if not stored:
        return False
    parts = stored.split("$")
    if len(parts) != 5 or parts[0] != "" or parts[1] != "7":
        return False
    try:
        iterations = int(parts[2])
        salt = base64.b64decode(parts[3], validate=True)
        expected = base64.b64decode(parts[4], validate=True)
    except ValueError:
        return False
    digest = hashlib.pbkdf2_hmac("sha512", password.encode("utf-8"), salt, iterations)
    return hmac.compare_digest(digest, expected)
