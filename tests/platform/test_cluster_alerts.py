"""The platform's cluster alerts, unit-tested by the real promtool: a node down, a target down, kube-state-metrics
or the kubelets gone and a gateway without replicas fire, with the SRE team's routing labels and pair on call; a
healthy cluster raises nothing."""

import dataclasses
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from provisioning.desired.platform.cluster import cluster_rules
from provisioning.spec import OnCallPair

from .samples import PLATFORM

FIXTURE = Path(__file__).resolve().parents[1] / "provisioning" / "promtool" / "cluster_test.yaml"
SRE = dataclasses.replace(
    PLATFORM, sre_team="sre", sre_oncall=OnCallPair("carol", "dave", "carol@example.com", "dave@example.com")
)


def test_cluster_alerts_fire_as_promtool_expects(tmp_path):
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.fail("promtool not found: install Debian's 'prometheus' package")
    groups = cluster_rules(SRE)["spec"]["groups"]
    (tmp_path / "rules.yaml").write_text(yaml.safe_dump({"groups": groups}))
    fixed = {
        rule["alert"]: {k: v for k, v in rule["annotations"].items() if "{{" not in v}
        for group in groups
        for rule in group["rules"]
    }
    assert fixed["NodeNotReady"]["incident_commander"] == "carol"
    assert fixed["NodeNotReady"]["resolver_email"] == "dave@example.com"
    tests = yaml.safe_load(FIXTURE.read_text())
    for case in tests["tests"]:
        for check in case["alert_rule_test"]:
            for expected in check["exp_alerts"]:
                expected["exp_annotations"] = {**fixed[check["alertname"]], **expected.get("exp_annotations", {})}
    (tmp_path / "cluster_test.yaml").write_text(yaml.safe_dump(tests, sort_keys=False))
    for args in (["check", "rules", "rules.yaml"], ["test", "rules", "cluster_test.yaml"]):
        result = subprocess.run([promtool, *args], cwd=tmp_path, capture_output=True, text=True, timeout=120)
        assert result.returncode == 0, result.stdout + result.stderr
