"""Packaging and deployment contracts: compose.yaml, production settings."""

import json
import os
import subprocess
import sys
from pathlib import Path

import jsonschema
import yaml

ROOT = Path(__file__).resolve().parents[2]


def test_compose_file_validates_against_the_compose_spec():
    schema = json.loads((ROOT / "tests" / "schemas" / "compose-spec.json").read_text())
    document = yaml.safe_load((ROOT / "compose.yaml").read_text())
    jsonschema.Draft7Validator(schema).validate(document)
    assert {"web", "worker", "beat", "postgres", "redis"} <= set(document["services"])
    images = {document["services"][s]["image"] for s in ("web", "worker", "beat")}
    assert images == {"platform-portal:latest"}, "web, worker and beat share one image"


def _deploy_check(env_overrides: dict[str, str]) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "PORTAL_"))}
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "portal.settings.production",
            "DATABASE_URL": "postgres://portal@127.0.0.1:5432/portal",
            "REDIS_URL": "redis://127.0.0.1:6379/0",
            "DJANGO_ALLOWED_HOSTS": "portal.example.com",
            "PORTAL_ENCRYPTION_KEYS": "cHJvZHVjdGlvbi1rZXktZm9yLXRoZS1kZXBsb3ktY2g=",
        }
    )
    env.update(env_overrides)
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_production_settings_pass_check_deploy():
    result = _deploy_check({"DJANGO_SECRET_KEY": "p" * 20 + "Zx9!k2#Lm4$Qw8^Rt6&Yu1*Io3(Pa5)Sd7"})
    assert result.returncode == 0, result.stdout + result.stderr


def test_production_settings_have_no_secret_defaults():
    result = _deploy_check({})
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY" in result.stderr
