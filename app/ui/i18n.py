"""Translations and language choice for the login and consent pages (no Flask import).

Catalogs are flat JSON files ``translations/<lang>.json`` mapping a key to a ``str.format`` text
with named placeholders (``"Sign in to {client}"``). They are read once per process.

Language choice (``negotiate``): the OIDC ``ui_locales`` parameter first (space-separated BCP47
tags in order of preference), then the browser's ``Accept-Language`` header by quality, then the
first configured language. A tag matches a language on its primary subtag (``fr-CA`` -> ``fr``).
"""

import json
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from types import MappingProxyType

from werkzeug.datastructures import LanguageAccept
from werkzeug.http import parse_accept_header

SUPPORTED = ("en", "fr", "ar")
RTL = frozenset({"ar"})
DEFAULT = "en"
CATALOG_DIR = Path(__file__).parent / "translations"
#: At most this many ``ui_locales`` tags are looked at (the parameter is client/user supplied).
MAX_UI_LOCALES = 16

# Unicode FIRST STRONG ISOLATE / POP DIRECTIONAL ISOLATE: keeps a left-to-right value (a client
# name, "a***@example.org") from reordering the surrounding right-to-left sentence.
_FSI = "\u2068"
_PDI = "\u2069"


@cache
def catalogs() -> Mapping[str, Mapping[str, str]]:
    """Every supported catalog, read once and read-only."""
    loaded: dict[str, Mapping[str, str]] = {}
    for lang in SUPPORTED:
        with (CATALOG_DIR / f"{lang}.json").open(encoding="utf-8") as handle:
            data = json.load(handle)
        if not isinstance(data, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in data.items()):
            raise ValueError(f"translations/{lang}.json must be a flat object of strings")
        loaded[lang] = MappingProxyType(data)
    return MappingProxyType(loaded)


def _primary(tag: str) -> str:
    """The lower-case primary language subtag of a BCP47 tag (``"fr-CA"`` -> ``"fr"``)."""
    return tag.strip().replace("_", "-").split("-", 1)[0].lower()


def _candidates(available: list[str]) -> list[str]:
    """The configured languages that also have a catalog, in configured order, without duplicates."""
    result: list[str] = []
    for tag in available:
        lang = tag.strip().lower()
        if lang in SUPPORTED and lang not in result:
            result.append(lang)
    return result


def _from_ui_locales(ui_locales: str | None, candidates: list[str]) -> str | None:
    for tag in (ui_locales or "").split()[:MAX_UI_LOCALES]:
        lang = _primary(tag)
        if lang in candidates:
            return lang
    return None


def _from_accept_language(header: str | None, candidates: list[str]) -> str | None:
    if not header:
        return None
    accept = parse_accept_header(header, LanguageAccept)
    refused = {value.strip().lower() for value, quality in accept if quality <= 0}
    # Highest quality first; equal qualities keep the header's order (sorted() is stable). Each
    # tag is tried on its own so that "fr-CA, en;q=0.5" gives fr rather than the exact match en.
    for value, quality in sorted(accept, key=lambda item: -item[1]):
        if quality <= 0:
            break
        if value == "*":
            return next((lang for lang in candidates if lang not in refused), None)
        lang = _primary(value)
        if lang in candidates:
            return lang
    return None


def negotiate(ui_locales: str | None, accept_language: str | None, available: list[str]) -> str:
    """The page language: ``ui_locales``, then ``Accept-Language``, then the first available language.

    Only languages both in ``available`` and in ``SUPPORTED`` are chosen. If none of ``available``
    is supported, the result is ``DEFAULT``.
    """
    candidates = _candidates(available)
    if not candidates:
        return DEFAULT
    return _from_ui_locales(ui_locales, candidates) or _from_accept_language(accept_language, candidates) or candidates[0]


class _Values(dict):
    """Placeholders missing from the call render as nothing rather than raising."""

    def __missing__(self, key: str) -> str:
        return ""


def translate(locale: str, key: str, **values: str) -> str:
    """The text of ``key`` in ``locale`` with ``values`` filled in; English, then the key, as fallbacks.

    The result is plain text: HTML escaping is the template's job (autoescape). In right-to-left
    languages each value is wrapped in Unicode directional isolates.
    """
    all_catalogs = catalogs()
    lang = _primary(locale or DEFAULT)
    text = all_catalogs.get(lang, {}).get(key)
    if text is None:
        text = all_catalogs[DEFAULT].get(key)
    if text is None:
        return key
    if lang in RTL:
        filled = _Values({name: f"{_FSI}{value}{_PDI}" for name, value in values.items()})
    else:
        filled = _Values({name: str(value) for name, value in values.items()})
    return text.format_map(filled)


def direction(locale: str) -> str:
    """``"rtl"`` for right-to-left languages, otherwise ``"ltr"``."""
    return "rtl" if _primary(locale or DEFAULT) in RTL else "ltr"
