"""Z39.50 for old clients through Simple2ZOOM (Debian ``libnet-z3950-simple2zoom-perl``) in front of ``/sru``.

:func:`simple2zoom_config` writes the gateway's configuration; run it with
``simple2zoom -c s2z.xml -- tcp:0.0.0.0:210`` (no ``-f``: that GFS option made it exit). Bib-1 use attributes
map to the SRU indexes below; an unmapped attribute is answered with Bib-1 diagnostic 114. Simple2ZOOM 1.04
sends non-ASCII terms double-encoded (UTF-8 bytes read as Latin-1); the SRU endpoint repairs them
(:func:`server.union.sru.repair_double_encoding`).
"""

from __future__ import annotations

from xml.sax.saxutils import escape, quoteattr

# Bib-1 use attribute → SRU index
USE_ATTRIBUTES: dict[int, str] = {
    4: "dc.title",
    1003: "dc.creator",
    21: "dc.subject",
    7: "bath.isbn",
    8: "bath.issn",
    9: "bath.lccn",
    12: "rec.id",
    31: "dc.date",
    54: "dc.language",
    1016: "cql.serverChoice",
}


def simple2zoom_config(sru_url: str, database: str = "unioncat") -> str:
    """The Simple2ZOOM configuration serving Z39.50 database ``database`` from the SRU endpoint ``sru_url``."""
    maps = "".join(
        f'<map use="{use}"><index>{escape(index)}</index></map>' for use, index in sorted(USE_ATTRIBUTES.items())
    )
    return (
        "<client>\n"
        f"  <database name={quoteattr(database)}>\n"
        f"    <zurl>{escape(sru_url)}</zurl>\n"
        '    <option name="sru">get</option>\n'
        '    <option name="sru_version">1.2</option>\n'
        f"    <search><querytype>cql</querytype>{maps}</search>\n"
        '    <schema oid="1.2.840.10003.5.10" sru="marcxml" format="MARC21" encoding="UTF-8"/>\n'
        "  </database>\n"
        "</client>\n"
    )
