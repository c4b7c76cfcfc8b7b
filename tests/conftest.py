"""Shared fixtures. Real servers on loopback wherever one exists."""

import os
from pathlib import Path

import pytest
from django.core.cache import cache

from portal.catalog.models import PlatformSettings, Team
from tests.aws.iam import RECORDER, CallWindow
from tests.aws.sandbox import MotoSandbox

pytest_plugins = ["tests.k8sdouble.fixtures", "tests.worker.fixtures"]

AWS_TESTS = Path(__file__).resolve().parent / "aws"
_deselected_aws_tests: list[str] = []


def pytest_sessionstart(session):
    """Record every AWS call the portal makes, for the IAM policy check at the end."""
    RECORDER.install()


def pytest_deselected(items):
    _deselected_aws_tests.extend(item.nodeid for item in items if AWS_TESTS in item.path.parents)


def pytest_sessionfinish(session, exitstatus):
    """Fail the run when the code called an AWS action the IAM policy does not grant (or, after the whole
    AWS test package ran, when the policy grants one nothing called)."""
    problems = [f"called but not in iam/portal-policy.json: {action}" for action in RECORDER.missing()]
    ran = {item.path for item in session.items if AWS_TESTS in item.path.parents}
    whole = bool(ran) and ran == set(AWS_TESTS.glob("test_*.py")) and not _deselected_aws_tests
    if whole and not session.testsfailed:
        problems += [f"in the IAM policies but never called: {action}" for action in RECORDER.unused()]
    if problems:
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        reporter.write_line("\nIAM policy check failed:\n  " + "\n  ".join(problems), red=True, bold=True)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


@pytest.fixture(scope="session")
def aws_sandbox():
    """moto's server on loopback for the whole session; the portal reaches it through AWS_ENDPOINT_URL."""
    sandbox = MotoSandbox().start()
    previous = os.environ.get("AWS_ENDPOINT_URL")
    os.environ["AWS_ENDPOINT_URL"] = sandbox.url
    yield sandbox
    if previous is None:
        os.environ.pop("AWS_ENDPOINT_URL", None)
    else:
        os.environ["AWS_ENDPOINT_URL"] = previous
    sandbox.stop()


@pytest.fixture(autouse=True)
def aws(aws_sandbox):
    """The sandbox, emptied: every test starts from a fresh AWS account. Every service has an AWS half (a log
    group, its team's topic), so anything that plans or applies one needs it."""
    aws_sandbox.reset()
    return aws_sandbox


@pytest.fixture(autouse=True)
def fresh_rate_limits():
    """Rate-limit counters (the API's throttles, allauth's sign-in limits) start from zero in every test."""
    cache.clear()


@pytest.fixture
def aws_calls():
    """The AWS calls the portal makes from now on (recorded by the session's botocore event hook)."""
    return CallWindow(RECORDER)


@pytest.fixture
def platform(db):
    return PlatformSettings.load()


@pytest.fixture
def team(db):
    return Team.objects.create(
        slug="payments",
        name="Payments",
        slack_channel="#payments-alerts",
        incident_alertmanager_url="https://hooks.example.com/services/T0/B0/x",
        incident_alertmanager_token="am-token-x",
        incident_sns_url="https://hooks.example.com/sns/T0/B0/x",
        sso_group="payments",
    )
