"""CSV files kept on the server between the import preview and its confirmation.

The confirmation used to post the whole file back as a form field, and Django refuses form
fields over ``DATA_UPLOAD_MAX_MEMORY_SIZE`` (2.5 MB): a file between that and the 5 MB upload
limit previewed but could not be confirmed. Now the preview stores the text under
``PORTAL_VAR_DIR/imports`` and the confirmation names it by an unguessable id, which is only
valid for the operator who uploaded it, on the same resource, for ``MAX_AGE``. A confirmed
file is deleted; abandoned ones are swept at the next upload.
"""

from __future__ import annotations

import json
import secrets
import time
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings

MAX_BYTES = 5 * 1024 * 1024  # stated on the import page
MAX_AGE = 3600  # seconds between preview and confirmation


@dataclass(frozen=True)
class StoredUpload:
    key: str
    filename: str
    text: str


def _folder() -> Path:
    folder = Path(settings.VAR_DIR) / "imports"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _paths(key: str) -> tuple[Path, Path]:
    folder = _folder()
    return folder / f"{key}.csv", folder / f"{key}.json"


def store(*, user_id: int, resource_id: int, filename: str, text: str) -> str:
    """Keep ``text`` for the confirmation; returns its key."""
    sweep()
    key = secrets.token_urlsafe(24)
    data, meta = _paths(key)
    data.write_text(text, encoding="utf-8")
    meta.write_text(
        json.dumps({"user": user_id, "resource": resource_id, "filename": filename[:200]}),
        encoding="utf-8",
    )
    return key


def load(*, key: str, user_id: int, resource_id: int) -> StoredUpload | None:
    """The stored file if ``key`` is this user's upload for this resource and still fresh."""
    if not key or not key.replace("-", "").replace("_", "").isalnum() or len(key) > 64:
        return None
    data, meta = _paths(key)
    try:
        info = json.loads(meta.read_text(encoding="utf-8"))
        if time.time() - meta.stat().st_mtime > MAX_AGE:
            return None
        if (info.get("user"), info.get("resource")) != (user_id, resource_id):
            return None
        return StoredUpload(key, str(info.get("filename") or ""), data.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def discard(key: str) -> None:
    for path in _paths(key):
        path.unlink(missing_ok=True)


def sweep() -> None:
    """Delete uploads older than ``MAX_AGE`` (never confirmed)."""
    cutoff = time.time() - MAX_AGE
    for path in _folder().iterdir():
        try:
            if path.stat().st_mtime < cutoff:
                path.unlink(missing_ok=True)
        except OSError:
            continue
