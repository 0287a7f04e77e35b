"""The Celery application. Configuration lives in settings (``CELERY_*``)."""

import gc
import os

from celery import Celery
from celery.signals import (
    before_task_publish,
    setup_logging,
    task_postrun,
    task_prerun,
    worker_process_init,
)

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")

from portal import task_metrics  # noqa: F401  (task counts and durations, by queue)

app = Celery("portal")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
app.steps["worker"].add("portal.outbox.Relay")  # re-sends work the broker never got


@app.on_configure.connect
def _prepare_embedded_broker(sender: Celery, **kwargs) -> None:
    """The embedded (filesystem) broker and result backend need their folders to exist."""
    from django.conf import settings

    if not settings.CELERY_BROKER_URL.startswith("filesystem://"):
        return
    folders = [v for v in settings.CELERY_BROKER_TRANSPORT_OPTIONS.values() if isinstance(v, str)]
    if settings.CELERY_RESULT_BACKEND.startswith("file://"):
        folders.append(settings.CELERY_RESULT_BACKEND.removeprefix("file://"))
    for folder in folders:
        os.makedirs(folder, exist_ok=True)


@worker_process_init.connect
def freeze_startup_objects(**kwargs) -> None:
    """Hide what a worker child holds at start (Django, the apps, the clients) from the
    garbage collector: its full collections then walk what a task made, not every object of
    start-up. A sync of 10,000 assignments allocates enough to trigger several, each a pause
    for every thread (bench/sync.py: about 80 ms of a 1 s run). The Python docs' advice for
    forked workers, without a collection first: that would write to every page the child
    shares with its parent. The frozen objects live as long as the process anyway."""
    gc.freeze()


@setup_logging.connect
def _use_django_logging(**kwargs) -> None:
    from logging.config import dictConfig

    from django.conf import settings

    dictConfig(settings.LOGGING)


@before_task_publish.connect
def _carry_request_id(headers: dict | None = None, **kwargs) -> None:
    """Tasks carry the request id of the request (or task) that queued them."""
    from portal.request_context import get_request_id

    if headers is not None and "request_id" not in headers:
        headers["request_id"] = get_request_id() or ""


@task_prerun.connect
def _restore_request_id(task=None, **kwargs) -> None:
    """A worker takes the id from the message; an eager task keeps its caller's id.

    The caller's id is remembered on the task request and put back after the task, so an eager
    task run inside a request does not wipe the request's id.
    """
    from portal.request_context import get_request_id, new_request_id, set_request_id

    if task is None:
        return
    previous = get_request_id()
    task.request.portal_previous_request_id = previous
    carried = getattr(task.request, "request_id", None)
    if task.request.is_eager:
        carried = carried or previous
    set_request_id(carried or new_request_id())


@task_postrun.connect
def _clear_request_id(task=None, **kwargs) -> None:
    from portal.request_context import set_request_id

    set_request_id(getattr(task.request, "portal_previous_request_id", None) if task else None)
