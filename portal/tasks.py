"""Portal-level tasks."""

from celery import shared_task

from portal.request_context import get_request_id


@shared_task(name="portal.ping")
def ping(value: str = "pong") -> dict:
    """Round trip through the broker and a worker; used by readiness tests and operators."""
    return {"value": value, "request_id": get_request_id()}
