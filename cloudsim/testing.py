"""Start cloudsim in-process for tests: `with start_cloudsim(tmp_path) as cs: ...`."""

from __future__ import annotations

import json
import ssl
import urllib.request
from pathlib import Path
from typing import Any

from .app import CloudSim


class RunningCloudSim:
    def __init__(self, sim: CloudSim) -> None:
        self.sim = sim
        ep = sim.endpoints()
        self.login_url: str = ep["login_url"]
        self.graph_url: str = ep["graph_url"]
        self.graph_base_url: str = ep["graph_base_url"]
        self.admin_url: str = ep["admin_url"]
        self.ca_file: str = ep["ca_file"]
        self.acs_resources: dict[str, dict[str, str]] = sim.acs_resources()
        self.operator_app: dict[str, str] = sim.operator_app
        self._ssl = ssl.create_default_context(cafile=self.ca_file)

    def portal_env(self) -> dict[str, str]:
        return self.sim.portal_env()

    def admin(self, method: str, path: str, json: Any = None) -> Any:
        """Call the admin API; returns the decoded JSON body (raises on HTTP errors)."""
        data = None if json is None else _dumps(json)
        req = urllib.request.Request(  # noqa: S310 (https to our own listener)
            self.admin_url + path,
            data=data,
            method=method,
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(req, context=self._ssl, timeout=30) as resp:  # noqa: S310
            return _loads(resp.read())

    def reset(self) -> None:
        self.admin("POST", "/reset")

    def set_fault(
        self,
        kind: str,
        *,
        service: str = "*",
        method: str = "*",
        path: str = "*",
        probability: float = 1.0,
        arg: str | int | float = "",
        times: int | None = None,
    ) -> None:
        self.admin(
            "POST",
            "/faults",
            {
                "kind": kind,
                "service": service,
                "method": method,
                "path": path,
                "probability": probability,
                "arg": str(arg),
                "times": times,
            },
        )

    def clear_faults(self) -> None:
        self.admin("DELETE", "/faults")

    def stop(self) -> None:
        self.sim.stop()

    def __enter__(self) -> RunningCloudSim:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _dumps(data: Any) -> bytes:
    return json.dumps(data).encode()


def _loads(raw: bytes) -> Any:
    return json.loads(raw) if raw else None


def start_cloudsim(
    data_dir: Path | str,
    scenario: str = "default",
    redirect_uris: tuple[str, ...] | list[str] = (),
    **options: Any,
) -> RunningCloudSim:
    """Start cloudsim on free ports in background threads; a fresh state from the scenario."""
    sim = CloudSim(
        data_dir,
        scenario=scenario,
        port=0,
        reset=True,
        redirect_uris=tuple(redirect_uris),
        **options,
    )
    sim.start()
    return RunningCloudSim(sim)
