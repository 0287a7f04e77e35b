"""Shared by the sync integration tests (tests/integration/test_sync_*.py)."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session", autouse=True)
def _results_folder(_empty_task_queue):
    """The filesystem result backend needs its folder (the session fixture empties var/celery)."""
    from django.conf import settings

    if settings.CELERY_RESULT_BACKEND.startswith("file://"):
        Path(settings.CELERY_RESULT_BACKEND.removeprefix("file://")).mkdir(
            parents=True, exist_ok=True
        )
