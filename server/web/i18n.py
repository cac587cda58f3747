"""Gettext catalogs of the staff web: Vietnamese first, English second.

Message ids are English; ``locale/vi/LC_MESSAGES/messages.po`` translates them. The ``.po`` files are read
at run time with Babel and turned into gettext catalogs in memory, so nothing compiled is committed.
"""

from __future__ import annotations

import gettext
import io
import logging
from collections.abc import Callable
from functools import cache
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

log = logging.getLogger(__name__)

LOCALE_DIR = Path(__file__).parent / "locale"
LANGUAGES = ("vi", "en")
DEFAULT_LANGUAGE = "vi"


@cache
def translations(language: str) -> gettext.NullTranslations:
    """The catalog for ``language`` (unknown languages and English fall back to the message ids)."""
    po = LOCALE_DIR / language / "LC_MESSAGES" / "messages.po"
    if not po.exists():
        return gettext.NullTranslations()
    with po.open("rb") as fh:
        catalog = read_po(fh, locale=language)
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    log.debug("loaded %d messages for %s", len(catalog), language)
    return gettext.GNUTranslations(buffer)


def gettext_for(language: str) -> Callable[[str], str]:
    return translations(language if language in LANGUAGES else DEFAULT_LANGUAGE).gettext


def pick(bilingual: str, language: str) -> str:
    """One side of a domain message written ``"Vietnamese / English"`` (circulation errors are)."""
    if " / " not in bilingual:
        return bilingual
    vi, en = bilingual.split(" / ", 1)
    return en if language == "en" else vi
