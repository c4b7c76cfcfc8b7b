"""Secrets that objects read: produced by a Secret, a cert-manager Certificate (or ingress-shim), an
ExternalSecret or a SealedSecret of the set (PA008)."""

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from .certificates import SHIM_ANNOTATIONS
from .graph import CERT_MANAGER, CORE, INGRESS_GROUPS, ISTIO_NETWORKING, MONITORING, Graph
from .model import Finding, KubeObject, mapping, sequence, text

# What cert-manager writes into a Certificate's Secret, and the extra keys of its additional output formats.
CERTIFICATE_KEYS = frozenset({"tls.crt", "tls.key", "ca.crt"})
OUTPUT_FORMAT_KEYS = {"CombinedPEM": "tls-combined.pem", "DER": "key.der"}
# Gateway TLS modes that read no credential: the client's TLS passes through, or the mesh's own certificates serve.
NO_CREDENTIAL_MODES = frozenset({"PASSTHROUGH", "AUTO_PASSTHROUGH", "ISTIO_MUTUAL"})
SECRET_SELECTOR_FIELDS = frozenset({"name", "key", "optional"})


@dataclass(frozen=True)
class Producer:
    """What makes a Secret exist; ``keys`` None when the set does not say which keys it will hold."""

    label: str
    keys: frozenset[str] | None


@dataclass(frozen=True)
class Need:
    """One object's reference to a Secret (and to one key of it, when ``key`` is set)."""

    obj: KubeObject
    path: str
    name: str
    key: str = ""


def _certificate_keys(certificate: KubeObject) -> frozenset[str]:
    formats = [text(mapping(f).get("type")) for f in sequence(certificate.spec.get("additionalOutputFormats"))]
    return CERTIFICATE_KEYS | {OUTPUT_FORMAT_KEYS[f] for f in formats if f in OUTPUT_FORMAT_KEYS}


def _producers(graph: Graph) -> dict[tuple[str, str], list[Producer]]:
    produced: dict[tuple[str, str], list[Producer]] = {}

    def add(namespace: str, name: str, producer: Producer) -> None:
        if name:
            produced.setdefault((namespace, name), []).append(producer)

    for secret in graph.of_kind("Secret", CORE):
        keys = {*mapping(secret.body.get("data")), *mapping(secret.body.get("stringData"))}
        add(secret.namespace, secret.name, Producer(secret.ident, frozenset(str(k) for k in keys)))
    for certificate in graph.of_kind("Certificate", CERT_MANAGER):
        producer = Producer(certificate.ident, _certificate_keys(certificate))
        add(certificate.namespace, text(certificate.spec.get("secretName")), producer)
    for ingress in graph.of_kind("Ingress", *INGRESS_GROUPS):
        if any(text(ingress.annotations.get(a)) for a in SHIM_ANNOTATIONS):
            for entry in sequence(ingress.spec.get("tls")):
                add(
                    ingress.namespace, text(mapping(entry).get("secretName")), Producer(ingress.ident, CERTIFICATE_KEYS)
                )
    for external in graph.of_kind("ExternalSecret", "external-secrets.io"):
        name = text(mapping(external.spec.get("target")).get("name")) or external.name
        add(external.namespace, name, Producer(external.ident, None))
    for sealed in graph.of_kind("SealedSecret", "bitnami.com"):
        name = text(mapping(mapping(sealed.spec.get("template")).get("metadata")).get("name")) or sealed.name
        add(sealed.namespace, name, Producer(sealed.ident, None))
    return produced


def _gateway_needs(gateway: KubeObject) -> Iterator[Need]:
    for i, server in enumerate(sequence(gateway.spec.get("servers"))):
        tls = mapping(mapping(server).get("tls"))
        if text(tls.get("mode")).upper() in NO_CREDENTIAL_MODES:
            continue
        prefix = f"spec.servers[{i}].tls"
        for field in ("credentialName", "caCertCredentialName"):
            if text(tls.get(field)):
                yield Need(gateway, f"{prefix}.{field}", text(tls.get(field)))
        for k, name in enumerate(sequence(tls.get("credentialNames"))):
            if text(name):
                yield Need(gateway, f"{prefix}.credentialNames[{k}]", text(name))


def _ingress_needs(ingress: KubeObject) -> Iterator[Need]:
    for i, entry in enumerate(sequence(ingress.spec.get("tls"))):
        if text(mapping(entry).get("secretName")):
            yield Need(ingress, f"spec.tls[{i}].secretName", text(mapping(entry).get("secretName")))


def _secret_selectors(node: Any, path: str) -> Iterator[tuple[str, Mapping[str, Any]]]:
    """Every Secret key selector (``{name, key}``) below ``node``; ConfigMap selectors are not Secrets."""
    if isinstance(node, Mapping):
        if (
            isinstance(node.get("name"), str)
            and isinstance(node.get("key"), str)
            and set(node) <= SECRET_SELECTOR_FIELDS
        ):
            yield path, node
            return
        for field, value in node.items():
            if field != "configMap":
                yield from _secret_selectors(value, f"{path}.{field}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _secret_selectors(value, f"{path}[{i}]")


def _alertmanager_needs(config: KubeObject) -> Iterator[Need]:
    for path, selector in _secret_selectors(config.spec.get("receivers"), "spec.receivers"):
        if selector.get("optional") is not True:
            yield Need(config, path, selector["name"], selector["key"])


def _needs(graph: Graph) -> Iterator[Need]:
    for gateway in graph.of_kind("Gateway", ISTIO_NETWORKING):
        yield from _gateway_needs(gateway)
    for ingress in graph.of_kind("Ingress", *INGRESS_GROUPS):
        yield from _ingress_needs(ingress)
    for config in graph.of_kind("AlertmanagerConfig", MONITORING):
        yield from _alertmanager_needs(config)


def check_secrets(graph: Graph) -> Iterator[Finding]:
    """PA008: every Secret a Gateway server, an Ingress or an AlertmanagerConfig receiver reads is produced in
    the object's namespace (Istio reads a gateway's credentials from the gateway's namespace), with the key
    it reads."""
    produced = _producers(graph)
    for need in _needs(graph):
        namespace = need.obj.namespace
        producers = produced.get((namespace, need.name))
        if not producers:
            yield Finding(
                "PA008",
                need.obj.ident,
                need.path,
                f"Secret {namespace}/{need.name} is produced by nothing in the set (no Secret, Certificate, "
                "ExternalSecret or SealedSecret makes it)",
            )
            continue
        if not need.key or any(p.keys is None or need.key in p.keys for p in producers):
            continue
        keys = sorted({k for p in producers for k in p.keys or ()})
        yield Finding(
            "PA008",
            need.obj.ident,
            f"{need.path}.key",
            f"Secret {namespace}/{need.name} ({', '.join(p.label for p in producers)}) has no key {need.key}; "
            f"it has {', '.join(keys) or 'none'}",
        )
