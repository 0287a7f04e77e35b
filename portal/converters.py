"""The ``<id:…>`` path converter: a primary key the database can hold.

Django's ``<int:…>`` takes any run of digits; a 19-digit id overflowed SQLite's and PostgreSQL's
64-bit integers in the query and the page answered 500 instead of 404. Eighteen digits always fit.
"""

from __future__ import annotations


class IdConverter:
    regex = "[0-9]{1,18}"

    def to_python(self, value: str) -> int:
        return int(value)

    def to_url(self, value: int | str) -> str:
        return str(value)
