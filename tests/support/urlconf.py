"""Every route of the URL conf, with sample values for its parameters (role walk, fuzzing)."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping

from django.urls import URLPattern, URLResolver, get_resolver


def walk(resolver: URLResolver | None = None, prefix: str = "") -> Iterator[tuple[str, URLPattern]]:
    """(route, pattern) for every URL pattern, includes followed."""
    for entry in (resolver or get_resolver()).url_patterns:
        if isinstance(entry, URLResolver):
            yield from walk(entry, prefix + str(entry.pattern))
        elif isinstance(entry, URLPattern):
            yield prefix + str(entry.pattern), entry


_REGEX_GROUP = re.compile(r"\(\?P<(\w+)>[^)]*\)")


def converter_kinds(route: str, pattern: URLPattern) -> dict[str, str]:
    """Each parameter of the route and its converter: ``{"pk": "int", "token": "str"}``
    (``"regex"`` for the named groups of a regular-expression route)."""
    converters = getattr(pattern.pattern, "converters", {})
    kinds = {
        name: type(converter).__name__.removesuffix("Converter").lower()
        for name, converter in converters.items()
    }
    return kinds or dict.fromkeys(_REGEX_GROUP.findall(route), "regex")


def fill(route: str, pattern: URLPattern, values: Mapping[str, str]) -> str:
    """The path of ``route`` with its parameters replaced by ``values`` (by name)."""
    url = _REGEX_GROUP.sub(lambda group: values[group.group(1)], route)
    for name, kind in converter_kinds(route, pattern).items():
        url = url.replace(f"<{kind}:{name}>", values[name]).replace(f"<{name}>", values[name])
    return "/" + url.replace("^", "").replace("$", "").replace("\\", "")
