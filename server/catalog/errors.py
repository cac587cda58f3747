"""Errors of the catalog package.

Exceptions::

    CatalogError (Exception)
     ├── MarcError                 a MARC record or file cannot be read (the reason says where and why)
     │    └── MarcFormatUnknown    the file is neither ISO 2709 nor MARCXML
     ├── SearchError               a search cannot be run as asked
     │    ├── QuerySyntaxError     the query text does not parse (CQL or the simple syntax)
     │    ├── UnsupportedIndex     an index name the catalog does not know
     │    ├── UnsupportedRelation  a relation the index does not support
     │    └── UnsupportedOperator  a boolean operator the catalog does not support (prox)
     └── RemoteTargetError         a copy-cataloguing target (SRU, Z39.50) failed or answered nonsense
"""

from __future__ import annotations


class CatalogError(Exception):
    """Base of the catalog's errors."""


class MarcError(CatalogError):
    """A MARC record or file cannot be read."""


class MarcFormatUnknown(MarcError):
    """The input is neither ISO 2709 nor MARCXML."""


class SearchError(CatalogError):
    """A search cannot be run as asked."""


class QuerySyntaxError(SearchError):
    """The query text does not parse."""


class UnsupportedIndex(SearchError):
    """The query names an index the catalog does not have."""

    def __init__(self, index: str) -> None:
        super().__init__(f"unsupported index {index!r}")
        self.index = index


class UnsupportedRelation(SearchError):
    """The relation cannot be used with that index."""

    def __init__(self, relation: str, index: str) -> None:
        super().__init__(f"unsupported relation {relation!r} for index {index!r}")
        self.relation = relation
        self.index = index


class UnsupportedOperator(SearchError):
    """A boolean operator the catalog does not support."""

    def __init__(self, operator: str) -> None:
        super().__init__(f"unsupported boolean operator {operator!r}")
        self.operator = operator


class RemoteTargetError(CatalogError):
    """A remote SRU or Z39.50 target failed or answered something that is not a valid response."""
