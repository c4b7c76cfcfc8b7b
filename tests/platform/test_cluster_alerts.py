"""The platform's cluster alerts, unit-tested by the real promtool: a node down, a target down and
kube-state-metrics gone fire; a healthy cluster raises nothing."""

import dataclasses
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from provisioning.desired.platform.cluster import cluster_rules

from .samples import PLATFORM

FIXTURE = Path(__file__).resolve().parents[1] / "provisioning" / "promtool" / "cluster_test.yaml"
SRE = dataclasses.replace(PLATFORM, sre_team="sre")


def test_cluster_alerts_fire_as_promtool_expects(tmp_path):
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.fail("promtool not found: install Debian's 'prometheus' package")
    groups = cluster_rules(SRE)["spec"]["groups"]
    (tmp_path / "rules.yaml").write_text(yaml.safe_dump({"groups": groups}))
    annotations = {rule["alert"]: rule["annotations"] for group in groups for rule in group["rules"]}
    tests = yaml.safe_load(FIXTURE.read_text())
    for case in tests["tests"]:
        for check in case["alert_rule_test"]:
            for expected in check["exp_alerts"]:
                expected["exp_annotations"] = annotations[check["alertname"]]
    (tmp_path / "cluster_test.yaml").write_text(yaml.safe_dump(tests, sort_keys=False))
    for args in (["check", "rules", "rules.yaml"], ["test", "rules", "cluster_test.yaml"]):
        result = subprocess.run([promtool, *args], cwd=tmp_path, capture_output=True, text=True, timeout=120)
        assert result.returncode == 0, result.stdout + result.stderr
