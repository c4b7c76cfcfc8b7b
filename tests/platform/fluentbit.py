"""Just enough of Fluent Bit to follow a record through the generated pipeline, the way Fluent Bit does it.

- Tags: ``tail`` expands ``*`` in its tag to the file's path (slashes as dots); ``match`` patterns take ``*``
  for any run of characters.
- The kubernetes filter finds pod, namespace, container and container id in the tag (after
  ``kube_tag_prefix``) with its built-in regular expression, and adds ``kubernetes`` and, with
  ``namespace_labels``, ``kubernetes_namespace`` (``name``, ``labels``) to the record.
- Record accessor templates (``src/flb_record_accessor.c``): ``$TAG``, ``$TAG[n]`` (ends at its ``]``), and
  ``$key['sub'][n]`` variables, which end only at ``.``, ``,``, a space or ``"`` outside quotes; the variable's
  text must parse as a key with subkeys or the template is refused. Outputs translate with "check" (a missing
  key fails the whole template, and the fallback name is used); ``rewrite_tag`` without (a missing key is "").
"""

import re
from dataclasses import dataclass
from typing import Any

# plugins/filter_kubernetes/kube_regex.h: KUBE_TAG_TO_REGEX
KUBE_TAG_REGEX = re.compile(
    r"(?P<pod_name>[a-z0-9](?:[-a-z0-9]*[a-z0-9])?(?:\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*)_"
    r"(?P<namespace_name>[^_]+)_(?P<container_name>.+)-(?P<docker_id>[a-z0-9]{64})\.log$"
)
_KEY = re.compile(r"\$(?P<key>[A-Za-z_][A-Za-z0-9_\-]*)(?P<subkeys>(?:\['[^']*'\]|\[[0-9]+\])*)")
_SUBKEY = re.compile(r"\['([^']*)'\]|\[([0-9]+)\]")


class TemplateError(ValueError):
    """Fluent Bit would refuse this template at start-up."""


@dataclass(frozen=True)
class Part:
    kind: str  # text | tag | tag_part | key
    text: str = ""
    index: int = 0
    path: tuple[str | int, ...] = ()


def _key(variable: str) -> Part:
    match = _KEY.fullmatch(variable)
    if not match:
        raise TemplateError(f"record accessor cannot parse {variable!r}")
    subkeys = tuple(name if index == "" else int(index) for name, index in _SUBKEY.findall(match.group("subkeys")))
    return Part("key", path=(match.group("key"), *subkeys))


def parse(template: str) -> list[Part]:
    """``ra_parse_buffer``: split a template into literal text, tag references and record keys."""
    parts: list[Part] = []
    length, i, pre = len(template), 0, 0
    while i < length:
        if template[i] != "$":
            i += 1
            continue
        if i > pre:
            parts.append(Part("text", template[pre:i]))
        pre = n = i + 1
        if n >= length:
            break
        if template[n].isdigit():
            raise TemplateError("regex captures ($0..$9) are not used by the platform's pipeline")
        if template.startswith("TAG", n):
            if n + 4 < length and template[n + 3] == "[":
                close = template.index("]", n + 3)
                parts.append(Part("tag_part", index=int(template[n + 4 : close])))
                # C resumes the scan one past the character after "]".
                pre, i = close + 1, close + 2
                continue
            parts.append(Part("tag"))
            pre, i = n + 3, n + 4
            continue
        quotes, end = 0, i + 1
        while end < length:
            char = template[end]
            if char == "'":
                quotes += 1
            elif char == "." and quotes % 2:
                pass
            elif char in '. ,"':
                break
            end += 1
        parts.append(_key(template[i:end]))
        pre, i = end, end + 1
    if pre < length:
        parts.append(Part("text", template[pre:]))
    return parts


def _lookup(record: dict[str, Any], path: tuple[str | int, ...]) -> Any:
    value: Any = record
    for step in path:
        if isinstance(step, int):
            if not isinstance(value, list) or step >= len(value):
                return None
        elif not isinstance(value, dict) or step not in value:
            return None
        value = value[step]
    return value


def translate(template: str, tag: str, record: dict[str, Any], *, check: bool) -> str | None:
    """``flb_ra_translate`` (``check``: ``flb_ra_translate_check``, None when a key is missing)."""
    out = []
    for part in parse(template):
        if part.kind == "text":
            out.append(part.text)
        elif part.kind == "tag":
            out.append(tag)
        elif part.kind == "tag_part":
            pieces = tag.split(".")
            out.append(pieces[part.index] if part.index < len(pieces) else "")
        else:
            value = _lookup(record, part.path)
            if value is None:
                if check:
                    return None
                continue
            out.append(str(value).lower() if isinstance(value, bool) else str(value))
    return "".join(out)


def matches(pattern: str, tag: str) -> bool:
    return re.fullmatch(".*".join(re.escape(piece) for piece in pattern.split("*")), tag) is not None


def tail_tag(pattern: str, path: str) -> str:
    return pattern.replace("*", path.lstrip("/").replace("/", "."))


def container_log_path(directory: str, pod: str, namespace: str, container: str) -> str:
    return f"{directory}/{pod}_{namespace}_{container}-{'0123456789abcdef' * 4}.log"


def kubernetes_filter(
    config: dict[str, Any], tag: str, record: dict[str, Any], pod_labels: dict, namespace_labels: dict
) -> dict[str, Any]:
    """The record as the kubernetes filter leaves it (the API server's answers given as the two label sets)."""
    meta = KUBE_TAG_REGEX.search(tag.removeprefix(config["kube_tag_prefix"]))
    assert meta, f"the kubernetes filter finds no pod in tag {tag}"
    kubernetes = {k: meta.group(k) for k in ("pod_name", "namespace_name", "container_name", "docker_id")}
    if config.get("labels", True):
        kubernetes["labels"] = dict(pod_labels)
    enriched = {**record, "kubernetes": kubernetes}
    if config.get("namespace_labels"):
        enriched["kubernetes_namespace"] = {"name": kubernetes["namespace_name"], "labels": dict(namespace_labels)}
    return enriched


def rewrite_tag(config: dict[str, Any], tag: str, record: dict[str, Any]) -> list[str]:
    """The tags the record leaves ``rewrite_tag`` with: the new one when the rule matches (the old one too when
    the rule keeps it), else the old one."""
    key, regex, new_tag, keep = config["rule"].split(" ")
    value = translate(key, tag, record, check=False)
    if not value or not re.search(regex, value):
        return [tag]
    rewritten = translate(new_tag, tag, record, check=False)
    return [rewritten, tag] if keep == "true" else [rewritten]
