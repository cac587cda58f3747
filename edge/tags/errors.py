"""Errors of the tag-data layer.

::

    TagFormatError (ValueError)        base; ``.data`` holds the offending bytes (or b"")
    ├── UnknownFormatError             no format matches (random memory, foreign tag)
    ├── TruncatedDataError             memory ends inside a structure
    ├── ChecksumError                  ISO 28560-3 CRC or extension-block XOR mismatch
    ├── InvalidFieldError              a field decodes to something the format forbids
    └── EncodeError                    ``.field`` and ``.value``: the tag cannot be written in this format
        ├── MissingFieldError          a mandatory field is absent
        ├── FieldTooLongError          the value does not fit
        └── UnencodableCharacterError  a character the field's character set cannot hold
"""

from __future__ import annotations

__all__ = [
    "TagFormatError",
    "UnknownFormatError",
    "TruncatedDataError",
    "ChecksumError",
    "InvalidFieldError",
    "EncodeError",
    "MissingFieldError",
    "FieldTooLongError",
    "UnencodableCharacterError",
]


class TagFormatError(ValueError):
    """Base of every tag-data error."""

    def __init__(self, message: str, *, data: bytes = b"") -> None:
        super().__init__(message)
        self.data = data


class UnknownFormatError(TagFormatError):
    """The memory matches no known library tag format."""


class TruncatedDataError(TagFormatError):
    """The memory ends inside a structure."""


class ChecksumError(TagFormatError):
    """A stored checksum does not match."""


class InvalidFieldError(TagFormatError):
    """A decoded field violates its format."""


class EncodeError(TagFormatError):
    """The tag cannot be encoded in the requested format."""

    def __init__(self, fmt: str, field: str, value: object, why: str) -> None:
        super().__init__(f"{fmt}: cannot encode {field}={value!r}: {why}")
        self.format = fmt
        self.field = field
        self.value = value


class MissingFieldError(EncodeError):
    """A mandatory field is missing."""


class FieldTooLongError(EncodeError):
    """A value does not fit into its field."""


class UnencodableCharacterError(EncodeError):
    """A character outside the field's character set."""
