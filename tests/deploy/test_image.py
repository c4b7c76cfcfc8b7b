"""The production image: multi-stage, a base pinned by digest, a non-root user, static files collected at build
time, the pinned runtime dependencies only (the local tools, moto and honcho, come with `make run` alone)."""

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DEV_TOOLS = ("moto", "honcho")


def project() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def name_of(requirement: str) -> str:
    """The normalized project name (PEP 503) of a requirement or lock line."""
    return re.sub(r"[-_.]+", "-", re.split(r"[\[=<>~! ]", requirement, maxsplit=1)[0]).lower()


def test_local_tools_are_an_extra_that_make_run_and_the_tests_install():
    runtime = {name_of(r) for r in project()["dependencies"]}
    extras = project()["optional-dependencies"]
    assert not runtime & set(DEV_TOOLS)
    assert {name_of(r) for r in extras["local"]} == set(DEV_TOOLS)
    assert "platform-portal[local]" in extras["test"]
    makefile = (ROOT / "Makefile").read_text()
    assert re.search(r"^\$\(RUN_STAMP\):.*\n\t.*-e \"\.\[local\]\"", makefile, re.MULTILINE)


def test_every_pin_of_the_project_is_the_locked_version():
    lines = [line for line in (ROOT / "requirements.lock").read_text().splitlines() if "==" in line]
    locked = {name_of(line): line.split("==", 1)[1].strip() for line in lines if not line.startswith("#")}
    requirements = [
        *project()["dependencies"],
        *(r for group in project()["optional-dependencies"].values() for r in group),
    ]
    for requirement in requirements:
        if "==" in requirement:
            assert locked.get(name_of(requirement)) == requirement.split("==", 1)[1], requirement


def test_the_dockerfile_builds_a_pinned_non_root_image_without_dev_tools():
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert re.search(r"^ARG PYTHON_IMAGE=python:[\d.]+-slim-bookworm@sha256:[0-9a-f]{64}$", dockerfile, re.MULTILINE)
    stages = re.findall(r"^FROM (\S+)", dockerfile, re.MULTILINE)
    assert len(stages) == 2 and set(stages) == {"${PYTHON_IMAGE}"}
    assert re.search(r"^USER 10001:10001$", dockerfile, re.MULTILINE)
    assert "collectstatic --noinput" in dockerfile and "-c requirements.lock" in dockerfile
    instructions = "\n".join(line for line in dockerfile.splitlines() if not line.lstrip().startswith("#"))
    assert not re.search(r"\[(local|test)\]|moto|honcho", instructions)
