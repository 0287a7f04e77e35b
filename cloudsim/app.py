"""CloudSim: the state, the keys, the faults and the listeners, started and stopped together."""

from __future__ import annotations

import json
import ssl
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import trustme
import yaml

from . import acs, admin, graph, login
from .directory import Directory
from .faults import FaultRule, Faults, RateLimits, Stats
from .seed import load_scenario, seed
from .server import Listener
from .store import Doc, Store
from .tokens import Signer


class CloudSim:
    def __init__(
        self,
        data_dir: Path | str = "var/cloudsim",
        *,
        scenario: str = "default",
        host: str = "127.0.0.1",
        port: int = 0,
        reset: bool = False,
        faults: tuple[str, ...] = (),
        fault_seed: int | None = None,
        rate_limits: bool = True,
        redirect_uris: tuple[str, ...] = (),
        verbose: bool = False,
    ) -> None:
        self.data_dir = Path(data_dir).resolve()
        self.scenario_name = scenario
        self.host, self.base_port = host, port
        self.reset_on_start = reset
        self.verbose = verbose
        self.faults = Faults(fault_seed)
        for text in faults:
            self.faults.add(FaultRule.parse_flag(text))
        self.rate_limits = RateLimits(enabled=rate_limits)
        self.stats = Stats()
        self.extra_redirect_uris = tuple(redirect_uris)
        self.listeners: dict[str, Listener] = {}
        self.store: Store | None = None
        self._scenario: dict[str, Any] | None = None

    # lifecycle --------------------------------------------------------------------------
    def start(self) -> CloudSim:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.store = Store(self.data_dir / "state.sqlite3")
        self.directory = Directory(self.store)
        stored = self.store.get_meta("scenario_name")
        if self.reset_on_start or stored != self.scenario_name:
            self.reset()
        self.signer = Signer(self.store)
        self._make_tls()
        ports = iter(range(self.base_port, self.base_port + 100)) if self.base_port else None

        def listen(service: str, router: Any, resource: str = "") -> Listener:
            port = next(ports) if ports else 0
            listener = Listener(
                self.host,
                port,
                sim=self,
                service=service,
                router=router,
                ssl_context=self.ssl_context,
                resource=resource,
            )
            self.listeners[resource or service] = listener
            return listener

        listen("login", login.router(self))
        listen("graph", graph.router(self))
        listen("admin", admin.router(self))
        for res in self.scenario["acs_resources"]:
            listen("acs", acs.router(self, res["name"]), res["name"])
        for listener in self.listeners.values():
            listener.start()
        self._write_files()
        return self

    def stop(self) -> None:
        for listener in self.listeners.values():
            listener.shutdown()
            listener.server_close()
        self.listeners.clear()
        if self.store:
            self.store.close()
            self.store = None

    def __enter__(self) -> CloudSim:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def reset(self, scenario: str | None = None) -> None:
        """Reseed the state from the scenario (faults and stats are separate)."""
        if scenario:
            self.scenario_name = scenario
        data = load_scenario(self.scenario_name)
        seed(self.store, data)
        self._scenario = None
        self.store.set_meta("scenario_name", self.scenario_name)
        if self.extra_redirect_uris:
            self.add_redirect_uris(self.extra_redirect_uris)

    @property
    def scenario(self) -> dict[str, Any]:
        """The seeded scenario, read from the store once per reseed (only ``reset`` changes it).

        Not once per request: reading it takes the store's lock, so a signed ACS call waited
        behind any other request's write transaction before it could even check its signature.
        """
        if self._scenario is None:
            self._scenario = yaml.safe_load(self.store.get_meta("scenario"))
        return self._scenario

    # configuration ----------------------------------------------------------------------
    def _make_tls(self) -> None:
        ca = trustme.CA(organization_name="cloudsim local CA")
        cert = ca.issue_cert("127.0.0.1", "localhost", "::1")
        self.ssl_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        cert.configure_cert(self.ssl_context)
        self.ca_file = self.data_dir / "ca.pem"
        ca.cert_pem.write_to_path(str(self.ca_file))
        # System roots + cloudsim's CA, for REQUESTS_CA_BUNDLE (which overrides Session.verify).
        self.ca_bundle = self.data_dir / "ca-bundle.pem"
        system = Path(ssl.get_default_verify_paths().cafile or "")
        roots = system.read_bytes() if system.is_file() else b""
        self.ca_bundle.write_bytes(roots + b"\n" + ca.cert_pem.bytes())

    @property
    def operator_app(self) -> dict[str, str]:
        app = self.scenario["operator_app"]
        return {
            "client_id": app["app_id"],
            "client_secret": app["secret"],
            "home_tenant_id": app["home_tenant_id"],
            "display_name": app["display_name"],
        }

    def acs_resources(self) -> dict[str, dict[str, str]]:
        return {
            r["name"]: {
                "endpoint": self.listeners[r["name"]].url,
                "access_key": r["access_key"],
                "resource_id": r["resource_id"],
            }
            for r in self.scenario["acs_resources"]
        }

    def acs_resource(self, name: str) -> dict[str, str] | None:
        return next((r for r in self.scenario["acs_resources"] if r["name"] == name), None)

    def endpoints(self) -> dict[str, Any]:
        graph_url = self.listeners["graph"].url
        return {
            "login_url": self.listeners["login"].url,
            "graph_url": graph_url,
            "graph_base_url": f"{graph_url}/v1.0",
            "admin_url": self.listeners["admin"].url,
            "ca_file": str(self.ca_file),
            "ca_bundle": str(self.ca_bundle),
            "acs": [{"name": n, **r} for n, r in self.acs_resources().items()],
            "operator_app": self.operator_app,
        }

    def portal_env(self) -> dict[str, str]:
        ep = self.endpoints()
        demo = ep["acs"][0]
        return {
            "ENTRA_AUTHORITY_HOST": ep["login_url"],
            "GRAPH_BASE_URL": ep["graph_base_url"],
            "MICROSOFT_CA_BUNDLE": ep["ca_file"],
            "ENTRA_CLIENT_ID": ep["operator_app"]["client_id"],
            "ENTRA_CLIENT_SECRET": ep["operator_app"]["client_secret"],
            "ENTRA_HOME_TENANT_ID": ep["operator_app"]["home_tenant_id"],
            "ACS_DEMO_ENDPOINT": demo["endpoint"],
            "ACS_DEMO_ACCESS_KEY": demo["access_key"],
            # The portal calls only allowed hosts (portal/outbound.py): admit the ACS
            # listeners, on loopback, and the demo's key variable.
            "ACS_ALLOWED_HOSTS": ",".join(urlsplit(r["endpoint"]).netloc for r in ep["acs"]),
            "OUTBOUND_ALLOW_PRIVATE": "True",
            "ACS_KEY_ENV_VARS": "ACS_DEMO_ACCESS_KEY",
        }

    def _write_files(self) -> None:
        (self.data_dir / "endpoints.json").write_text(json.dumps(self.endpoints(), indent=2))
        env = "".join(f"{k}={v}\n" for k, v in self.portal_env().items())
        (self.data_dir / "portal.env").write_text(env)

    def add_redirect_uris(self, uris: tuple[str, ...] | list[str]) -> list[str]:
        app_id = self.scenario["operator_app"]["app_id"]
        home, app = self.directory.application_by_app_id(app_id)
        for uri in uris:
            if uri not in app["web"]["redirectUris"]:
                app["web"]["redirectUris"].append(uri)
        self.store.put("application", home, app["id"], app)
        return app["web"]["redirectUris"]

    def set_app_credentials(self, *, secret_days: list[int], certificate_days: list[int]) -> Doc:
        """Replace the operator app's credentials with ones ending in these many days."""
        from .seed import credential_doc

        home, app = self.directory.application_by_app_id(self.scenario["operator_app"]["app_id"])
        now = datetime.now(UTC)
        app["passwordCredentials"] = [
            credential_doc(display_name=f"secret {i + 1}", end=now + timedelta(days=d), hint="cs~")
            for i, d in enumerate(secret_days)
        ]
        app["keyCredentials"] = [
            credential_doc(display_name=f"cert {i + 1}", end=now + timedelta(days=d), cert=True)
            for i, d in enumerate(certificate_days)
        ]
        self.store.put("application", home, app["id"], app)
        return {k: app[k] for k in ("passwordCredentials", "keyCredentials")}

    @property
    def login_url(self) -> str:
        return self.listeners["login"].url
