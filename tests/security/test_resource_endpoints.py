"""An ACS resource's endpoint is no way to steal the operator app's token or probe the network.

Listeners here are real sockets on loopback (TLS with a test CA where an HTTPS answer is
needed); cloudsim serves the journeys that must keep working through the allowlist.
"""

from __future__ import annotations

import http.server
import re
import socket
import ssl
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import trustme
from django.test import Client
from django.urls import reverse

from assignments.models import AcsResource, AuthMethod
from audit.models import AuditEvent
from cloudsim import ids
from portal import outbound

pytestmark = pytest.mark.django_db
CSRF = re.compile(r'name="csrfmiddlewaretoken" value="[^"]+"')


def same_page(page: str, *varying: str) -> str:
    """The page with what differs per request (CSRF token) and per probe taken out."""
    page = CSRF.sub("", page)
    for value in varying:
        page = page.replace(value, "X")
    return page


class Recorder:
    """A TCP listener on loopback that records every connection and what it received."""

    def __init__(self, reply: bytes | None = None) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.received: list[bytes] = []
        self._reply = reply
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with conn:
                conn.settimeout(2)
                try:
                    self.received.append(conn.recv(65536))
                    if self._reply is not None:
                        conn.sendall(self._reply)
                except OSError:
                    self.received.append(b"")

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
def recorder() -> Iterator[Recorder]:
    listener = Recorder()
    yield listener
    listener.close()


@pytest.fixture
def tls(tmp_path: Path, settings) -> trustme.CA:
    """A test CA the portal trusts (as it trusts cloudsim's in the demo)."""
    ca = trustme.CA()
    bundle = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(bundle))
    settings.MICROSOFT_CA_BUNDLE = str(bundle)
    return ca


class HttpsServer:
    """An HTTPS server on loopback answering every request with ``status`` and ``headers``."""

    def __init__(self, ca: trustme.CA, status: int, headers: dict[str, str]) -> None:
        self.requests: list[dict[str, str]] = []
        owner = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                owner.requests.append(dict(self.headers))
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args) -> None:
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ca.issue_cert("127.0.0.1").configure_cert(context)
        self.httpd.socket = context.wrap_socket(self.httpd.socket, server_side=True)
        self.port = self.httpd.server_address[1]
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def operator_browser(operator_user) -> Client:
    browser = Client()
    browser.force_login(operator_user)
    return browser


def resource_form(endpoint: str, **extra) -> dict[str, str]:
    return {
        "name": "attacker",
        "endpoint": endpoint,
        "auth_method": "key",
        "key_env_var": "ACS_KEY_ATTACKER",
        "enabled": "on",
        **extra,
    }


def test_test_connection_never_sends_the_bearer_token_to_a_loopback_listener(
    admin_client, operator_browser, recorder, microsoft_env, settings
):
    endpoint = f"https://127.0.0.1:{recorder.port}"
    # Through the form: refused, for the admin too, and for an operator not even shown.
    form = resource_form(endpoint, auth_method=AuthMethod.ENTRA, key_env_var="")
    assert operator_browser.post(reverse("assignments:resource_create"), form).status_code == 403
    page = admin_client.post(reverse("assignments:resource_create"), form).content.decode()
    assert "is not allowed" in page and not AcsResource.objects.exists()
    # A row that predates the rules (or was written around them) is refused on use.
    legacy = AcsResource.objects.create(
        name="legacy", endpoint=endpoint, auth_method=AuthMethod.ENTRA
    )
    url = reverse("assignments:resource", args=[legacy.pk])
    page = operator_browser.post(url, {"action": "test"}, follow=True).content.decode()
    assert "Connection failed" in page and "is not allowed" in page
    assert recorder.received == []
    event = AuditEvent.objects.get(action="resource.tested")
    assert event.details["ok"] is False


@pytest.mark.parametrize(
    ("endpoint", "message"),
    [
        ("https://169.254.169.254", "is not allowed"),
        ("http://169.254.169.254/metadata/identity", "Only https://"),
        ("http://contoso.communication.azure.com", "Only https://"),
        ("https://10.0.0.5", "is not allowed"),
        ("https://user:pass@contoso.communication.azure.com", "user name or password"),
        ("https://contoso.communication.azure.com.evil.example", "is not allowed"),
    ],
)
def test_endpoints_outside_the_acs_hosts_are_refused_with_a_clear_message(
    admin_client, endpoint, message
):
    page = admin_client.post(reverse("assignments:resource_create"), resource_form(endpoint))
    assert page.status_code == 200 and message in page.content.decode()
    assert not AcsResource.objects.exists()


def test_cloudsims_admin_port_is_refused_although_its_acs_ports_are_allowed(
    admin_client, microsoft_env, cloudsim
):
    page = admin_client.post(
        reverse("assignments:resource_create"), resource_form(cloudsim.admin_url)
    ).content.decode()
    assert "is not allowed" in page and not AcsResource.objects.exists()


def test_a_host_that_resolves_to_a_private_address_is_never_connected_to(
    operator_browser, recorder, monkeypatch
):
    real = socket.getaddrinfo

    def dns(host, port, *args, **kwargs):
        if host == "contoso-acs.communication.azure.com":
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("10.20.30.40", port))]
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", dns)
    resource = AcsResource.objects.create(
        name="rebound",
        endpoint="https://contoso-acs.communication.azure.com",
        key_env_var="ACS_KEY_REBOUND",
    )
    url = reverse("assignments:resource", args=[resource.pk])
    page = operator_browser.post(url, {"action": "test"}, follow=True).content.decode()
    assert "private, loopback or reserved address" in page
    # The transport checks again when it connects (no gap for a DNS answer to change).
    policy = outbound.Policy.build(
        suffixes=[".communication.azure.com"], allowed_hosts=[], allow_private=False
    )
    with outbound.client(policy) as client, pytest.raises(Exception, match="private"):
        client.get("https://contoso-acs.communication.azure.com/")


def test_link_local_addresses_are_refused_even_for_an_allowed_host(settings):
    policy = outbound.Policy.build(
        suffixes=[], allowed_hosts=["169.254.169.254"], allow_private=True
    )
    with pytest.raises(outbound.DestinationRefused, match="never connects"):
        outbound.resolve("169.254.169.254", 443, policy)


def test_a_redirect_is_never_followed(operator_browser, tls, settings, recorder, monkeypatch):
    server = HttpsServer(tls, 302, {"Location": f"https://127.0.0.1:{recorder.port}/steal"})
    try:
        settings.ACS_ALLOWED_HOSTS = [f"127.0.0.1:{server.port}"]
        settings.OUTBOUND_ALLOW_PRIVATE = True
        settings.ACS_KEY_ENV_VARS = []
        resource = AcsResource.objects.create(
            name="redirects",
            endpoint=f"https://127.0.0.1:{server.port}",
            key_env_var="ACS_KEY_REDIRECTS",
        )
        monkeypatch.setenv("ACS_KEY_REDIRECTS", ids.CONTOSO_ACS_KEY)
        url = reverse("assignments:resource", args=[resource.pk])
        page = operator_browser.post(url, {"action": "test"}, follow=True).content.decode()
    finally:
        server.close()
    assert "redirect, which the portal never follows" in page
    assert len(server.requests) == 1 and recorder.received == []


def test_closed_ports_non_http_services_and_dropped_connections_look_the_same(
    operator_browser, settings, monkeypatch
):
    closed = socket.create_server(("127.0.0.1", 0))
    closed_port = closed.getsockname()[1]
    closed.close()
    talker = Recorder(reply=b"SSH-2.0-OpenSSH_9.6\r\n")  # a service that is not HTTPS
    dropper = Recorder(reply=b"")  # reads the TLS hello, then hangs up
    ports = [closed_port, talker.port, dropper.port]
    settings.ACS_ALLOWED_HOSTS = [f"127.0.0.1:{p}" for p in ports]
    settings.OUTBOUND_ALLOW_PRIVATE = True
    monkeypatch.setenv("ACS_KEY_PROBE", ids.CONTOSO_ACS_KEY)
    pages = []
    try:
        for port in ports:
            resource = AcsResource.objects.create(
                name=f"probe-{port}",
                endpoint=f"https://127.0.0.1:{port}",
                key_env_var="ACS_KEY_PROBE",
            )
            url = reverse("assignments:resource", args=[resource.pk])
            page = operator_browser.post(url, {"action": "test"}, follow=True).content.decode()
            pages.append(same_page(page, str(port), f"resources/{resource.pk}/"))
    finally:
        talker.close()
        dropper.close()
    assert f"Connection failed: {outbound.UNREACHABLE}" in pages[0]
    assert pages[0] == pages[1] == pages[2]
    details = AuditEvent.objects.filter(action="resource.tested").values_list("details", flat=True)
    assert {d["detail"] for d in details} == {f"Connection failed: {outbound.UNREACHABLE}"}


def test_the_key_variable_must_be_declared_and_the_answer_never_tells_if_it_exists(
    admin_client, monkeypatch
):
    monkeypatch.setenv("PORTAL_PROBE_EXISTS", "x")
    monkeypatch.delenv("PORTAL_PROBE_MISSING", raising=False)
    names = ("PORTAL_PROBE_EXISTS", "PORTAL_PROBE_MISSING", "DJANGO_SECRET_KEY")
    pages = [
        admin_client.post(
            reverse("assignments:resource_create"),
            resource_form("https://contoso.communication.azure.com", key_env_var=name),
        ).content.decode()
        for name in names
    ]
    assert "Use a name starting with ACS_KEY_" in pages[0]
    pages = [same_page(page, name) for page, name in zip(pages, names, strict=True)]
    assert pages[0] == pages[1] == pages[2]
    assert not AcsResource.objects.exists()


def test_operators_use_resources_but_only_admins_change_endpoint_and_credentials(
    operator_browser, admin_client, make_user
):
    resource = AcsResource.objects.create(
        name="contoso", endpoint="https://contoso.communication.azure.com", key_env_var="ACS_KEY_C"
    )
    edit = reverse("assignments:resource_edit", args=[resource.pk])
    changed = resource_form("https://other.communication.azure.com", name="contoso")
    assert operator_browser.get(edit).status_code == 403
    assert operator_browser.post(edit, changed).status_code == 403
    detail = operator_browser.get(reverse("assignments:resource", args=[resource.pk]))
    assert "Test connection" in detail.content.decode() and edit not in detail.content.decode()
    assert admin_client.post(edit, changed).status_code == 302
    resource.refresh_from_db()
    assert resource.endpoint == "https://other.communication.azure.com"


@pytest.mark.integration
def test_entra_auth_against_cloudsim_works_and_the_token_goes_to_that_resource_only(
    admin_client, microsoft, settings
):
    from tenants import graph

    graph.reset_token_caches()
    endpoint = microsoft.acs_resources[ids.CONTOSO_ACS]["endpoint"]
    response = admin_client.post(
        reverse("assignments:resource_create"),
        resource_form(endpoint, name="contoso-entra", auth_method=AuthMethod.ENTRA, key_env_var=""),
    )
    resource = AcsResource.objects.get(name="contoso-entra")
    assert response.status_code == 302
    url = reverse("assignments:resource", args=[resource.pk])
    page = admin_client.post(url, {"action": "test"}, follow=True).content.decode()
    assert "Connected: the resource accepted the credentials" in page
    # The app's role on the resource is what lets it in: withheld, the same test fails.
    microsoft.admin("DELETE", f"/acs/{ids.CONTOSO_ACS}/role-assignments/{ids.CONTOSO_OPERATOR_SP}")
    page = admin_client.post(url, {"action": "test"}, follow=True).content.decode()
    assert "has no Azure role on this resource" in page and "x-ms-request-id" in page


@pytest.mark.parametrize(
    ("url", "allowed"),
    [
        ("https://contoso.communication.azure.com", True),
        ("https://contoso.communication.azure.us:443/", True),
        ("https://evilcommunication.azure.com", False),
        ("https://contoso.communication.azure.com.evil.example", False),
        ("https://contoso.communication.azure.com:8443", True),
        ("https://127.0.0.1:8443", True),  # listed with its port
        ("https://127.0.0.1:8442", False),  # the same host, another port
        ("https://[::ffff:127.0.0.1]:8443", False),
        ("https://10.0.0.1.communication.azure.com", True),  # a name; DNS decides later
        ("https://contoso.communication.azure.com:99999", False),
        ("ftp://contoso.communication.azure.com", False),
        ("", False),
    ],
)
def test_the_policy_admits_only_suffixes_and_listed_host_ports(url, allowed):
    policy = outbound.Policy.build(
        suffixes=["communication.azure.com", ".communication.azure.us"],
        allowed_hosts=["127.0.0.1:8443"],
        allow_private=True,
    )
    try:
        outbound.check_url(url, policy)
    except outbound.DestinationRefused:
        assert not allowed
    else:
        assert allowed


@pytest.mark.parametrize(
    ("address", "listed", "refused"),
    [
        ("127.0.0.1", False, True),
        ("127.0.0.1", True, False),
        ("::ffff:10.0.0.1", False, True),
        ("100.64.0.1", False, True),  # shared address space (carrier-grade NAT)
        ("169.254.169.254", True, True),
        ("fe80::1%eth0", True, True),
        ("0.0.0.0", True, True),
        ("20.42.0.1", False, False),
    ],
)
def test_addresses_are_checked_after_resolution(address, listed, refused):
    try:
        outbound.check_address(address, private_ok=listed)
    except outbound.DestinationRefused:
        assert refused
    else:
        assert not refused
