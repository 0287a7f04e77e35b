import pytest


def test_healthz_answers_without_sign_in(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


@pytest.mark.django_db
def test_readyz_reports_database_and_broker(client):
    response = client.get("/readyz")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["checks"] == {"database": "ok", "broker": "ok"}


@pytest.mark.django_db
def test_readyz_names_the_broker_when_it_is_down(client):
    from portal.celery import app

    previous = app.conf.broker_url
    app.conf.broker_url = "redis://127.0.0.1:1/0"  # nothing listens on port 1
    try:
        response = client.get("/readyz")
    finally:
        app.conf.broker_url = previous
    assert response.status_code == 503
    body = response.json()
    assert body["checks"]["database"] == "ok"
    assert body["checks"]["broker"].startswith("broker unreachable")


def test_responses_carry_a_request_id(client):
    response = client.get("/healthz")
    assert len(response["X-Request-ID"]) >= 8


@pytest.fixture
def served_hosts(settings):
    settings.ALLOWED_HOSTS = ["portal.contoso.com"]
    settings.SECURE_SSL_REDIRECT = True  # as in production: the redirect reads the host too


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/healthz", "/readyz"])
def test_probes_answer_whatever_the_host(client, served_hosts, path):
    for host in ("127.0.0.1:8000", "10.0.3.7", "evil.example"):
        response = client.get(path, HTTP_HOST=host)
        assert response.status_code == 200, (host, response.content)


@pytest.mark.django_db
def test_a_disallowed_host_gets_a_plain_400_and_one_warning(client, served_hosts, caplog):
    caplog.set_level("INFO")
    response = client.get("/accounts/login/", HTTP_HOST="evil.example")
    assert response.status_code == 400
    assert response["Content-Type"].startswith("text/plain")
    assert b"host name is not served here" in response.content
    records = [r for r in caplog.records if r.levelname != "DEBUG"]
    assert [(r.levelname, r.name) for r in records] == [("WARNING", "portal.hosts")]
    assert "evil.example" in records[0].getMessage()


@pytest.mark.django_db
def test_an_allowed_host_is_served_as_before(client, served_hosts):
    response = client.get("/accounts/login/", HTTP_HOST="portal.contoso.com", secure=True)
    assert response.status_code == 200


@pytest.fixture
def database_locked_by_another_writer():
    """Another process holds SQLite's write lock (a long import, a stuck worker)."""
    import sqlite3

    from django.db import connection

    if connection.vendor != "sqlite":
        pytest.skip("SQLite's single-writer lock (the demo's database)")
    other = sqlite3.connect(connection.settings_dict["NAME"], timeout=0, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    yield
    other.execute("ROLLBACK")
    other.close()


@pytest.mark.django_db(transaction=True)
def test_readyz_fails_fast_when_the_database_cannot_write(
    client, database_locked_by_another_writer
):
    import time

    started = time.monotonic()
    response = client.get("/readyz")
    assert time.monotonic() - started < 3  # inside the probe's 4 s timeout
    assert response.status_code == 503
    assert response.json()["checks"]["database"].startswith("database cannot write")


@pytest.mark.django_db(transaction=True)
def test_a_write_on_a_locked_database_is_a_clear_503_soon(
    settings, operator_client, database_locked_by_another_writer
):
    import time

    from django.db import connection

    from tenants.models import CustomerTenant

    connection.close()  # reconnect with the demo's busy timeout, shortened for the test
    settings.DATABASES["default"]["OPTIONS"]["timeout"] = 1
    started = time.monotonic()
    response = operator_client.post(
        "/tenants/add/", {"tenant_ref": "3f2b1c9e-7a4d-4c1e-9a57-0d6e1f2a3b4c", "offline": "on"}
    )
    assert time.monotonic() - started < 5
    assert response.status_code == 503
    assert b"Nothing was changed; please try again" in response.content
    assert response["Retry-After"] == "5"
    connection.close()
    settings.DATABASES["default"]["OPTIONS"]["timeout"] = 5
    assert not CustomerTenant.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_readyz_fails_when_postgresql_is_read_only(client):
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL's read-only mode")
    with connection.cursor() as cursor:
        cursor.execute("SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY")
    try:
        response = client.get("/readyz")
    finally:
        connection.close()
    assert response.status_code == 503
    assert "read-only" in response.json()["checks"]["database"]
