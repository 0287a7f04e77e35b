"""The hint ``make run`` prints for lost demo passwords works as printed, from a fresh shell."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
NEW_PASSWORD = "Demo-reset-passphrase-2026!"


def _fresh_shell_env() -> dict[str, str]:
    """A new terminal: none of the demo's or the test run's portal variables."""
    return {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("PORTAL_", "DJANGO_", "DATABASE_", "TEST_DATABASE", "REDIS_"))
    }


def _manage(env: dict[str, str], *args: str) -> str:
    result = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_the_lost_password_hint_resets_a_password_when_portal_var_dir_is_set(tmp_path):
    demo = {**_fresh_shell_env(), "PORTAL_VAR_DIR": str(tmp_path / "demo-var")}
    (tmp_path / "demo-var").mkdir()
    _manage(demo, "migrate", "--no-input", "-v", "0")
    first = _manage(demo, "setup_demo")
    assert "passwords shown once" in first
    again = _manage(demo, "setup_demo").splitlines()
    hint = again[again.index(next(line for line in again if "Reset one with" in line)) + 1]
    command = hint.strip().replace("EMAIL", "operator@contoso.example")

    # Typed into another terminal, in another folder, without PORTAL_VAR_DIR.
    reset = subprocess.run(
        ["sh", "-c", command],
        cwd=tmp_path,
        env=_fresh_shell_env(),
        input=f"{NEW_PASSWORD}\n{NEW_PASSWORD}\n",
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert reset.returncode == 0, reset.stdout + reset.stderr
    assert "Traceback" not in reset.stderr
    assert "Password changed successfully" in reset.stdout
    check = (
        "import django; django.setup(); from portal.models import User; "
        "print(User.objects.get(email='operator@contoso.example')"
        f".check_password({NEW_PASSWORD!r}))"
    )
    result = subprocess.run(
        [sys.executable, "-c", check],
        cwd=BASE_DIR,
        env={**demo, "DJANGO_SETTINGS_MODULE": "portal.settings"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.stdout.strip().splitlines()[-1] == "True", result.stderr
