"""``python -m provisioning.analyze`` and ``manage.py analyze`` as CI runs them: output formats, exit statuses,
inputs (directories, multi-document YAML, JSON objects, lists and ``kind: List``, standard input), and
determinism."""

import json
import os
import re
import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
import yaml
from django.core.management import CommandError, call_command

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = Path(__file__).resolve().parent / "fixtures"
LINE = re.compile(r"^(error|warning) PA\d{3} \S+ \S+: \S.*$")


def without_django() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}


def analyze_cli(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "provisioning.analyze", *args],
        cwd=ROOT,
        env=without_django(),
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
    )


def manage(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "portal.settings.test"}
    return subprocess.run(
        [sys.executable, "manage.py", "analyze", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )


def test_text_output_is_one_finding_a_line_and_errors_exit_1():
    result = analyze_cli("-f", str(FIXTURES / "PA001" / "fail.yaml"))
    assert result.returncode == 1, result.stderr
    lines = result.stdout.splitlines()
    vs = "VirtualService/shop/storefront"
    assert lines == [
        f"error PA001 {vs} spec.gateways[0]: Gateway shop/storefront-gateway is not in the set",
        f"error PA001 {vs} spec.gateways[1]: Gateway istio-ingress/public is not in the set",
    ]
    assert "analyzed 2 objects: 2 errors, 0 warnings" in result.stderr


def test_json_output_has_the_contract_fields_in_order():
    result = analyze_cli("-f", str(FIXTURES / "PA008" / "fail.yaml"), "--format", "json")
    assert result.returncode == 1, result.stderr
    findings = json.loads(result.stdout)["findings"]
    assert [list(f) for f in findings] == [["code", "severity", "object", "path", "message"]] * 4
    assert findings[2] == {
        "code": "PA008",
        "severity": "error",
        "object": "Gateway/istio-ingress/public",
        "path": "spec.servers[0].tls.credentialName",
        "message": "Secret istio-ingress/public-tls is produced by nothing in the set (no Secret, Certificate, "
        "ExternalSecret or SealedSecret makes it)",
    }


def test_a_clean_set_exits_0_with_nothing_on_stdout():
    text = analyze_cli("-f", str(FIXTURES / "PA005" / "pass.yaml"))
    assert (text.returncode, text.stdout) == (0, "")
    as_json = analyze_cli("-f", str(FIXTURES / "PA005" / "pass.yaml"), "--format=json")
    assert (as_json.returncode, json.loads(as_json.stdout)) == (0, {"findings": []})


def test_warnings_alone_exit_0():
    result = analyze_cli("-f", str(FIXTURES / "PA011" / "fail.yaml"))
    assert result.returncode == 0
    assert [line.split()[0] for line in result.stdout.splitlines()] == ["warning", "warning"]


def test_a_yaml_error_exits_2_naming_the_file_and_line(tmp_path):
    broken = tmp_path / "broken.yaml"
    broken.write_text("apiVersion: v1\nkind: Service\nmetadata:\n  name: a\n---\nkind: Service\n  name: [b\n")
    result = analyze_cli("-f", str(FIXTURES / "PA001" / "pass.yaml"), "-f", str(broken))
    assert result.returncode == 2
    assert result.stdout == ""
    assert re.search(rf"{re.escape(str(broken))}:7: .*mapping values are not allowed", result.stderr), result.stderr


def test_a_json_error_exits_2_naming_the_file_and_line(tmp_path):
    broken = tmp_path / "objects.json"
    broken.write_text('{\n  "apiVersion": "v1",\n  "kind": "Service"\n  "metadata": {}\n}\n')
    result = analyze_cli("-f", str(broken))
    assert result.returncode == 2
    assert f"{broken}:4: Expecting ',' delimiter" in result.stderr


def test_an_object_without_a_name_exits_2_naming_the_field(tmp_path):
    nameless = tmp_path / "nameless.yaml"
    nameless.write_text("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: a\n---\napiVersion: v1\nkind: Service\n")
    result = analyze_cli("-f", str(nameless))
    assert result.returncode == 2
    assert f"{nameless}:6: Service: metadata is missing or not a mapping" in result.stderr


def test_a_missing_path_exits_2(tmp_path):
    result = analyze_cli("-f", str(tmp_path / "nowhere"))
    assert result.returncode == 2 and "no such file or directory" in result.stderr


def test_directories_json_forms_and_stdin_read_the_same_objects_as_one_yaml_file(tmp_path):
    """PA003's failing set spread over a directory tree: a JSON object, a JSON list, a ``kind: List`` and
    multi-document YAML; a file that is no manifest is skipped, a kustomization ignored."""
    documents = list(yaml.safe_load_all((FIXTURES / "PA003" / "fail.yaml").read_text()))
    service, rule, route = documents
    (tmp_path / "a" / "b").mkdir(parents=True)
    (tmp_path / "a" / "service.json").write_text(json.dumps(service))
    (tmp_path / "a" / "b" / "rules.json").write_text(json.dumps([rule]))
    (tmp_path / "routes.yml").write_text(yaml.safe_dump({"apiVersion": "v1", "kind": "List", "items": [route]}))
    (tmp_path / "values.yaml").write_text("replicas: 2\n")
    (tmp_path / "kustomization.yaml").write_text("apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n")
    (tmp_path / ".hidden").mkdir()
    (tmp_path / ".hidden" / "junk.yaml").write_text("{{ not yaml")
    (tmp_path / "README.md").write_text("not read")
    expected = analyze_cli("-f", str(FIXTURES / "PA003" / "fail.yaml"))
    spread = analyze_cli("-f", str(tmp_path))
    assert (spread.returncode, spread.stdout) == (expected.returncode, expected.stdout)
    assert f"skipped {tmp_path / 'values.yaml'}:1: not a Kubernetes object" in spread.stderr
    assert "analyzed 3 objects" in spread.stderr
    piped = analyze_cli("-f", "-", stdin=(FIXTURES / "PA003" / "fail.yaml").read_text())
    assert (piped.returncode, piped.stdout) == (expected.returncode, expected.stdout)


def test_findings_are_sorted_and_independent_of_input_order(tmp_path):
    documents = []
    # The AWS checks' fixtures hold AWS resources, which ``-f`` does not read.
    for code in sorted(c for c in os.listdir(FIXTURES) if c < "PA100"):
        for document in yaml.safe_load_all((FIXTURES / code / "fail.yaml").read_text()):
            # The fixtures reuse names; each object keeps its own here.
            document["metadata"]["name"] = f"{document['metadata']['name']}-{code.lower()}"
            documents.append(document)
    forward, backward = tmp_path / "forward.yaml", tmp_path / "backward.yaml"
    forward.write_text(yaml.safe_dump_all(documents))
    backward.write_text(yaml.safe_dump_all(documents[::-1]))
    first = analyze_cli("-f", str(forward), "--format", "json")
    again = analyze_cli("-f", str(forward), "--format", "json")
    reversed_input = analyze_cli("-f", str(backward), "--format", "json")
    assert first.stdout == again.stdout == reversed_input.stdout
    findings = json.loads(first.stdout)["findings"]
    keys = [(f["code"], f["object"], f["path"]) for f in findings]
    assert keys == sorted(keys) and len(set(keys)) == len(keys)
    text = analyze_cli("-f", str(backward))
    assert all(LINE.match(line) for line in text.stdout.splitlines())
    assert [tuple(line.split(": ", 1)[0].split(" ")[1:]) for line in text.stdout.splitlines()] == keys


def test_the_analyzer_is_importable_and_runs_without_django():
    probe = (
        "import sys\n"
        "from provisioning.analyze import Inventory, analyze, load_manifests\n"
        f"objects = load_manifests([{str(FIXTURES / 'PA004' / 'fail.yaml')!r}]).objects\n"
        "assert len(analyze(Inventory(tuple(objects)))) == 4\n"
        "loaded = sorted(m for m in sys.modules if m.split('.')[0] in ('django', 'portal', 'rest_framework'))\n"
        "assert not loaded, loaded\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, env=without_django(), capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr


def test_one_object_given_twice_must_be_the_same(tmp_path):
    service = (FIXTURES / "PA010" / "pass.yaml").read_text().split("---")[0]
    (tmp_path / "a.yaml").write_text(service)
    (tmp_path / "b.yaml").write_text(service)
    assert analyze_cli("-f", str(tmp_path)).returncode == 0
    (tmp_path / "b.yaml").write_text(service.replace("port: 80", "port: 81"))
    result = analyze_cli("-f", str(tmp_path))
    assert result.returncode == 2
    assert f"{tmp_path / 'b.yaml'}:1: Service/shop/admin is given again with other content (first at " in result.stderr


@pytest.mark.slow
def test_manage_py_analyze_exits_like_the_module():
    failing = FIXTURES / "PA010" / "fail.yaml"
    result = manage("-f", str(failing))
    assert result.returncode == 1
    assert result.stdout == analyze_cli("-f", str(failing)).stdout
    assert "analyzed 2 objects: 3 errors, 0 warnings" in result.stderr


def test_manage_py_analyze_formats_and_statuses(tmp_path):
    failing = StringIO()
    with pytest.raises(CommandError) as raised:
        call_command("analyze", "-f", str(FIXTURES / "PA010" / "fail.yaml"), "--format", "json", stdout=failing)
    assert raised.value.returncode == 1
    assert str(raised.value) == "analyzed 2 objects: 3 errors, 0 warnings"
    assert [f["code"] for f in json.loads(failing.getvalue())["findings"]] == ["PA010"] * 3
    clean, summary = StringIO(), StringIO()
    call_command(
        "analyze", "-f", str(FIXTURES / "PA010" / "pass.yaml"), "--format", "json", stdout=clean, stderr=summary
    )
    assert json.loads(clean.getvalue()) == {"findings": []}
    assert "analyzed 3 objects: 0 errors, 0 warnings" in summary.getvalue()
    warnings = StringIO()
    call_command("analyze", "-f", str(FIXTURES / "PA012" / "fail.yaml"), stdout=warnings, stderr=StringIO())
    assert warnings.getvalue().startswith("warning PA012 PrometheusRule/shop/storefront spec.groups[0].rules[1]: ")
    broken = tmp_path / "broken.yaml"
    broken.write_text("kind: Service\nmetadata: {name: a\n")
    with pytest.raises(CommandError) as raised:
        call_command("analyze", "-f", str(broken), stdout=StringIO())
    assert raised.value.returncode == 2
    assert str(raised.value).startswith(f"{broken}:3: ")
