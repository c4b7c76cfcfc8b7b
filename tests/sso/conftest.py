"""An OpenID Connect provider process on loopback, and the portal's SSO settings pointing at it."""

import json
import os
import runpy
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from unittest import mock

import pytest
import requests

import portal.settings.base

OIDC_DIR = Path(__file__).resolve().parent.parent / "oidc"
CLIENT_ID = "portal"
CLIENT_SECRET = "portal-oidc-test-secret"
# The portal's callback for provider id "sso" as the test client (host "testserver") sees it.
REDIRECT_URI = "http://testserver/accounts/oidc/sso/login/callback/"


@dataclass
class OidcProvider:
    issuer: str
    account_file: Path

    def set_account(self, **claims) -> None:
        """The claims of the one account the provider signs in; read by the provider on every sign-in."""
        self.account_file.write_text(json.dumps(claims))


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_until_ready(process: subprocess.Popen, issuer: str, log: Path, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"the OIDC provider exited with {process.returncode}:\n{log.read_text()}")
        try:
            response = requests.get(f"{issuer}/.well-known/openid-configuration", timeout=2)
            if response.ok and response.json()["issuer"] == issuer:
                return
        except requests.ConnectionError:
            pass
        time.sleep(0.1)
    pytest.fail(f"the OIDC provider did not answer within {timeout}s:\n{log.read_text()}")


@pytest.fixture(scope="session")
def oidc_provider(tmp_path_factory) -> Iterator[OidcProvider]:
    """tests/oidc/server.js (oidc-provider) running on 127.0.0.1 for the whole session."""
    node = shutil.which("node")
    if node is None:
        pytest.fail("node is not installed")
    if not (OIDC_DIR / "node_modules" / "oidc-provider").is_dir():
        pytest.fail("tests/oidc/node_modules is missing: run `make node-tools`")

    workdir = tmp_path_factory.mktemp("oidc")
    log = workdir / "server.log"
    port = _free_port()
    provider = OidcProvider(issuer=f"http://127.0.0.1:{port}", account_file=workdir / "account.json")
    provider.set_account(sub="nobody")
    env = {
        **os.environ,
        "OIDC_CLIENT_ID": CLIENT_ID,
        "OIDC_CLIENT_SECRET": CLIENT_SECRET,
        "OIDC_REDIRECT_URI": REDIRECT_URI,
        "OIDC_ACCOUNT_FILE": str(provider.account_file),
    }
    with log.open("wb") as output:
        process = subprocess.Popen(
            [node, "server.js", str(port)], cwd=OIDC_DIR, env=env, stdout=output, stderr=subprocess.STDOUT
        )
        try:
            _wait_until_ready(process, provider.issuer, log)
            yield provider
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@pytest.fixture
def sso_settings(settings, oidc_provider):
    """The SSO settings base.py builds from PORTAL_OIDC_* when they point at the test provider.

    base.py computes SOCIALACCOUNT_PROVIDERS at import time, so it is evaluated again here with
    the provider's environment; allauth reads the setting on every lookup, so overriding it is enough.
    """
    environment = {
        "PORTAL_OIDC_ISSUER": oidc_provider.issuer,
        "PORTAL_OIDC_CLIENT_ID": CLIENT_ID,
        "PORTAL_OIDC_CLIENT_SECRET": CLIENT_SECRET,
    }
    with mock.patch.dict(os.environ, environment):
        base = runpy.run_path(portal.settings.base.__file__)
    for name, value in base.items():
        if name.startswith("OIDC_") or name == "SOCIALACCOUNT_PROVIDERS":
            setattr(settings, name, value)
    return settings
