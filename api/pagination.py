"""Cursor pagination: ``{"next": url|null, "previous": url|null, "results": [...]}``.

A cursor is opaque and stable under inserts (no page drifts when rows are added), and a page
costs the same however deep it is.
"""

from __future__ import annotations

from rest_framework.exceptions import NotFound
from rest_framework.pagination import CursorPagination

from api.problems import Problem


class Cursor(CursorPagination):
    ordering = "-id"
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500

    def decode_cursor(self, request):
        try:
            return super().decode_cursor(request)
        except NotFound:  # DRF's answer to a cursor it did not make: it is a bad request
            raise Problem("validation", "The cursor is not one this API gave.") from None
