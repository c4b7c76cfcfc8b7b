"""A service field's default is written once, in ``provisioning/spec.py``: the API fills it in, the service form
starts from it, the snapshot freezes it and the builders read it, and all of them agree."""

import pytest

from portal.catalog.documents import current_document
from portal.catalog.models import Exposure, Service, Team, Telemetry, Traffic
from provisioning import spec
from provisioning.desired import render_service
from provisioning.snapshot import load_service, platform_snapshot

from .test_service_form import Wizard

pytestmark = pytest.mark.django_db

# Groups of optional settings, each with only its required fields given: the rest are the group's defaults.
GROUPS_BY_API = {
    "canary": {"version": "v2", "weight": 10},
    "retries": {"attempts": 2},
    "outlier_detection": {"consecutive_5xx": 5},
}
GROUPS_BY_FORM = {
    "canary_version": "v2",
    "canary_weight": "10",
    "retries_attempts": "2",
    "outlier_consecutive_5xx": "5",
}
GROUPS_IN_SPEC = spec.Traffic(
    canary=spec.Canary(version="v2", weight=10),
    retries=spec.Retries(attempts=2),
    outlier_detection=spec.OutlierDetection(consecutive_5xx=5),
)


def by_api(client, name: str, traffic: dict) -> dict:
    created = client.post(
        "/api/v1/services/", {"name": name, "team": "payments", "traffic": traffic}, content_type="application/json"
    )
    assert created.status_code == 201, created.json()
    return client.get(f"/api/v1/services/{name}/").json()


def by_form(client, name: str, traffic: dict) -> dict:
    """Every step as the form starts it (only the name typed, and ``traffic`` on its step), then saved."""
    wizard = Wizard(client).press(name=name)
    assert wizard.step == "Exposure"
    wizard.press().press(**traffic)
    assert wizard.step == "Telemetry"
    wizard.press().press("save")
    assert wizard.response.status_code == 302, wizard.page[:500]
    return client.get(f"/api/v1/services/{name}/").json()


def by_rows(name: str) -> dict:
    """A service whose rows are created with nothing but their keys: the models' own defaults."""
    service = Service.objects.create(name=name, team=Team.objects.get(slug="payments"))
    for section in (Exposure, Traffic, Telemetry):
        section.objects.create(service=service)
    return current_document(service)


def the_document(document: dict) -> dict:
    """The parts of an API document a new service's defaults cover (its name aside)."""
    return {key: document[key] for key in spec.default_document() if key != "name"}


def test_a_minimal_service_from_the_api_the_untouched_form_and_bare_rows_is_the_spec_default(
    client_for, member, platform
):
    client = client_for(member)
    expected = the_document(spec.default_document("payments"))
    assert the_document(by_api(client, "by-api", {})) == expected
    assert the_document(by_form(client, "by-form", {})) == expected
    assert the_document(by_rows("by-rows")) == expected

    platform_spec = platform_snapshot()
    for name in ("by-api", "by-form", "by-rows"):
        frozen = load_service(name)
        defaults = spec.ServiceSpec(name=name, team=frozen.team, oncall=frozen.oncall, receivers=frozen.receivers)
        assert frozen == defaults
        rendered = [r.body for r in render_service(frozen, platform_spec)]
        assert rendered == [r.body for r in render_service(defaults, platform_spec)]


def test_the_defaults_inside_optional_groups_agree_too(client_for, member, platform):
    client = client_for(member)
    for document in (by_api(client, "by-api", GROUPS_BY_API), by_form(client, "by-form", GROUPS_BY_FORM)):
        traffic = document["traffic"]
        assert traffic["canary"]["stable_version"] == spec.Canary.stable_version
        assert traffic["retries"]["retry_on"] == spec.Retries.retry_on
        outlier = traffic["outlier_detection"]
        assert (outlier["interval_seconds"], outlier["base_ejection_seconds"], outlier["max_ejection_percent"]) == (
            spec.OutlierDetection.interval_seconds,
            spec.OutlierDetection.base_ejection_seconds,
            spec.OutlierDetection.max_ejection_percent,
        )
        assert load_service(document["name"]).traffic == GROUPS_IN_SPEC
