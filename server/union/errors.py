"""Errors of the union-catalog package (protocol errors map to OAI-PMH error codes and SRU diagnostics).

Exceptions::

    UnionError (Exception)
     ├── OaiError                an OAI-PMH protocol error; ``code`` is the OAI error code
     ├── SruDiagnostic           an SRU diagnostic; ``number`` is the info:srw/diagnostic/1 number
     └── HarvestError            a harvested provider failed, answered an error or malformed XML
"""

from __future__ import annotations


class UnionError(Exception):
    """Base of the union catalog's errors."""


class OaiError(UnionError):
    """An OAI-PMH error: badArgument, badResumptionToken, badVerb, cannotDisseminateFormat, idDoesNotExist,
    noRecordsMatch, noMetadataFormats, noSetHierarchy."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


class SruDiagnostic(UnionError):
    """An SRU diagnostic (``info:srw/diagnostic/1/<number>``) with the detail it names."""

    def __init__(self, number: int, message: str, details: str = "") -> None:
        super().__init__(f"diagnostic {number}: {message}" + (f" ({details})" if details else ""))
        self.number = number
        self.message = message
        self.details = details


class HarvestError(UnionError):
    """Harvesting a provider failed."""
