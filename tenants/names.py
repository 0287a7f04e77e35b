"""Names read from a customer's directory, made safe to store and show.

A tenant's admin chooses the organization's and the groups' display names, so they are hostile
input: NUL (PostgreSQL refuses it in text and jsonb), other control characters, and any length.
The rule (docs/microsoft/graph.md): NUL is dropped, each run of other control characters
becomes one space, and a name longer than ``NAME_MAX`` characters keeps its first
``NAME_MAX - 1`` characters followed by "…". Templates escape the result as any text.
"""

from __future__ import annotations

import re

# Graph's own limit for group and organization display names (256), and our column width.
NAME_MAX = 256
ELLIPSIS = "…"
# C0 and C1 controls (tab, CR, LF, BEL…) and lone surrogates, which no database stores.
_CONTROLS = re.compile(r"[\x01-\x1f\x7f-\x9f\ud800-\udfff]+")


def clean_name(value: str | None, limit: int = NAME_MAX) -> str:
    """``value`` without NUL and control characters, cut to ``limit`` characters."""
    if not value:
        return ""
    text = _CONTROLS.sub(" ", str(value).replace("\x00", ""))
    if len(text) > limit:
        text = text[: limit - 1] + ELLIPSIS
    return text
