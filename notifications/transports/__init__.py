"""One module per channel; each sends one delivery and raises ``TransportError`` on failure."""

from __future__ import annotations


class TransportError(Exception):
    """A delivery that did not arrive. ``permanent``: retrying cannot help (healthchecks)."""

    def __init__(
        self, message: str, *, status_code: int | None = None, permanent: bool = False
    ) -> None:
        super().__init__(message)
        self.message, self.status_code, self.permanent = message, status_code, permanent
