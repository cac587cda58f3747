"""Errors of the message contract (tree in :mod:`edge.contract`)."""

from __future__ import annotations


class ContractError(ValueError):
    """A topic or payload that does not follow the contract."""


class TopicError(ContractError):
    """A topic outside the scheme, or a topic level that is not allowed."""


class PayloadError(ContractError):
    """A payload that cannot be used; ``reason`` is a short stable code for quarantine and metrics."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
