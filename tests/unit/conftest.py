"""Unit tests of pure functions: no database (pytest-django refuses access without the ``db`` fixture), no servers."""

import pytest


@pytest.fixture(autouse=True)
def aws():
    """Pure functions make no AWS call: the session's AWS sandbox is not started for them."""
