"""Object URLs for list rows without a ``reverse()`` per row.

A page of 50 audit events links each row to its event, its target and its tenant: 150
``reverse()`` calls, about 25 µs each. ``object_url`` reverses a name once (per URLconf and
script prefix) with a marker id and fills ids into that shape afterwards; a route the marker
does not fit exactly once is reversed each time, and a name with no route gives "".
"""

from __future__ import annotations

from functools import lru_cache

from django.conf import settings
from django.urls import NoReverseMatch, get_script_prefix, get_urlconf, reverse

_MARKER = "2147483647"  # an integer id no route spells otherwise
_MISSING = ("missing", "")
_REVERSE = ("reverse", "")


@lru_cache(maxsize=512)
def _shape(name: str, urlconf: str, prefix: str) -> tuple[str, str]:
    try:
        url = reverse(name, urlconf=urlconf, args=[int(_MARKER)])
    except NoReverseMatch:
        return _MISSING
    head, found, tail = url.partition(_MARKER)
    if not found or _MARKER in tail:
        return _REVERSE
    return head, tail


def object_url(name: str, pk: int) -> str:
    """``reverse(name, args=[pk])`` for a route taking one integer id; "" if there is none."""
    urlconf = get_urlconf() or settings.ROOT_URLCONF
    shape = _shape(name, urlconf, get_script_prefix())
    if shape is _MISSING:
        return ""
    if shape is _REVERSE:
        return reverse(name, urlconf=urlconf, args=[pk])
    return f"{shape[0]}{int(pk)}{shape[1]}"
