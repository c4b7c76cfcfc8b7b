"""`manage.py alertmanager_config` writes the complete alertmanager.yml that amtool accepts, for every active
service, readable by its owner only (it holds the receiver URLs)."""

import io
import stat

import yaml
from django.core.management import call_command

from portal.catalog.models import Service

from .test_alert_routing import amtool, catalog, recorder  # noqa: F401  (fixtures)


def test_the_command_writes_a_config_amtool_accepts_for_every_active_service(catalog, tmp_path):  # noqa: F811
    Service.objects.filter(name="search-api").update(state="deleting")
    path = tmp_path / "alertmanager.yml"
    call_command("alertmanager_config", "--output", str(path), stderr=io.StringIO())
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert "SUCCESS" in amtool("check-config", str(path))
    document = yaml.safe_load(path.read_text())
    receivers = {r["name"] for r in document["receivers"]}
    assert any("payments" in name for name in receivers)
    assert not any("search" in name for name in receivers), "a service being deleted gets no route"
    printed = io.StringIO()
    call_command("alertmanager_config", stdout=printed)
    assert printed.getvalue() == path.read_text()
