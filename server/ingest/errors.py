"""Errors of the ingest package (tree in :mod:`server.ingest`)."""

from __future__ import annotations


class IngestError(RuntimeError):
    """Base of the ingest errors."""


class RejectEvent(IngestError):
    """A handler refuses an event; it is stored quarantined with ``reason`` and acknowledged."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class BrokerConfigError(IngestError):
    """The broker configuration cannot be generated as asked."""


class AccountError(IngestError):
    """A library account that cannot be created or changed as asked (a sentence for the operator)."""
