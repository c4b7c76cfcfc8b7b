"""B1's minimum, derived from a plan, and the breakdown of measured calls against it: pure, no servers."""

import pytest

from bench import minimum
from bench.internals import AWS, KUBERNETES, SAMPLE_PLATFORM, SAMPLE_SERVICES, TOPIC, plan_changes, render_service
from bench.provision import breakdown

SERVICE = SAMPLE_SERVICES["external"]  # two hostnames, access logs (so a metric filter and an alarm), a webhook


def new_service_plan(topic: str = "create") -> list[dict]:
    """The stored plan of a service nothing of which exists yet (its team's topic may)."""
    desired = render_service(SERVICE, SAMPLE_PLATFORM)
    topic_body = next(r for r in desired if r.kind == TOPIC).body
    observed = {r.key: topic_body for r in desired if r.kind == TOPIC and topic == "unchanged"}
    return [change.as_dict() for change in plan_changes(desired, observed, [])]


def counts(needs: list[minimum.Need]) -> dict[str, dict[str, int]]:
    return {provider: {op: e["minimum"] for op, e in ops.items()} for provider, ops in minimum.tally(needs).items()}


def test_a_new_service_needs_one_lookup_per_host_and_each_write_with_its_lookup():
    plan = new_service_plan()
    objects = sum(1 for c in plan if c["provider"] == KUBERNETES)
    needed = counts(minimum.minimum(plan))
    assert needed[KUBERNETES] == {minimum.READ_FILE: 0, minimum.WRITE_FILE: objects, minimum.COMMIT: 1}
    aws = needed[AWS]
    assert aws["GetResources"] == 1
    assert aws["ListResourceRecordSets"] == 2 + 2  # each host in the plan, each record before its write
    assert aws["ChangeResourceRecordSets"] == 2 + 2  # each certificate's validation record, each alias
    assert aws["DescribeCertificate"] == 2 * 2
    assert aws["ListCertificates"] == 2  # the lookups before the requests; the plan has GetResources
    assert aws["DescribeMetricFilters"] == 1  # not in the plan: its log group does not exist
    assert aws["DescribeLogGroups"] == aws["DescribeAlarms"] == 2
    assert aws["GetTopicAttributes"] == 2 and aws["CreateTopic"] == aws["Subscribe"] == 1
    assert "ListSubscriptionsByTopic" not in aws


def test_an_existing_team_topic_is_read_not_written():
    aws = counts(minimum.minimum(new_service_plan(topic="unchanged")))[AWS]
    assert aws["ListSubscriptionsByTopic"] == aws["ListTagsForResource"] == 1
    assert "CreateTopic" not in aws and "Subscribe" not in aws and "GetTopicAttributes" not in aws


def test_planning_again_repeats_the_plans_reads_only():
    once, twice = (counts(minimum.minimum(new_service_plan(), plans)) for plans in (1, 2))
    plan = counts(minimum.plan_needs(new_service_plan()))
    for provider, ops in twice.items():
        for op, n in ops.items():
            assert n == once[provider][op] + plan.get(provider, {}).get(op, 0), (provider, op)


def test_every_need_says_why():
    for need in minimum.minimum(new_service_plan()):
        assert need.reason and need.count >= 0


def test_a_plan_that_is_not_a_new_service_is_refused_by_name():
    plan = new_service_plan()
    vs = next(c for c in plan if c["kind"] == "VirtualService")
    vs["action"] = "update"
    with pytest.raises(ValueError, match="VirtualService payments-api is update"):
        minimum.minimum(plan)


def test_tally_sums_counts_and_keeps_each_reason_once():
    needs = [minimum.Need(AWS, "X", 1, "a"), minimum.Need(AWS, "X", 2, "a"), minimum.Need(AWS, "X", 0, "b")]
    assert minimum.tally(needs) == {AWS: {"X": {"minimum": 3, "why": ["a", "b"]}}}


def sample(calls_plan: dict, calls_run: dict) -> dict:
    return {"changes": new_service_plan(), "calls": {"plan": calls_plan, "run": calls_run}}


def test_the_breakdown_shows_calls_against_the_minimum_by_operation_and_phase():
    plan_calls = {AWS: {"GetResources": 1, "ListCertificates": 1}, KUBERNETES: {}}
    run_calls = {AWS: {"GetResources": 1}, KUBERNETES: {minimum.WRITE_FILE: 13, minimum.COMMIT: 1}}
    result = breakdown([sample(plan_calls, run_calls), sample(plan_calls, run_calls)], plans=1)
    get = result[AWS]["operations"]["GetResources"]
    assert (get["calls"], get["minimum"], get["excess"]) == (2, 1, 1)
    assert get["by_phase"] == {"plan": 1, "run": 1}
    assert get["why"] == ["everything tagged for the service (certificates, log group, alarm)"]
    certificates = result[AWS]["operations"]["ListCertificates"]
    assert certificates["by_phase"]["plan"] == 1 and certificates["minimum"] == 2
    unused = result[AWS]["operations"]["PutMetricAlarm"]
    assert unused["calls"] == 0 and unused["excess"] == -1
    assert result["calls"] == result[AWS]["calls"] + result[KUBERNETES]["calls"]
    assert result["vs_minimum"] == round(result["calls"] / result["minimum"], 2)


def test_an_operation_nobody_needs_says_so():
    result = breakdown([sample({AWS: {"DescribeListenerCertificates": 2}, KUBERNETES: {}}, {AWS: {}})], plans=1)
    entry = result[AWS]["operations"]["DescribeListenerCertificates"]
    assert (entry["calls"], entry["minimum"], entry["why"]) == (2, 0, ["no call of this operation is needed"])
