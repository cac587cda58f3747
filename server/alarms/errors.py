"""Errors of the alarms domain (see the package docstring)."""

from __future__ import annotations


class AlarmError(ValueError):
    """Base of the alarms domain's errors."""


class AlarmNotFound(AlarmError):
    """No gate alarm with that id."""


class SilenceRefused(AlarmError):
    """A silence-alarm request that cannot be sent."""
