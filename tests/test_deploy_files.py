"""What can be checked of the production files without a Docker engine."""

from pathlib import Path

import yaml

from portal import queues

BASE_DIR = Path(__file__).resolve().parent.parent


def _compose() -> dict:
    return yaml.safe_load((BASE_DIR / "docker-compose.yml").read_text())


def test_compose_defines_the_production_stack_with_health_checks():
    services = _compose()["services"]
    workers = [f"worker-{queue}" for queue in queues.ALL]
    for name in ("web", *workers, "beat", "postgres", "redis"):
        assert name in services, name
        assert "healthcheck" in services[name], f"{name} has no health check"
    assert "gunicorn" in services["web"]["command"]
    assert services["beat"]["command"][:4] == ["celery", "-A", "portal", "beat"]
    for name in ("web", *workers, "beat"):
        assert services[name]["environment"]["DJANGO_ENV"] == "production"
        assert services[name]["environment"]["REDIS_URL"].startswith("redis://redis:")


def test_compose_volumes_are_named_and_declared():
    compose = _compose()
    declared = set(compose["volumes"])
    used = {
        volume.split(":", 1)[0]
        for service in compose["services"].values()
        for volume in service.get("volumes", [])
    }
    assert used and used <= declared


def test_env_example_names_every_secret_the_stack_needs():
    example = (BASE_DIR / ".env.example").read_text()
    for name in (
        "DJANGO_SECRET_KEY",
        "POSTGRES_PASSWORD",
        "POSTGRES_APP_PASSWORD",
        "ENTRA_CLIENT_SECRET",
        "DJANGO_ALLOWED_HOSTS",
    ):
        assert f"{name}=" in example


def test_image_runs_as_a_non_root_user():
    dockerfile = (BASE_DIR / "Dockerfile").read_text().splitlines()
    users = [line.split()[1] for line in dockerfile if line.startswith("USER ")]
    assert users and users[-1] not in {"root", "0"}
    froms = [line for line in dockerfile if line.startswith("FROM ")]
    assert froms[0].startswith("FROM python:3.11-slim")


def test_the_image_starts_the_web_server_as_compose_does():
    import json

    dockerfile = (BASE_DIR / "Dockerfile").read_text().splitlines()
    cmd = json.loads(
        next(line for line in dockerfile if line.startswith("CMD ")).removeprefix("CMD ")
    )
    assert cmd == _compose()["services"]["web"]["command"]
    assert "python:portal.gunicorn_conf" in cmd  # the redacting access log


def test_compose_runs_one_worker_per_queue_each_checked_by_its_own_name():
    services = _compose()["services"]
    for queue in queues.ALL:
        worker = services[f"worker-{queue}"]
        command = worker["command"]
        assert command[:4] == ["celery", "-A", "portal", "worker"]
        assert command[command.index("--queues") + 1] == queue
        assert command[command.index("--hostname") + 1] == f"{queue}@%h"
        assert f"--destination {queue}@$$HOSTNAME" in worker["healthcheck"]["test"][1]


def test_only_the_one_shot_migrate_connects_as_the_database_owner():
    services = _compose()["services"]
    owner = services["postgres"]["environment"]["POSTGRES_USER"]
    for name, service in services.items():
        url = service.get("environment", {}).get("DATABASE_URL")
        if url is None:
            continue
        user = url.split("://", 1)[1].split(":", 1)[0]
        if name == "migrate":
            assert user == owner
            assert service["environment"]["DATABASE_APP_USER"] == "portal_app"
        else:
            assert user == "portal_app", name


def test_gunicorn_workers_hide_their_start_up_objects_from_the_garbage_collector():
    """A full collection over a loaded Django (150,000 objects) paused a worker for 128 ms."""
    import gc

    from gunicorn.app.base import Application

    class Config(Application):
        def init(self, parser, opts, args):  # pragma: no cover - load_config is replaced
            return None

        def load_config(self):
            self.load_config_from_module_name_or_filename("python:portal.gunicorn_conf")

        def load(self):  # pragma: no cover - never served
            raise AssertionError

    hook = Config().cfg.post_worker_init
    before = gc.get_freeze_count()
    try:
        hook(None)
        assert gc.get_freeze_count() > before
    finally:
        gc.unfreeze()
