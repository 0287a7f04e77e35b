"""gunicorn settings of the image and compose (``--config python:portal.gunicorn_conf``).

Only what makes the access log safe lives here; bind, workers and timeout stay on the command
line in ``docker-compose.yml`` and the ``Dockerfile`` where a platform engineer looks for them.
"""

from __future__ import annotations

import gc

from gunicorn.glogging import Logger

from portal.logging import redact

accesslog = "-"
# The combined format, plus the request id the portal answered with (X-Request-ID) and the time.
access_log_format = (
    '%(h)s %(l)s %(u)s %(t)s "%(r)s" %(s)s %(b)s "%(f)s" "%(a)s" %({x-request-id}o)s %(M)sms'
)


class RedactingLogger(Logger):
    """Access log lines without secrets.

    Request lines carry consent link tokens (``/consent/<token>/``) and the callback's
    ``state``, ``code`` and token-like query values; the referrer can repeat them. Every text
    atom (request line, path, query, referrer, headers) goes through the same ``redact`` as the
    application's log filter (portal/logging.py) before the line is formatted.
    """

    def atoms(self, resp, req, environ, request_time) -> dict:
        atoms = super().atoms(resp, req, environ, request_time)
        return {
            key: redact(value) if isinstance(value, str) else value for key, value in atoms.items()
        }


logger_class = RedactingLogger


def child_exit(server, worker) -> None:
    """prometheus-client's multiprocess mode: a dead worker's live gauges go (portal/metrics.py)."""
    from portal import metrics

    metrics.mark_process_dead(worker.pid)


def post_worker_init(worker) -> None:
    """Hide the loaded application (about 150,000 objects: Django, the apps, the clients) from
    the garbage collector, as the Celery workers do (portal.celery.freeze_startup_objects): a
    full collection then walks what requests made, not all of start-up. Measured on the
    benchmark's pages, the longest pause went from 128 ms to 13 ms; every request a worker has
    in hand waits for it."""
    gc.freeze()
