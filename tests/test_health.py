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
