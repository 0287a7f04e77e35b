"""Fault injection, default rate limits and request statistics."""

from __future__ import annotations

import fnmatch
import random
import threading
import time
from collections import Counter
from dataclasses import asdict, dataclass
from typing import Any

KINDS = ("latency", "429", "500", "503", "drop", "drop_after")


@dataclass
class FaultRule:
    kind: str
    probability: float = 1.0
    service: str = "*"  # login | graph | admin | acs | an ACS resource name; glob
    method: str = "*"
    path: str = "*"  # glob on the path without query
    arg: str = ""  # latency: milliseconds; 429: Retry-After seconds
    times: int | None = None  # stop after this many injections (None: forever)
    injected: int = 0

    def matches(self, service: str, resource: str, method: str, path: str) -> bool:
        return (
            (
                fnmatch.fnmatchcase(service, self.service)
                or fnmatch.fnmatchcase(resource, self.service)
            )
            and fnmatch.fnmatchcase(method, self.method.upper())
            and fnmatch.fnmatchcase(path, self.path)
        )

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FaultRule:
        kind = str(data["kind"])
        if kind not in KINDS:
            raise ValueError(f"unknown fault kind {kind!r}; one of {', '.join(KINDS)}")
        probability = float(data.get("probability", 1.0))
        if not 0.0 <= probability <= 1.0:
            raise ValueError("probability must be between 0 and 1")
        return cls(
            kind=kind,
            probability=probability,
            service=str(data.get("service", "*")),
            method=str(data.get("method", "*")),
            path=str(data.get("path", "*")),
            arg=str(data.get("arg", "")),
            times=data.get("times"),
        )

    @classmethod
    def parse_flag(cls, text: str) -> FaultRule:
        """`ROUTE:KIND:PROB[:ARG]`; ROUTE = `SERVICE[.METHOD][/PATH_GLOB]` (paths may hold ':')."""
        parts = text.split(":")
        for i in range(1, len(parts)):
            if parts[i] in KINDS and i + 1 < len(parts):
                route, kind, prob, rest = (
                    ":".join(parts[:i]),
                    parts[i],
                    parts[i + 1],
                    parts[i + 2 :],
                )
                break
        else:
            raise ValueError(f"bad --fault {text!r}: expected ROUTE_GLOB:KIND:PROB[:ARG]")
        service_method, slash, path = route.partition("/")
        service, _, method = service_method.partition(".")
        return cls.from_dict(
            {
                "service": service or "*",
                "method": method or "*",
                "path": f"/{path}" if slash else "*",
                "kind": kind,
                "probability": prob,
                "arg": ":".join(rest),
            }
        )


class Faults:
    def __init__(self, seed: int | None = None) -> None:
        self._lock = threading.Lock()
        self._rules: list[FaultRule] = []
        self._rng = random.Random(seed)  # noqa: S311 (fault dice, not secrets)

    def add(self, rule: FaultRule) -> None:
        with self._lock:
            self._rules.append(rule)

    def clear(self, seed: int | None = None) -> None:
        with self._lock:
            self._rules.clear()
            if seed is not None:
                self._rng.seed(seed)

    def seed(self, seed: int) -> None:
        with self._lock:
            self._rng.seed(seed)

    def rules(self) -> list[dict[str, Any]]:
        with self._lock:
            return [asdict(r) for r in self._rules]

    def pick(self, service: str, resource: str, method: str, path: str) -> list[FaultRule]:
        """The rules that fire for this request (latency rules and at most one failure)."""
        fired: list[FaultRule] = []
        with self._lock:
            for rule in self._rules:
                if rule.times is not None and rule.injected >= rule.times:
                    continue
                if not rule.matches(service, resource, method, path):
                    continue
                if rule.kind != "latency" and any(r.kind != "latency" for r in fired):
                    continue
                if self._rng.random() < rule.probability:
                    rule.injected += 1
                    fired.append(rule)
        return fired


class TokenBucket:
    def __init__(self, rate: float, burst: float) -> None:
        self.rate, self.burst = rate, burst
        self.tokens = burst
        self.stamp = time.monotonic()

    def take(self) -> float:
        """0 when allowed, else the seconds until a token is available."""
        now = time.monotonic()
        self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens >= 1:
            self.tokens -= 1
            return 0.0
        return (1 - self.tokens) / self.rate


# requests per second and burst, per key (an ACS resource, or the Graph tenant).
DEFAULT_LIMITS = {"acs": (200.0, 400.0), "graph": (100.0, 200.0)}


class RateLimits:
    def __init__(self, enabled: bool = True) -> None:
        self.enabled = enabled
        self.limits = dict(DEFAULT_LIMITS)
        self._buckets: dict[tuple[str, str], TokenBucket] = {}
        self._lock = threading.Lock()

    def configure(self, *, enabled: bool | None = None, limits: dict | None = None) -> None:
        with self._lock:
            if enabled is not None:
                self.enabled = enabled
            for service, (rate, burst) in (limits or {}).items():
                self.limits[service] = (float(rate), float(burst))
            self._buckets.clear()

    def check(self, service: str, key: str) -> float:
        if not self.enabled or service not in self.limits:
            return 0.0
        with self._lock:
            bucket = self._buckets.get((service, key))
            if bucket is None:
                bucket = self._buckets[(service, key)] = TokenBucket(*self.limits[service])
            return bucket.take()

    def describe(self) -> dict[str, Any]:
        return {
            "enabled": self.enabled,
            "limits": {k: {"rate": r, "burst": b} for k, (r, b) in self.limits.items()},
        }


class Stats:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._routes: Counter[str] = Counter()
        self._status: Counter[str] = Counter()
        self._services: Counter[str] = Counter()
        self._faults: Counter[str] = Counter()

    def record(self, service: str, method: str, route: str, status: int | str) -> None:
        with self._lock:
            self._services[service] += 1
            self._routes[f"{service} {method} {route}"] += 1
            self._status[f"{service} {status}"] += 1

    def record_fault(self, service: str, kind: str) -> None:
        with self._lock:
            self._faults[f"{service} {kind}"] += 1

    def reset(self) -> None:
        with self._lock:
            for c in (self._routes, self._status, self._services, self._faults):
                c.clear()

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {
                "total": sum(self._services.values()),
                "services": dict(self._services),
                "routes": dict(self._routes),
                "status": dict(self._status),
                "faults": dict(self._faults),
            }
