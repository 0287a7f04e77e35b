"""Rate limits per API token (or signed-in user): ``429`` with ``Retry-After``.

Counted by the consent pages' fixed-window limiter (``tenants/ratelimit.py``, one row per client
and minute in ``portal.RateLimitWindow``), so the limit holds across processes and with Redis
down.
"""

from __future__ import annotations

import math
import time

from rest_framework.settings import api_settings
from rest_framework.throttling import BaseThrottle, SimpleRateThrottle

from api.auth import token_of
from audit.services import client_ip
from tenants import ratelimit

SCOPE = "api"


class PerClientThrottle(BaseThrottle):
    """``REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]["api"]`` requests per minute per client."""

    def allow_request(self, request, view) -> bool:
        rate = api_settings.DEFAULT_THROTTLE_RATES.get(SCOPE) or ""
        if not rate:
            return True
        limit, duration = SimpleRateThrottle.parse_rate(None, rate)
        if duration != ratelimit.WINDOW_SECONDS:
            raise ValueError("The API rate is counted per minute: write it as N/min.")
        token = token_of(request)
        if token is not None:
            ident = f"token:{token.pk}"
        elif request.user and request.user.is_authenticated:
            ident = f"user:{request.user.pk}"
        else:
            ident = f"ip:{client_ip(request)}"
        return ratelimit.allow(scope=SCOPE, ident=ident, limit=limit)

    def wait(self) -> float:
        """Seconds until the current window ends, when the count starts again."""
        return math.ceil(ratelimit.WINDOW_SECONDS - time.time() % ratelimit.WINDOW_SECONDS)
