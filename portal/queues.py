"""Celery queues, so a person's click never waits behind a sweep of every tenant.

- ``interactive``: someone is waiting ("Verify now", "Sync now", verification after a consent
  callback, debounced syncs after an assignment change).
- ``periodic``: beat's sweeps and every task they fan out (the check of each tenant, the sync
  of each resource, retention).
- ``notify``: outgoing notifications (email, webhooks); such tasks declare ``queue=NOTIFY``.

Compose runs one worker service per queue (``docker-compose.yml``), scaled independently; the
demo's single worker and the tests' worker consume all of them (``CELERY_TASK_QUEUES``).
"""

from __future__ import annotations

from typing import Any

INTERACTIVE = "interactive"
PERIODIC = "periodic"
NOTIFY = "notify"
ALL = (INTERACTIVE, PERIODIC, NOTIFY)

# Beat's entries (CELERY_BEAT_SCHEDULE).
SWEEPS = frozenset(
    {
        "tenants.tasks.verify_all_tenants",
        "assignments.tasks.sync_all_resources",
        "audit.tasks.apply_retention",
        "notifications.tasks.relay_due",
        "notifications.tasks.send_reminders",
        "notifications.tasks.watch_credentials",
    }
)
_TRIGGERED = {"tenants.tasks.verify_tenant": 1}  # task -> position of its ``trigger`` argument


def _trigger(name: str, args: Any, kwargs: dict | None) -> str | None:
    position = _TRIGGERED.get(name)
    if position is None:
        return None
    if kwargs and "trigger" in kwargs:
        return str(kwargs["trigger"])
    return str(args[position]) if args and len(args) > position else None


def _queue_of_running_task() -> str | None:
    """The queue of the task that is sending this one (None outside a worker)."""
    from celery import current_app

    current_task = current_app.current_task
    if current_task is None:
        return None
    if current_task.name in SWEEPS:
        return PERIODIC
    if current_task.request.is_eager:
        return None
    delivery = current_task.request.delivery_info or {}
    queue = delivery.get("routing_key")
    return queue if queue in ALL else None


def route_task(name: str, args: Any, kwargs: dict | None, options: dict, task=None, **kw) -> dict:
    """Celery router (``CELERY_TASK_ROUTES``): which queue a task goes to.

    An explicit ``queue`` (``apply_async(queue=…)`` or the task's own) wins. Otherwise sweeps
    and periodic checks go to ``periodic``; a task sent while a task runs follows that task's
    queue (a sweep's fan-out, a retry); anything else was asked for by a person.
    """
    if options.get("queue"):
        return {}
    if name in SWEEPS or _trigger(name, args, kwargs) == "periodic":
        return {"queue": PERIODIC}
    return {"queue": _queue_of_running_task() or INTERACTIVE}
