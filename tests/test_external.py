"""The error and Retry-After rules shared by the Graph and ACS clients."""

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from assignments.acs import AcsError
from portal.external import retry_after_seconds
from tenants.graph_auth import GraphError


@pytest.mark.parametrize("error_class", [GraphError, AcsError])
@pytest.mark.parametrize(
    ("status", "permanent"),
    [(400, True), (401, True), (403, True), (404, True), (408, False), (409, True),
     (429, False), (500, False), (502, False), (503, False), (None, False)],
)  # fmt: skip
def test_only_throttling_timeouts_and_server_errors_are_worth_retrying(
    error_class, status, permanent
):
    assert error_class.from_status(status, "x").permanent is permanent


@pytest.mark.parametrize(
    ("headers", "seconds"),
    [
        ({"Retry-After": "7"}, 7.0),
        ({"retry-after": "0"}, 0.0),
        ({"Retry-After-Ms": "1500", "Retry-After": "9"}, 1.5),
        ({"Retry-After": "-3"}, 0.0),
        ({"Retry-After": "soon"}, None),
        ({}, None),
    ],
)
def test_retry_after_is_read_in_every_form_microsoft_sends(headers, seconds):
    assert retry_after_seconds(headers) == seconds


def test_retry_after_as_an_http_date():
    later = datetime.now(UTC) + timedelta(seconds=30)
    assert 25 <= retry_after_seconds({"Retry-After": format_datetime(later, usegmt=True)}) <= 30


def test_errors_say_what_failed_without_a_response():
    assert str(GraphError("Graph did not answer in time.", permanent=False)) == (
        "Graph did not answer in time. (no response)"
    )
    assert str(AcsError.from_status(429, "Too many requests", "TooManyRequests")) == (
        "Too many requests (HTTP 429 TooManyRequests)"
    )


def test_tls_trust_is_built_once_and_follows_a_replaced_ca_bundle(tmp_path, settings):
    """cloudsim writes a new CA at the same path when it restarts: the clients must trust it."""
    import os

    import trustme
    from cryptography import x509

    from portal.external import tls_context

    def serial(ca: trustme.CA) -> int:
        return x509.load_pem_x509_certificate(ca.cert_pem.bytes()).serial_number

    def serials_of(context) -> set[int]:  # ssl pads the hex to whole bytes: compare numbers
        return {int(c["serialNumber"], 16) for c in context.get_ca_certs()}

    bundle = tmp_path / "ca.pem"
    first, second = trustme.CA(), trustme.CA()
    first.cert_pem.write_to_path(str(bundle))
    settings.MICROSOFT_CA_BUNDLE = str(bundle)
    context = tls_context()
    assert tls_context() is context
    assert serial(first) in serials_of(context)

    second.cert_pem.write_to_path(str(bundle))
    stamp = bundle.stat().st_mtime_ns + 1_000_000_000
    os.utime(bundle, ns=(stamp, stamp))
    serials = serials_of(tls_context())
    assert serial(second) in serials and serial(first) not in serials
