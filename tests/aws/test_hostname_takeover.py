"""A hostname cannot be claimed while another service holds it, or while its record or certificate still
exists in AWS for another service."""

import pytest
from rest_framework.exceptions import ValidationError

from portal.catalog.api.serializers import ServiceSerializer
from provisioning.choices import RunStatus
from provisioning.models import ManagedResource
from tests.engine.conftest import update

from .conftest import apply, expose


@pytest.fixture
def shop(team, bootstrapped, sre):
    service = expose("shop", "external", ["shop.example.com"])
    assert apply(service, sre).status == RunStatus.SUCCEEDED
    return service


def test_a_name_held_by_another_service_is_refused(shop):
    with pytest.raises(ValidationError) as refused:
        expose("shop-copy", "external", ["SHOP.example.com"])
    assert "already used by service 'shop'" in str(refused.value.detail["exposure"]["hostnames"])


def test_a_name_given_up_but_still_live_in_aws_cannot_be_claimed(shop):
    update(shop, exposure={"hostnames": ["store.example.com"]})  # not applied: the record still exists
    serializer = ServiceSerializer(
        data={
            "name": "attacker",
            "team": "payments",
            "exposure": {"level": "external", "hostnames": ["shop.example.com"]},
        }
    )
    assert not serializer.is_valid()
    message = str(serializer.errors["exposure"]["hostnames"])
    assert "still has a DNS record or certificate in AWS for service 'shop'" in message


def test_once_the_holder_applied_the_name_is_free(shop, sre):
    shop = update(shop, exposure={"hostnames": ["store.example.com"]})
    assert apply(shop, sre).status == RunStatus.SUCCEEDED
    assert expose("shop-v2", "external", ["shop.example.com"]).name == "shop-v2"


def test_the_apply_refuses_to_take_over_a_record_even_when_the_catalog_was_bypassed(shop, sre):
    update(shop, exposure={"hostnames": ["store.example.com"]})
    # The inventory lost track (the check above cannot see it), but the record in Route53 still says whose it is.
    ManagedResource.objects.filter(name="shop.example.com").delete()
    attacker = expose("attacker", "external", ["shop.example.com"])
    run = apply(attacker, sre)
    assert run.status == RunStatus.FAILED
    failed = run.steps.get(status="failed")
    assert failed.error_code == "RecordOwnedByAnotherService"
    assert "belongs to service shop" in failed.error
