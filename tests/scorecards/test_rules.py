"""Each rule passes on a service that meets it and fails (or does not apply) when one fact is taken away; levels
follow the rules; a team is at its lowest service's level."""

from datetime import date, timedelta

import pytest

from portal.catalog.models import Membership, Service, Team, Telemetry, Traffic
from portal.oncall.models import Rotation, RotationMember, Schedule
from portal.scorecards.cards import scorecards, service_scorecard, team_cards
from portal.scorecards.rules import FAIL, NOT_APPLICABLE, PASS, RULE_IDS, RULES
from provisioning.choices import RunAction, RunStatus

from .world import GOLD, make_ready, plan, register, run

pytestmark = pytest.mark.django_db

ERROR = {"code": "PA004", "severity": "error", "object": "VirtualService/ledger/ledger", "path": "x", "message": "m"}
WARNING = {**ERROR, "code": "PA011", "severity": "warning"}


def outcomes(name: str = "ledger") -> dict[str, tuple[str, str]]:
    card = service_scorecard(name)
    return {o.rule.id: (o.status, o.detail) for o in card.outcomes}


def status(rule_id: str, name: str = "ledger") -> str:
    return outcomes(name)[rule_id][0]


def detail(rule_id: str, name: str = "ledger") -> str:
    return outcomes(name)[rule_id][1]


def test_a_service_meeting_every_rule_is_gold(gold):
    card = service_scorecard("ledger")
    assert {o.rule.id: o.status for o in card.outcomes} == dict.fromkeys(RULE_IDS, PASS)
    assert card.level == "gold" and card.next_level is None
    assert detail("alerts-reach-oncall") == (
        "Alerts reach the incident tool (critical alerts), naming alice (incident commander) and carol (resolver)."
    )


def test_rules_are_data_with_an_id_a_why_and_a_fix_link(gold):
    assert len(set(RULE_IDS)) == len(RULES) == 11
    card = service_scorecard("ledger")
    fixes = {o.rule.id: o.fix_url for o in card.outcomes}
    assert fixes["runbook"] == "/services/ledger/edit/?step=basics"
    assert fixes["slo"] == fixes["dashboard"] == fixes["tracing"] == "/services/ledger/edit/?step=telemetry"
    assert fixes["mtls-strict"] == "/services/ledger/edit/?step=traffic"
    assert fixes["team-members"] == "/teams/payments/#members-heading"
    assert fixes["oncall-rotation"] == "/teams/payments/oncall/"
    assert fixes["alerts-reach-oncall"] == "/teams/payments/edit/"
    assert fixes["wiring-clean"] == "/services/ledger/#analysis-heading"
    assert all(rule.why and "\n" not in rule.why for rule in RULES)


# --- one fact taken away -----------------------------------------------------------------------------------------


def test_team_members(gold, team):
    Membership.objects.filter(team=team).exclude(user__username="alice").delete()
    assert (status("team-members"), detail("team-members")) == (FAIL, "Team payments has 1 person.")


def test_oncall_rotation_needs_two_per_role(gold):
    RotationMember.objects.filter(rotation__role="resolver", user__username="dave").delete()
    assert status("oncall-rotation") == FAIL
    assert detail("oncall-rotation") == "The resolver rotation has 1 person."


def test_oncall_rotation_without_a_schedule(gold):
    Schedule.objects.all().delete()
    assert (status("oncall-rotation"), detail("oncall-rotation")) == (FAIL, "Team payments has no on-call schedule.")


def test_oncall_rotation_and_slo_do_not_apply_to_tier_3(gold):
    Service.objects.filter(pk=gold.pk).update(tier=3)
    Schedule.objects.all().delete()
    Telemetry.objects.filter(service=gold).update(slo=None)
    assert status("oncall-rotation") == status("slo") == NOT_APPLICABLE
    assert (
        detail("slo") == "Applies to tier 1–2 HTTP and gRPC services in the mesh (an SLO is measured from the "
        "mesh's metrics) only."
    )
    # Not applicable counts as passed: the level is still gold.
    assert service_scorecard("ledger").level == "gold"


def test_slo(gold):
    Telemetry.objects.filter(service=gold).update(slo=None)
    assert (status("slo"), detail("slo")) == (FAIL, "No SLO is set.")


def test_slo_does_not_apply_to_a_tcp_service(gold):
    Service.objects.filter(pk=gold.pk).update(protocol="tcp")
    Telemetry.objects.filter(service=gold).update(slo=None)
    assert status("slo") == NOT_APPLICABLE


def test_dashboard(gold):
    Telemetry.objects.filter(service=gold).update(dashboard=False)
    assert (status("dashboard"), detail("dashboard")) == (FAIL, "The dashboard is off.")


def test_tracing(gold):
    assert detail("tracing") == "5 % of requests are traced."
    Telemetry.objects.filter(service=gold).update(tracing_sampling_percent=0)
    assert (status("tracing"), detail("tracing")) == (FAIL, "0 % of requests are traced.")


def test_mtls(gold):
    Traffic.objects.filter(service=gold).update(mtls="PERMISSIVE")
    assert (status("mtls-strict"), detail("mtls-strict")) == (FAIL, "mTLS is PERMISSIVE.")


def test_mesh_rules_do_not_apply_outside_the_mesh(gold):
    Service.objects.filter(pk=gold.pk).update(mesh=False)
    Traffic.objects.filter(service=gold).update(mtls="PERMISSIVE")
    Telemetry.objects.filter(service=gold).update(tracing_sampling_percent=0, slo=None)
    assert status("mtls-strict") == status("tracing") == status("slo") == NOT_APPLICABLE


def test_runbook(gold):
    assert detail("runbook") == "Runbook: https://wiki.example.com/runbooks/ledger"
    Service.objects.filter(pk=gold.pk).update(runbook_url="")
    assert (status("runbook"), detail("runbook")) == (FAIL, "No runbook URL is set.")


def test_last_apply_failed(gold):
    failed = run(gold, RunAction.APPLY, RunStatus.FAILED, ago=timedelta(minutes=5))
    assert (status("apply-succeeded"), detail("apply-succeeded")) == (
        FAIL,
        f"The last apply, run #{failed.pk}, failed.",
    )


def test_a_rejected_or_unfinished_apply_is_no_outcome(gold):
    run(gold, RunAction.APPLY, RunStatus.CANCELLED, ago=timedelta(minutes=5))
    run(gold, RunAction.APPLY, RunStatus.QUEUED, ago=timedelta(minutes=1))
    assert status("apply-succeeded") == PASS


def test_never_applied(team, people, platform):
    register("ledger", **GOLD)
    assert (status("apply-succeeded"), detail("apply-succeeded")) == (FAIL, "Never applied.")
    assert (status("drift-clean"), detail("drift-clean")) == (FAIL, "Never checked for drift.")
    assert (status("wiring-clean"), detail("wiring-clean")) == (FAIL, "Never planned, so its wiring was never checked.")


def test_drift_found(gold):
    found = run(gold, RunAction.DRIFT_CHECK, RunStatus.SUCCEEDED, ago=timedelta(minutes=5), drift=True)
    assert (status("drift-clean"), detail("drift-clean")) == (
        FAIL,
        f"The last drift check, run #{found.pk}, found drift.",
    )


def test_drift_check_failed(gold):
    failed = run(gold, RunAction.DRIFT_CHECK, RunStatus.FAILED, ago=timedelta(minutes=5))
    assert detail("drift-clean") == f"The last drift check, run #{failed.pk}, failed."


def test_drift_check_older_than_a_day(team, people, platform):
    service = register("ledger", **GOLD)
    run(service, RunAction.APPLY, RunStatus.SUCCEEDED, ago=timedelta(hours=30))
    clean = run(service, RunAction.DRIFT_CHECK, RunStatus.SUCCEEDED, ago=timedelta(hours=25))
    assert (status("drift-clean"), detail("drift-clean")) == (
        FAIL,
        f"The last drift check, run #{clean.pk}, was clean but 25 hours ago.",
    )


def test_wiring_error_in_the_last_plan(gold):
    plan(gold, [WARNING])
    assert status("wiring-clean") == PASS  # warnings do not block an apply
    plan(gold, [ERROR, WARNING])
    assert (status("wiring-clean"), detail("wiring-clean")) == (
        FAIL,
        "The last plan has 1 kind(s) of wiring error: PA004.",
    )


def test_a_drift_checks_plan_does_not_hide_the_wiring_error(gold):
    plan(gold, [ERROR])
    drift = run(gold, RunAction.DRIFT_CHECK, RunStatus.SUCCEEDED, ago=timedelta(minutes=1))
    drift.plan = plan(gold)  # a drift check stores a plan too, without analysis
    drift.save(update_fields=["plan"])
    assert status("wiring-clean") == FAIL


def test_wiring_of_an_older_revision(gold):
    Service.objects.filter(pk=gold.pk).update(revision=gold.revision + 1)
    assert status("wiring-clean") == FAIL
    assert detail("wiring-clean") == "Edited since its last plan (revision 1, now 2): plan it again."


def test_alerts_reach_no_one_without_an_incident_source_or_slack(gold, team):
    Team.objects.filter(pk=team.pk).update(incident_alertmanager_url="", incident_alertmanager_token="")
    assert (status("alerts-reach-oncall"), detail("alerts-reach-oncall")) == (
        FAIL,
        "Team payments has no incident-tool Alertmanager source and the platform has no Slack webhook: alerts "
        "reach no one.",
    )


def test_alerts_reach_slack_with_the_platforms_webhook_and_the_teams_channel(gold, team, slack):
    Team.objects.filter(pk=team.pk).update(incident_alertmanager_url="", incident_alertmanager_token="")
    assert detail("alerts-reach-oncall") == (
        "Alerts reach Slack #payments-alerts, naming alice (incident commander) and carol (resolver)."
    )
    Team.objects.filter(pk=team.pk).update(slack_channel="")
    assert (status("alerts-reach-oncall"), detail("alerts-reach-oncall")) == (
        FAIL,
        "Team payments has no incident-tool Alertmanager source and no Slack channel: alerts reach no one.",
    )


def test_alerts_of_a_critical_service_need_someone_on_call_now(gold):
    Rotation.objects.filter(role="resolver").update(start_date=date(2099, 1, 5))
    assert (status("alerts-reach-oncall"), detail("alerts-reach-oncall")) == (
        FAIL,
        "Alerts reach the incident tool (critical alerts), but no one is on call now as resolver.",
    )
    Service.objects.filter(pk=gold.pk).update(tier=3)
    assert (status("alerts-reach-oncall"), detail("alerts-reach-oncall")) == (
        PASS,
        "Alerts reach the incident tool (critical alerts).",
    )


# --- levels -------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "level"),
    [
        (lambda s: Traffic.objects.filter(service=s).update(mtls="PERMISSIVE"), "silver"),
        (lambda s: Telemetry.objects.filter(service=s).update(dashboard=False), "bronze"),
        (lambda s: Service.objects.filter(pk=s.pk).update(runbook_url=""), "none"),
    ],
    ids=["a gold rule fails", "a silver rule fails", "a bronze rule fails"],
)
def test_level_is_the_highest_whose_rules_and_those_below_pass(gold, change, level):
    change(gold)
    assert service_scorecard("ledger").level == level


def test_a_higher_level_needs_every_lower_one(gold):
    # Every silver and gold rule passes, a bronze one fails: no level at all.
    Membership.objects.filter(user__username__in=["bob", "carol", "dave"]).delete()
    card = service_scorecard("ledger")
    assert [o.rule.id for o in card.outcomes if o.status == FAIL] == ["team-members"]
    assert card.level == "none" and card.next_level == "bronze"
    assert [o.rule.id for o in card.to_next_level] == ["team-members"]


def test_team_level_is_its_lowest_services_with_counts(gold, team):
    other = make_ready(register("ledger-sp", **{**GOLD, "runbook_url": ""}))
    make_ready(register("ledger-audit", **GOLD))
    Team.objects.create(slug="empty", name="Empty")
    scorecards()  # stores every card
    cards = team_cards()
    assert [(t.slug, t.level, t.services) for t in cards] == [("empty", None, 0), ("payments", "none", 3)]
    payments = cards[1]
    assert payments.levels == {"none": 1, "bronze": 0, "silver": 0, "gold": 2}
    assert payments.failing == {"runbook": 1}
    Service.objects.filter(pk=other.pk).update(state="deleting")  # only active services count
    assert [(t.slug, t.level, t.services) for t in (scorecards(), team_cards())[1]][1] == ("payments", "gold", 2)
