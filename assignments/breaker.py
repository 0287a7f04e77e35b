"""A circuit breaker per ACS resource: when it refuses requests, every thread waits together.

Without it, each of the sync's threads retries on its own schedule, so a resource answering
503 for minutes gets a steady stream of requests and every entry burns its own retry budget.
With it, a run of transient failures (or one 429 with ``Retry-After``) opens the circuit for a
cool-down; requests wait instead of being sent, one probe goes out when it ends, and its
success closes the circuit for all. A sync builds one client, hence one breaker, per resource.

``waiting()`` tells the run page what the sync is waiting for, why (``Wait.kind``: throttled,
server errors, unreachable) and until when.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

FAILURES_TO_OPEN = 3  # consecutive transient failures that open the circuit
COOL_DOWN_BASE = 2.0  # seconds, doubled for every further failure while open
COOL_DOWN_CAP = 30.0  # seconds; a server's Retry-After is honoured up to this too


class Cancelled(Exception):
    """The caller asked to stop (the run lost its lock) while waiting."""


class GaveUp(Exception):
    """The resource has refused requests for longer than the breaker waits; not sent."""


# Why requests wait (``Wait.kind``; ``SyncRun.wait_kind`` on the run page).
THROTTLED = "throttled"  # 429 with Retry-After: the resource asked for the pause
SERVER_ERROR = "server_error"  # 5xx answers in a row
UNREACHABLE = "unreachable"  # timeouts, refused or dropped connections in a row


@dataclass(frozen=True)
class Wait:
    until: float  # time.time() at which requests go out again
    reason: str
    kind: str = SERVER_ERROR


class CircuitBreaker:
    def __init__(self, *, give_up_after: float | None = None) -> None:
        # Once requests have failed without a success for this long, the rest fail at once
        # (``GaveUp``) instead of each waiting out its own retries: their entries are left to
        # a later run.
        self.give_up_after = give_up_after
        self._failing_since = 0.0  # time.monotonic() of the first failure since a success
        self._cond = threading.Condition()
        self._failures = 0
        self._open_until = 0.0  # time.monotonic()
        self._probing = False
        self._reason = ""
        self._kind = ""

    def before_request(self, cancel: threading.Event | None = None) -> None:
        """Return when a request may be sent; raises ``Cancelled`` if ``cancel`` is set."""
        with self._cond:
            while True:
                if cancel is not None and cancel.is_set():
                    raise Cancelled
                now = time.monotonic()
                if (
                    self.give_up_after is not None
                    and self._failing_since
                    and now - self._failing_since >= self.give_up_after
                ):
                    raise GaveUp(self._reason)
                if self._open_until <= now and not self._probing:
                    if self._open_until:  # half-open: this request is the probe
                        self._probing = True
                    return
                # Wake at the end of the cool-down, or when the probe reports; check cancel often.
                wait = self._open_until - now if self._open_until > now else 0.5
                self._cond.wait(timeout=min(max(wait, 0.01), 0.5))

    def record_success(self) -> None:
        with self._cond:
            if self._open_until > time.monotonic():
                # A request sent before the circuit opened answered while it cools down: the
                # wait stands (a 429's Retry-After holds for every thread); the probe closes it.
                return
            self._failures, self._open_until, self._probing, self._reason = 0, 0.0, False, ""
            self._failing_since = 0.0
            self._cond.notify_all()

    def record_failure(
        self, *, reason: str, retry_after: float | None = None, kind: str = SERVER_ERROR
    ) -> None:
        """A transient failure. Opens (or keeps open) the circuit when there were enough, or at
        once for a ``retry_after`` (a 429's Retry-After); ``kind`` says what failed."""
        with self._cond:
            self._failures += 1
            self._failing_since = self._failing_since or time.monotonic()
            self._probing = False
            if retry_after is not None or self._failures >= FAILURES_TO_OPEN:
                extra = max(0, self._failures - FAILURES_TO_OPEN)
                cool = min(COOL_DOWN_CAP, COOL_DOWN_BASE * 2**extra)
                if retry_after is not None:
                    cool = min(COOL_DOWN_CAP, max(retry_after, 0.0))
                self._open_until = max(self._open_until, time.monotonic() + cool)
                self._reason, self._kind = reason, kind
            self._cond.notify_all()

    def waiting(self) -> Wait | None:
        """What requests wait for now, or None when the circuit is closed."""
        with self._cond:
            left = self._open_until - time.monotonic()
            if left <= 0:
                return None
            return Wait(until=time.time() + left, reason=self._reason, kind=self._kind)
