"""Cursor pagination: ``{"next": url|null, "previous": url|null, "results": [...]}``.

A cursor is opaque and stable under inserts (no page drifts when rows are added), and a page
costs the same however deep it is.
"""

from __future__ import annotations

from rest_framework.pagination import CursorPagination


class Cursor(CursorPagination):
    ordering = "-id"
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500
