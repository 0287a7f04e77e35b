"""Streaming CSV and JSON-lines renderings of audit events, one batch in memory at a time."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator

from django.core.serializers.json import DjangoJSONEncoder

from audit.selectors import EXPORT_COLUMNS

# Spreadsheets run cells that start with these as formulas (CSV injection); a leading
# apostrophe makes them text. Tab and carriage return are on OWASP's list too.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, dict | list):
        value = json.dumps(value, cls=DjangoJSONEncoder, ensure_ascii=False, sort_keys=True)
    text = value.isoformat() if hasattr(value, "isoformat") else str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def csv_stream(batches: Iterable[list[tuple]]) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(EXPORT_COLUMNS)
    for rows in batches:
        writer.writerows([safe_cell(v) for v in row] for row in rows)
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
    yield buffer.getvalue()


def jsonl_stream(batches: Iterable[list[tuple]]) -> Iterator[str]:
    encoder = DjangoJSONEncoder(ensure_ascii=False)
    for rows in batches:
        yield "".join(
            encoder.encode(dict(zip(EXPORT_COLUMNS, row, strict=True))) + "\n" for row in rows
        )
