"""Streaming CSV and JSON-lines renderings of audit events, one batch in memory at a time."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator

from django.core.serializers.json import DjangoJSONEncoder

from audit.selectors import EXPORT_COLUMNS

# Spreadsheets run cells that start with these as formulas (CSV injection); a leading
# apostrophe makes them text. Tab and carriage return are on OWASP's list too.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value) -> str:
    """A cell a spreadsheet shows as text, never runs."""
    if value is None:
        return ""
    text = value.isoformat() if hasattr(value, "isoformat") else str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def _csv_row(row: tuple) -> list:
    # id and at are a number and a timestamp; details is JSON text (starts with "{").
    pk, at, *texts, ip, request_id, details = row
    return [
        pk,
        at.isoformat(),
        *map(safe_cell, texts),
        ip or "",
        safe_cell(request_id),
        safe_cell(details),
    ]


def csv_stream(batches: Iterable[list[tuple]]) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(EXPORT_COLUMNS)
    for rows in batches:
        writer.writerows(map(_csv_row, rows))
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
    yield buffer.getvalue()


def jsonl_stream(batches: Iterable[list[tuple]]) -> Iterator[str]:
    """One JSON object per line; ``details`` (already JSON text) is spliced in as it is."""
    encoder = DjangoJSONEncoder(ensure_ascii=False)
    names = EXPORT_COLUMNS[:-1]
    for rows in batches:
        yield "".join(
            encoder.encode(dict(zip(names, row[:-1], strict=True)))[:-1]
            + ', "details": '
            + (row[-1] or "{}")
            + "}\n"
            for row in rows
        )
