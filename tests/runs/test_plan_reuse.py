"""The plan-reuse decision, pure: an apply reuses the plan it was shown only while nothing it depends on moved."""

from datetime import UTC, datetime, timedelta

import pytest

from provisioning.choices import ChangeAction, RunAction
from provisioning.diff import Change
from provisioning.engine import Scope
from provisioning.models import Plan, ProvisioningRun
from provisioning.resources import KUBERNETES, Resource
from provisioning.runs.perform import plan_may_be_reused, planned_changes

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
WINDOW = 300


def configmap(name: str, value: str = "1") -> Resource:
    body = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": "ledger"},
        "data": {"v": value},
    }
    return Resource(KUBERNETES, "ConfigMap", name, "ledger", "v1", body)


def scope_of(*desired: Resource) -> Scope:
    return Scope(key="service:ledger", labels={}, kinds=[], desired=list(desired), snapshot={})


def plan_of(scope: Scope, *changes: Change, age: float = 10, requires_approval: bool = False) -> Plan:
    return Plan(
        scope=scope.key,
        action=RunAction.APPLY,
        fingerprint=scope.fingerprint,
        created_at=NOW - timedelta(seconds=age),
        changes=[c.as_dict() for c in changes],
        requires_approval=requires_approval,
    )


def run_of(action: str = RunAction.APPLY, attempts: int = 1, approved: bool = False) -> ProvisioningRun:
    return ProvisioningRun(action=action, attempts=attempts, approved_at=NOW if approved else None)


SCOPE = scope_of(configmap("a"), configmap("b"))
PLAN = plan_of(SCOPE, Change(ChangeAction.CREATE, configmap("a")), Change(ChangeAction.UNCHANGED, configmap("b")))


def test_a_fresh_plan_of_todays_desired_state_is_reused():
    assert plan_may_be_reused(run_of(), PLAN, SCOPE, now=NOW, window=WINDOW)


@pytest.mark.parametrize(
    ("run", "plan", "scope", "window", "why"),
    [
        (run_of(), PLAN, SCOPE, 0, "reuse switched off"),
        (run_of(attempts=2), PLAN, SCOPE, WINDOW, "a retry observes again"),
        (run_of(RunAction.DESTROY), PLAN, SCOPE, WINDOW, "only applies reuse"),
        (run_of(), plan_of(SCOPE, age=WINDOW + 1), SCOPE, WINDOW, "too old"),
        (run_of(), PLAN, scope_of(configmap("a", "2"), configmap("b")), WINDOW, "the desired state moved"),
        (run_of(), plan_of(SCOPE, requires_approval=True), SCOPE, WINDOW, "not approved yet"),
    ],
)
def test_anything_else_plans_again(run, plan, scope, window, why):
    assert not plan_may_be_reused(run, plan, scope, now=NOW, window=window), why


def test_an_approved_plan_that_needed_approval_is_reused():
    plan = plan_of(SCOPE, requires_approval=True)
    assert plan_may_be_reused(run_of(approved=True), plan, SCOPE, now=NOW, window=WINDOW)


def test_planned_changes_are_todays_resources_in_the_planned_actions():
    changes = planned_changes(PLAN, SCOPE, recorded={})
    assert [(c.action, c.resource.name) for c in changes] == [("create", "a"), ("unchanged", "b")]
    assert changes[0].resource is SCOPE.desired[0]


def test_a_planned_delete_takes_the_inventorys_resource():
    gone = configmap("old")
    plan = plan_of(
        SCOPE, Change(ChangeAction.UNCHANGED, configmap("a")), Change(ChangeAction.UNCHANGED, configmap("b"))
    )
    plan.changes.append(Change(ChangeAction.DELETE, gone).as_dict())
    changes = planned_changes(plan, SCOPE, recorded={gone.key: gone})
    assert [(c.action, c.resource.name) for c in changes][-1] == ("delete", "old")


@pytest.mark.parametrize(
    ("scope", "why"),
    [
        (scope_of(configmap("a"), configmap("b"), configmap("c")), "a desired resource the plan never saw"),
        (scope_of(configmap("a", "2"), configmap("b")), "a resource's body changed since"),
        (scope_of(configmap("b")), "a planned resource is no longer desired"),
    ],
)
def test_planned_changes_refuse_what_no_longer_matches(scope, why):
    assert planned_changes(PLAN, scope, recorded={}) is None, why


def test_a_planned_delete_the_inventory_does_not_know_is_observed_again():
    """Found by labels or tags when planned: only a fresh observe knows it."""
    plan = plan_of(
        SCOPE, Change(ChangeAction.UNCHANGED, configmap("a")), Change(ChangeAction.UNCHANGED, configmap("b"))
    )
    plan.changes.append(Change(ChangeAction.DELETE, configmap("old")).as_dict())
    assert planned_changes(plan, SCOPE, recorded={}) is None
