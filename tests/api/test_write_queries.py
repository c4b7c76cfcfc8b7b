"""A PATCH writes what it changes: the description alone is the service's row and its audit record, in a handful of
SQL queries whatever its sections hold; a changed section rewrites that section's rows only. Either way the revision
moves, the ETag follows it and the document answered is the one the tables give."""

import json
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from portal.audit.models import AuditEvent
from portal.catalog.documents import build_documents
from portal.catalog.models import Service

pytestmark = pytest.mark.usefixtures("platform", "gitops")

SECTION_TABLES = ("catalog_exposure", "catalog_hostname", "catalog_route", "catalog_traffic", "catalog_telemetry")
WRITE = re.compile(r'^\s*(INSERT INTO|UPDATE|DELETE FROM) "(\w+)"')


def create(client, **data) -> None:
    response = client.post("/api/v1/services/", {"team": "payments", **data}, format="json")
    assert response.status_code == 201, response.json()


def written_tables(queries) -> set[str]:
    return {m.group(2) for q in queries.captured_queries if (m := WRITE.match(q["sql"]))}


def from_tables(name: str) -> dict:
    service = Service.objects.get(name=name)
    Service.objects.filter(pk=service.pk).update(spec_json="")
    return json.loads(json.dumps(build_documents([service.pk])[service.pk]))


@pytest.fixture
def shop(api, member):
    """A service with something in every section: hostnames, a header route, allowed callers, an SLO."""
    client = api(member)
    for name in ("ledger", "billing", "shop-mobile"):
        create(client, name=name)
    create(
        client,
        name="shop",
        exposure={
            "level": "internal",
            "hostnames": ["shop.internal.example.com", "www.shop.internal.example.com"],
            "routes": [{"header": "user-agent", "regex": ".*Mobile.*", "service": "shop-mobile"}],
        },
        traffic={"allowed_callers": ["ledger", "billing"], "retries": {"attempts": 2}},
        telemetry={"slo": {"availability": 99.9, "latency_p99_ms": 250}},
    )
    return client


def patch(client, data: dict, etag: str):
    with CaptureQueriesContext(connection) as queries:
        response = client.patch("/api/v1/services/shop/", data, format="json", HTTP_IF_MATCH=etag)
    assert response.status_code == 200, response.json()
    return response, queries


def test_patching_the_description_writes_the_service_row_and_its_audit_record_only(shop):
    read = shop.get("/api/v1/services/shop/")
    response, queries = patch(shop, {"description": "the shop"}, read["ETag"])
    assert len(queries) <= 10, "\n".join(q["sql"][:160] for q in queries.captured_queries)
    # ...and drops its stored scorecard, computed again when next read.
    assert written_tables(queries) == {"catalog_service", "audit_auditevent", "scorecards_storedcard"}
    document = response.json()
    assert document["description"] == "the shop" and document["revision"] == 2
    assert response["ETag"] == '"r2"'
    assert document == from_tables("shop") == shop.get("/api/v1/services/shop/").json()
    assert {k: v for k, v in document.items() if k not in ("description", "revision", "updated_at")} == {
        k: v for k, v in read.json().items() if k not in ("description", "revision", "updated_at")
    }
    event = AuditEvent.objects.filter(action="service.update", object_key="shop").latest("at")
    assert (event.before["description"], event.after["description"]) == ("", "the shop")
    assert event.after["revision"] == 2 and event.after["exposure"] == read.json()["exposure"]
    # The old ETag no longer matches.
    stale = shop.patch("/api/v1/services/shop/", {"description": "again"}, format="json", HTTP_IF_MATCH=read["ETag"])
    assert stale.status_code == 409


def test_patching_one_section_rewrites_that_sections_rows_only(shop):
    etag = shop.get("/api/v1/services/shop/")["ETag"]
    response, queries = patch(shop, {"traffic": {"load_balancer": "least_request"}}, etag)
    written = written_tables(queries)
    assert "catalog_traffic" in written
    assert not written & {"catalog_exposure", "catalog_hostname", "catalog_route", "catalog_telemetry"}
    document = response.json()
    assert document["traffic"]["load_balancer"] == "least_request"
    assert document["traffic"]["allowed_callers"] == ["billing", "ledger"]
    assert document == from_tables("shop")


def test_a_patch_that_changes_nothing_still_moves_the_revision_as_before(shop):
    etag = shop.get("/api/v1/services/shop/")["ETag"]
    response, queries = patch(shop, {}, etag)
    assert response.json()["revision"] == 2 and not written_tables(queries) & set(SECTION_TABLES)
    assert response.json() == from_tables("shop")
