"""The set of objects indexed once for the checks: by kind and name, Services and ServiceEntries by host,
DestinationRules by host."""

from collections import defaultdict
from dataclasses import dataclass
from functools import cached_property

from .hosts import ServiceName, covers, export_scope, is_wildcard, registry_name, service_name, visible
from .model import Inventory, KubeObject, Settings, mapping, sequence, text

CORE = ""
ISTIO_NETWORKING = "networking.istio.io"
ISTIO_SECURITY = "security.istio.io"
CERT_MANAGER = "cert-manager.io"
MONITORING = "monitoring.coreos.com"
# Ingress lived in extensions/v1beta1 before networking.k8s.io.
INGRESS_GROUPS = ("networking.k8s.io", "extensions")


class HostIndex:
    """Objects by the host patterns they declare: exact hosts looked up directly, wildcards tried in turn."""

    def __init__(self) -> None:
        self._exact: dict[str, list[tuple[KubeObject, frozenset[str] | None]]] = defaultdict(list)
        self._wildcards: list[tuple[str, KubeObject, frozenset[str] | None]] = []

    def add(self, host: str, obj: KubeObject, scope: frozenset[str] | None) -> None:
        if is_wildcard(host):
            self._wildcards.append((host, obj, scope))
        else:
            self._exact[host].append((obj, scope))

    def covering(self, host: str, viewer: str) -> list[KubeObject]:
        """The objects visible from namespace ``viewer`` whose host covers ``host``, exact ones first."""
        found = [obj for obj, scope in self._exact.get(host, ()) if visible(scope, viewer)]
        found += [obj for pattern, obj, scope in self._wildcards if visible(scope, viewer) and covers(pattern, host)]
        return found


@dataclass(frozen=True)
class Resolution:
    """What a host written in some namespace leads to: a Service or a ServiceEntry of the set, or nothing."""

    host: str
    fqdn: str
    name: ServiceName | None
    service: KubeObject | None
    entry: KubeObject | None

    @property
    def found(self) -> bool:
        return self.service is not None or self.entry is not None

    @property
    def namespace(self) -> str:
        """The namespace the traffic lands in, when the host is a cluster Service's (found or not)."""
        if self.entry is not None or self.name is None or not (self.service or self.name.expanded):
            return ""
        return self.name.namespace


class Graph:
    """The inventory's Kubernetes objects with the lookups every check shares, and its AWS resources."""

    def __init__(self, inventory: Inventory, settings: Settings) -> None:
        self.settings = settings
        self.domain = settings.cluster_domain
        self.objects = sorted(inventory.objects, key=lambda o: (o.ident, o.api_version))
        self.aws = inventory.aws
        self._by_kind: dict[tuple[str, str], list[KubeObject]] = defaultdict(list)
        self._by_namespace: dict[tuple[str, str, str], list[KubeObject]] = defaultdict(list)
        self._by_name: dict[tuple[str, str, str, str], KubeObject] = {}
        for obj in self.objects:
            self._by_kind[obj.group, obj.kind].append(obj)
            self._by_namespace[obj.group, obj.kind, obj.namespace].append(obj)
            self._by_name.setdefault((obj.group, obj.kind, obj.namespace, obj.name), obj)

    def of_kind(self, kind: str, *groups: str) -> list[KubeObject]:
        """Every object of ``kind`` in any of ``groups``, in identity order."""
        if len(groups) == 1:
            return self._by_kind.get((groups[0], kind), [])
        return sorted((o for g in groups for o in self._by_kind.get((g, kind), [])), key=lambda o: o.ident)

    def in_namespace(self, kind: str, group: str, namespace: str) -> list[KubeObject]:
        """Every object of ``kind`` in ``namespace``, in identity order."""
        return self._by_namespace.get((group, kind, namespace), [])

    def get(self, group: str, kind: str, namespace: str, name: str) -> KubeObject | None:
        return self._by_name.get((group, kind, namespace, name))

    def find(self, group: str, kind: str, namespace: str, name: str) -> KubeObject | None:
        """An object of any version of ``group``, in ``namespace`` or cluster-scoped (for kinds analyze does not
        know, such as external cert-manager issuers)."""
        return self.get(group, kind, namespace, name) or self.get(group, kind, "", name)

    @cached_property
    def services(self) -> dict[tuple[str, str], KubeObject]:
        return {(s.namespace, s.name): s for s in self.of_kind("Service", CORE)}

    @cached_property
    def _service_entry_hosts(self) -> HostIndex:
        hosts = HostIndex()
        for entry in self.of_kind("ServiceEntry", ISTIO_NETWORKING):
            scope = export_scope(sequence(entry.spec.get("exportTo")), entry.namespace)
            for host in sequence(entry.spec.get("hosts")):
                if isinstance(host, str) and host.strip():
                    hosts.add(registry_name(host, entry.namespace, self.domain), entry, scope)
        return hosts

    def service_entry(self, host: str, viewer: str) -> KubeObject | None:
        """The ServiceEntry visible from namespace ``viewer`` that declares ``host`` (exactly or by wildcard)."""
        found = self._service_entry_hosts.covering(host, viewer)
        return found[0] if found else None

    def resolve(self, host: str, namespace: str) -> Resolution:
        """What ``host``, written in an object of ``namespace``, leads to. ``name.namespace`` and
        ``name.namespace.svc`` find their Service too (PA013 says that Istio would not)."""
        name = service_name(host, namespace, self.domain)
        written = registry_name(host, namespace, self.domain)
        entry = self.service_entry(written, namespace)
        service = None
        if name and entry is None:
            candidate = self.services.get((name.namespace, name.name))
            if candidate is not None and visible(self.service_scope(candidate), namespace):
                service = candidate
        return Resolution(host, name.fqdn if service else written, name, service, entry)

    def hidden_service(self, resolution: Resolution) -> KubeObject | None:
        """The Service a host names that exists but is not exported to where the host is written."""
        if resolution.found or resolution.name is None:
            return None
        return self.services.get((resolution.name.namespace, resolution.name.name))

    @staticmethod
    def service_scope(service: KubeObject) -> frozenset[str] | None:
        """A Service's visibility in the mesh (Istio's ``networking.istio.io/exportTo`` annotation)."""
        annotation = text(service.annotations.get("networking.istio.io/exportTo"))
        return export_scope(annotation.split(",") if annotation else None, service.namespace)

    @cached_property
    def _destination_rules(self) -> HostIndex:
        rules = HostIndex()
        for rule in self.of_kind("DestinationRule", ISTIO_NETWORKING):
            host = text(rule.spec.get("host"))
            if host:
                scope = export_scope(sequence(rule.spec.get("exportTo")), rule.namespace)
                rules.add(self.resolve(host, rule.namespace).fqdn, rule, scope)
        return rules

    def destination_rules(self, fqdn: str, viewer: str) -> list[KubeObject]:
        """The DestinationRules for ``fqdn`` that namespace ``viewer`` sees."""
        return self._destination_rules.covering(fqdn, viewer)

    @staticmethod
    def pod_labels(service: KubeObject | None) -> dict[str, str] | None:
        """The labels a Service's pods surely carry (its selector), when known."""
        if service is None:
            return None
        selector = mapping(service.spec.get("selector"))
        return {str(k): str(v) for k, v in selector.items()} or None
