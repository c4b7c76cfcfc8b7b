"""The pure parts of the scenarios: B4's request mix, B6's verbs, B7's row counts. No servers."""

from urllib.parse import parse_qs, urlsplit

import pytest

from bench.api import MIX, Mix
from bench.growth import rows_written, step, summary, table_rows
from bench.kubectl import tally, verb
from tests.k8sdouble.requestlog import RequestRecord

NAMES = [f"svc-{i:05d}" for i in range(5000)]
TEAMS = [f"team-{i:02d}" for i in range(40)]


def test_the_mix_draws_every_kind_over_fifty_pages_and_writes_each_service_once():
    mix = Mix(NAMES, TEAMS)
    items = [mix.draw() for _ in range(3000)]
    kinds = [item["kind"] for item in items]
    assert set(kinds) == set(MIX)
    assert 0.07 < kinds.count("write") / len(kinds) < 0.13
    pages = {int(parse_qs(urlsplit(i["path"]).query)["page"][0]) for i in items if i["kind"] == "list"}
    assert pages == set(range(1, 51))
    written = [i["path"] for i in items if i["kind"] == "write"]
    assert len(written) == len(set(written))
    assert all(set(i["patch"]) == {"description"} for i in items if i["kind"] == "write")
    queries = [parse_qs(urlsplit(i["path"]).query) for i in items if i["kind"] in ("team", "exposure", "search")]
    assert all(q["page_size"] == ["100"] for q in queries)


def test_the_mix_is_the_same_for_the_same_seed_and_has_only_existing_pages():
    assert [Mix(NAMES, TEAMS).draw() for _ in range(50)] == [Mix(NAMES, TEAMS).draw() for _ in range(50)]
    assert Mix(NAMES[:20], TEAMS).pages == 1 and Mix(NAMES[:250], TEAMS).pages == 3


def test_the_mix_refuses_more_writes_than_services():
    mix = Mix(NAMES[:2], TEAMS)
    mix.item("write"), mix.item("write")
    with pytest.raises(RuntimeError, match="at most once"):
        mix.item("write")


def record(method: str, path: str, kind: str = "", name: str = "", content_type: str = "") -> RequestRecord:
    return RequestRecord(method=method, path=path, query={}, content_type=content_type, kind=kind, name=name)


def test_requests_are_named_by_verb_as_audit_logs_name_them():
    records = [
        record("GET", "/apis"),
        record("GET", "/api/v1/namespaces/a/services", kind="Service"),
        record("GET", "/api/v1/namespaces/a/services/b", kind="Service", name="b"),
        record(
            "PATCH", "/api/v1/namespaces/a", kind="Namespace", name="a", content_type="application/apply-patch+yaml"
        ),
        record(
            "PATCH", "/api/v1/namespaces/a", kind="Namespace", name="a", content_type="application/merge-patch+json"
        ),
        record("POST", "/api/v1/namespaces", kind="Namespace"),
        record("DELETE", "/api/v1/namespaces/a", kind="Namespace", name="a"),
    ]
    assert [verb(r) for r in records] == ["discovery", "list", "get", "apply", "patch", "create", "delete"]
    assert tally(records)["writes"] == 4 and tally(records)["by_verb"]["apply"] == 1


def test_rows_written_are_per_table_and_leave_out_tables_that_did_not_change():
    before = {"runs": 10, "plans": 5, "teams": 2}
    after = {"runs": 14, "plans": 5, "teams": 2, "logs": 12}
    assert rows_written(before, after) == {"logs": 12, "runs": 4}


def test_growth_compares_the_largest_size_with_the_smallest_per_service():
    sweeps = [
        {"services": n, "wall_s": w, "reads_per_service": r, "checks_missed": 0}
        for n, w, r in ((500, 10.0, 1.0), (2000, 48.0, 1.1))
    ]
    steps = [step(s, {"runs": 0}, {"runs": 7 * s["services"]}) for s in sweeps]
    figures = summary(steps)
    assert figures["reads_per_service_growth"] == 1.1
    assert figures["wall_per_service_growth"] == 1.2
    assert figures["rows_per_service_per_sweep"] == 7.0 and figures["sizes"] == [500, 2000]


@pytest.mark.django_db
def test_table_rows_counts_every_table(team):
    rows = table_rows()
    assert rows["catalog_team"] >= 1 and "provisioning_provisioningrun" in rows
