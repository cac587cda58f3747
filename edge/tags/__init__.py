"""Library RFID tag data: ISO 28560-3, ISO 28560-2 and 3M RFID501, one :class:`LibraryTag` result type.

Pure code, no I/O; the server imports it too. Errors (see :mod:`edge.tags.errors`)::

    TagFormatError (ValueError)
    ├── UnknownFormatError
    ├── TruncatedDataError
    ├── ChecksumError
    ├── InvalidFieldError
    └── EncodeError (.format, .field, .value)
        ├── MissingFieldError
        ├── FieldTooLongError
        └── UnencodableCharacterError
"""

from .detect import decode, encode, reverse_blocks
from .errors import (
    ChecksumError,
    EncodeError,
    FieldTooLongError,
    InvalidFieldError,
    MissingFieldError,
    TagFormatError,
    TruncatedDataError,
    UnencodableCharacterError,
    UnknownFormatError,
)
from .model import FORMATS, MEDIA_FORMATS, TYPE_OF_USAGE, LibraryTag

__all__ = [
    "LibraryTag",
    "FORMATS",
    "MEDIA_FORMATS",
    "TYPE_OF_USAGE",
    "decode",
    "encode",
    "reverse_blocks",
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
