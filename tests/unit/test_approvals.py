"""Which desired states wait for an SRE: pure, on the plan's stored service spec."""

from provisioning.approvals import approval_reasons
from provisioning.engine import stored_snapshot
from provisioning.spec import Exposure, ServiceSpec, TeamSpec


def stored(level: str = "mesh", hostnames: tuple[str, ...] = ()) -> dict:
    spec = ServiceSpec(name="shop", team=TeamSpec("web", "Web"), exposure=Exposure(level=level, hostnames=hostnames))
    return stored_snapshot(spec)


def test_mesh_and_internal_services_need_no_approval():
    assert approval_reasons(stored(), None) == []
    assert approval_reasons(stored("internal", ("shop.internal.example.com",)), None) == []


def test_first_internet_exposure_needs_an_sre():
    reasons = approval_reasons(stored("external", ("shop.example.com",)), None)
    assert reasons == ["exposes the service to the internet on shop.example.com"]


def test_moving_from_internal_to_external_needs_an_sre():
    before = stored("internal", ("shop.internal.example.com",))
    assert approval_reasons(stored("external", ("shop.example.com",)), before)


def test_changing_public_hostnames_needs_an_sre_again():
    before = stored("external", ("shop.example.com",))
    reasons = approval_reasons(stored("external", ("shop.example.com", "www.example.com")), before)
    assert reasons == [
        "changes the internet-facing hostnames from shop.example.com to shop.example.com, www.example.com"
    ]


def test_an_unchanged_external_service_applies_without_approval():
    before = stored("external", ("b.example.com", "a.example.com"))
    assert approval_reasons(stored("external", ("a.example.com", "b.example.com")), before) == []


def test_plans_stored_before_the_spec_had_sections_still_count():
    flat = {"level": "external", "hostnames": ["shop.example.com"]}
    assert approval_reasons(stored("external", ("shop.example.com",)), flat) == []
    assert approval_reasons(flat, None) == ["exposes the service to the internet on shop.example.com"]
