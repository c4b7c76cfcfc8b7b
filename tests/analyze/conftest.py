import pytest


@pytest.fixture(autouse=True)
def aws():
    """analyze reads files and rendered manifests only: no AWS sandbox behind these tests."""
