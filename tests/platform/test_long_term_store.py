"""VictoriaMetrics as the long-term store: Prometheus remote-writes there with a sized queue and keeps only a few
days (still more than the longest window its rules read), Grafana gets it as a data source; without it nothing
changes."""

import json
from dataclasses import replace

import yaml

from provisioning.desired.platform.monitoring import LOCAL_RETENTION, RETENTION, grafana_config, prometheus
from provisioning.desired.prometheus import SLI_WINDOWS
from provisioning.preflight import VENDORED_CRD_DIR, SchemaValidator

from .samples import PLATFORM

WRITE = "http://vminsert.victoriametrics.svc:8480/insert/0/prometheus/api/v1/write"
QUERY = "http://vmselect.victoriametrics.svc:8481/select/0/prometheus"
WITH_VM = replace(PLATFORM, victoriametrics_write_url=WRITE, victoriametrics_query_url=QUERY)


def datasources(platform) -> list[dict]:
    config_map = next(c for c in grafana_config(platform) if c["metadata"]["name"] == "grafana-datasources")
    return yaml.safe_load(config_map["data"]["datasources.yaml"])["datasources"]


def test_prometheus_writes_every_sample_to_victoriametrics_and_keeps_a_few_days():
    spec = prometheus(WITH_VM)["spec"]
    (target,) = spec["remoteWrite"]
    assert (target["name"], target["url"]) == ("victoriametrics", WRITE)
    assert target["queueConfig"]["retryOnRateLimit"] is True
    assert spec["retention"] == LOCAL_RETENTION
    assert SchemaValidator.from_crd_dir(VENDORED_CRD_DIR).validate(prometheus(WITH_VM)) == []


def test_the_local_retention_outlasts_the_longest_rule_window():
    days = {"d": 1, "h": 1 / 24, "m": 1 / 1440}
    longest = max(float(w[:-1]) * days[w[-1]] for w in SLI_WINDOWS)
    assert float(LOCAL_RETENTION[:-1]) > longest


def test_grafana_reads_the_long_term_store():
    (store,) = [d for d in datasources(WITH_VM) if d["uid"] == "victoriametrics"]
    assert (store["type"], store["url"]) == ("prometheus", QUERY)
    assert next(d for d in datasources(WITH_VM) if d.get("isDefault"))["uid"] == "prometheus"


def test_without_victoriametrics_nothing_changes():
    spec = prometheus(PLATFORM)["spec"]
    assert "remoteWrite" not in spec and spec["retention"] == RETENTION
    assert "victoriametrics" not in json.dumps(datasources(PLATFORM))
