"""``analyze -f`` on a directory of about 200 objects (the wiring check a team runs in CI): reading and parsing
the files plus every check in this process, and the whole command in a fresh interpreter as CI starts it.
Needs no Django, database or server: ``python -c "from bench.analyze import run; print(run())"``."""

import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

from provisioning.analyze import Inventory, analyze, load_manifests

ROOT = Path(__file__).resolve().parents[1]
PLATFORM_OBJECTS = 3
OBJECTS_PER_SERVICE = 11


def _platform() -> list[dict[str, Any]]:
    return [
        {
            "apiVersion": "cert-manager.io/v1",
            "kind": "ClusterIssuer",
            "metadata": {"name": "internal-ca"},
            "spec": {"ca": {"secretName": "internal-ca"}},
        },
        {
            "apiVersion": "cert-manager.io/v1",
            "kind": "Certificate",
            "metadata": {"name": "external-gateway-tls", "namespace": "istio-ingress"},
            "spec": {
                "secretName": "external-gateway-tls",
                "dnsNames": ["*.example.com"],
                "issuerRef": {"name": "internal-ca", "kind": "ClusterIssuer", "group": "cert-manager.io"},
            },
        },
        {
            "apiVersion": "networking.istio.io/v1",
            "kind": "Gateway",
            "metadata": {"name": "external-gateway", "namespace": "istio-ingress"},
            "spec": {
                "selector": {"istio": "external-ingressgateway"},
                "servers": [
                    {
                        "port": {"number": 443, "name": "https", "protocol": "HTTPS"},
                        "hosts": ["*.example.com"],
                        "tls": {"mode": "SIMPLE", "credentialName": "external-gateway-tls"},
                    }
                ],
            },
        },
    ]


def _service(name: str, caller: str) -> list[dict[str, Any]]:
    """The objects the portal renders for an exposed mesh service with a canary, callers, an SLO and alerts."""
    fqdn = f"{name}.{name}.svc.cluster.local"
    labels = {"app.kubernetes.io/name": name, "portal.io/team": "payments", "portal.io/service": name}

    def meta(object_name: str = name) -> dict[str, Any]:
        return {"name": object_name, "namespace": name, "labels": labels}

    route = {"destination": {"host": fqdn, "port": {"number": 8080}}}
    return [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, "labels": labels}},
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": meta()},
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": meta("alert-receivers"),
            "data": {"slack-api-url": "aHR0cHM6Ly9ob29rcy5leGFtcGxlLmNvbQ==", "incident-webhook-url": "aA=="},
        },
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": meta(),
            "spec": {
                "selector": {"app.kubernetes.io/name": name},
                "ports": [{"name": "http-8080", "port": 8080}, {"name": "http-metrics", "port": 9090}],
            },
        },
        {
            "apiVersion": "networking.istio.io/v1",
            "kind": "DestinationRule",
            "metadata": meta(),
            "spec": {
                "host": fqdn,
                "trafficPolicy": {"tls": {"mode": "ISTIO_MUTUAL"}},
                "subsets": [
                    {"name": "stable", "labels": {"version": "v1"}},
                    {"name": "canary", "labels": {"version": "v2"}},
                ],
            },
        },
        {
            "apiVersion": "networking.istio.io/v1",
            "kind": "VirtualService",
            "metadata": meta(),
            "spec": {
                "hosts": [fqdn, f"{name}.example.com"],
                "gateways": ["mesh", "istio-ingress/external-gateway"],
                "http": [
                    {
                        "route": [
                            {**route, "destination": {**route["destination"], "subset": "stable"}, "weight": 90},
                            {**route, "destination": {**route["destination"], "subset": "canary"}, "weight": 10},
                        ],
                        "timeout": "5s",
                    }
                ],
            },
        },
        {
            "apiVersion": "security.istio.io/v1",
            "kind": "PeerAuthentication",
            "metadata": meta(),
            "spec": {"mtls": {"mode": "STRICT"}},
        },
        {
            "apiVersion": "security.istio.io/v1",
            "kind": "AuthorizationPolicy",
            "metadata": meta(),
            "spec": {
                "action": "ALLOW",
                "rules": [
                    {"from": [{"source": {"principals": [f"cluster.local/ns/{caller}/sa/{caller}"]}}]},
                    {"from": [{"source": {"principals": ["cluster.local/ns/istio-ingress/sa/istio-ingressgateway"]}}]},
                    {"from": [{"source": {"namespaces": ["monitoring"]}}]},
                ],
            },
        },
        {
            "apiVersion": "monitoring.coreos.com/v1",
            "kind": "ServiceMonitor",
            "metadata": meta(),
            "spec": {
                "selector": {"matchLabels": {"portal.io/service": name}},
                "endpoints": [{"port": "http-metrics", "path": "/metrics", "interval": "30s"}],
            },
        },
        {
            "apiVersion": "monitoring.coreos.com/v1",
            "kind": "PrometheusRule",
            "metadata": meta(),
            "spec": {
                "groups": [
                    {
                        "name": f"{name}.slo",
                        "rules": [
                            {
                                "alert": "ErrorBudgetBurn",
                                "expr": f'slo:error_ratio:rate5m{{service="{name}"}} > 0.0144',
                                "labels": {"team": "payments", "service": name, "severity": severity},
                            }
                            for severity in ("critical", "warning")
                        ],
                    }
                ]
            },
        },
        {
            "apiVersion": "monitoring.coreos.com/v1alpha1",
            "kind": "AlertmanagerConfig",
            "metadata": meta(),
            "spec": {
                "route": {
                    "receiver": "payments-slack",
                    "matchers": [{"name": "team", "matchType": "=", "value": "payments"}],
                    "routes": [
                        {"receiver": "payments-incident", "matchers": [{"name": "severity", "value": "critical"}]}
                    ],
                },
                "receivers": [
                    {
                        "name": "payments-slack",
                        "slackConfigs": [{"apiURL": {"name": "alert-receivers", "key": "slack-api-url"}}],
                    },
                    {
                        "name": "payments-incident",
                        "webhookConfigs": [{"urlSecret": {"name": "alert-receivers", "key": "incident-webhook-url"}}],
                    },
                ],
            },
        },
    ]


def write_manifests(directory: Path, objects: int) -> int:
    """About ``objects`` wired objects, one YAML file per service plus one for the platform; returns the count."""
    services = max(1, -(-(objects - PLATFORM_OBJECTS) // OBJECTS_PER_SERVICE))
    (directory / "platform.yaml").write_text(yaml.safe_dump_all(_platform()))
    for i in range(services):
        name, caller = f"svc-{i:03d}", f"svc-{(i + 1) % services:03d}"
        (directory / f"{name}.yaml").write_text(yaml.safe_dump_all(_service(name, caller)))
    return PLATFORM_OBJECTS + services * OBJECTS_PER_SERVICE


def run(objects: int = 200, repeats: int = 7) -> dict[str, Any]:
    """Median times of ``analyze -f`` over a fresh directory of about ``objects`` objects."""
    with tempfile.TemporaryDirectory(prefix="bench-analyze-") as work:
        directory = Path(work)
        count = write_manifests(directory, objects)
        loads, checks, cpu, findings = [], [], [], []
        for _ in range(repeats):
            started, started_cpu = time.perf_counter(), time.process_time()
            loaded = load_manifests([str(directory)])
            parsed = time.perf_counter()
            findings = analyze(Inventory(tuple(loaded.objects)))
            loads.append(parsed - started)
            checks.append(time.perf_counter() - parsed)
            cpu.append(time.process_time() - started_cpu)
        env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
        command = [sys.executable, "-m", "provisioning.analyze", "-f", str(directory), "--format", "json"]
        walls, command_cpu = [], []
        for _ in range(3):
            before, started = resource.getrusage(resource.RUSAGE_CHILDREN), time.perf_counter()
            subprocess.run(command, cwd=ROOT, env=env, capture_output=True, check=False)
            walls.append(time.perf_counter() - started)
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            command_cpu.append(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime)
    load_ms, analyze_ms = statistics.median(loads) * 1000, statistics.median(checks) * 1000
    return {
        "objects": count,
        "findings": len(findings),
        "load_ms": round(load_ms, 1),
        "analyze_ms": round(analyze_ms, 1),
        "in_process_ms": round(load_ms + analyze_ms, 1),
        "in_process_cpu_ms": round(statistics.median(cpu) * 1000, 1),
        "command_wall_ms": round(statistics.median(walls) * 1000, 1),
        "command_cpu_ms": round(statistics.median(command_cpu) * 1000, 1),
        "note": "medians; in_process_ms = reading and parsing the files (load_ms) plus every check (analyze_ms); "
        "command_* = `python -m provisioning.analyze -f DIR` in a fresh interpreter, start-up included; the CPU "
        "figures do not move with the machine's load, the wall times do",
    }
