"""Reading Kubernetes YAML and JSON files, directories and standard input into objects: the only I/O of analyze."""

import json
import sys
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from .model import KubeObject, ManifestError

SUFFIXES = (".yaml", ".yml", ".json")
STDIN = "-"
# Kustomize's own files sit beside manifests but describe a build, not an object.
CONFIG_GROUPS = ("kustomize.config.k8s.io",)
Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class InputError(Exception):
    """Input that cannot be read as Kubernetes objects: the file, the line when known, and the problem."""

    def __init__(self, source: str, line: int | None, problem: str) -> None:
        super().__init__(f"{source}:{line}: {problem}" if line else f"{source}: {problem}")
        self.source, self.line, self.problem = source, line, problem


@dataclass
class Loaded:
    """The objects read, and the documents skipped because they are no Kubernetes objects (``file:line``)."""

    objects: list[KubeObject] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)


def manifest_files(paths: Iterable[str]) -> list[str]:
    """The files to read: each file as given, each directory's YAML and JSON files (recursively, hidden ones
    left out, in name order); ``-`` is standard input."""
    files: list[str] = []
    for given in paths:
        if given == STDIN:
            files.append(STDIN)
            continue
        path = Path(given)
        if path.is_dir():
            found = [
                p
                for p in path.rglob("*")
                if p.suffix.lower() in SUFFIXES
                and p.is_file()
                and not any(part.startswith(".") for part in p.relative_to(path).parts)
            ]
            files.extend(str(p) for p in sorted(found))
        elif path.is_file():
            files.append(given)
        else:
            raise InputError(given, None, "no such file or directory")
    return files


def _read(source: str) -> str:
    try:
        if source == STDIN:
            return sys.stdin.read()
        return Path(source).read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(source, None, f"not UTF-8 text ({exc.reason} at byte {exc.start})") from exc
    except OSError as exc:
        raise InputError(source, None, exc.strerror or str(exc)) from exc


def _yaml_documents(source: str, content: str) -> Iterator[tuple[int, Any]]:
    """(line, document) of each YAML document; a syntax error names its line."""
    loader = Loader(content)
    try:
        while loader.check_node():
            node = loader.get_node()
            yield node.start_mark.line + 1, loader.construct_document(node)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = " ".join(str(p) for p in (exc.context, exc.problem) if p)
        raise InputError(source, mark.line + 1 if mark else None, problem) from exc
    except yaml.YAMLError as exc:
        raise InputError(source, None, str(exc)) from exc
    finally:
        loader.dispose()


def _json_documents(source: str, content: str) -> Iterator[tuple[int, Any]]:
    try:
        document = json.loads(content)
    except json.JSONDecodeError as exc:
        raise InputError(source, exc.lineno, exc.msg) from exc
    yield 1, document


def _items(document: Any) -> Iterator[Any]:
    """A document's objects: itself, or the members of a list or of a ``kind: List``."""
    if isinstance(document, list):
        for item in document:
            yield from _items(item)
    elif (
        isinstance(document, Mapping)
        and str(document.get("kind", "")).endswith("List")
        and isinstance(document.get("items"), list)
    ):
        for item in document["items"]:
            yield from _items(item)
    else:
        yield document


def load_manifests(paths: Iterable[str]) -> Loaded:
    """Every Kubernetes object in ``paths`` (files, directories, ``-``). Raises InputError for unreadable input,
    and for one object given twice with different content (which of them would the cluster hold?)."""
    loaded = Loaded()
    seen: dict[tuple[str, str], tuple[str, Mapping[str, Any]]] = {}
    for source in manifest_files(paths):
        content = _read(source)
        reader = _json_documents if source.lower().endswith(".json") else _yaml_documents
        for line, document in reader(source, content):
            for item in _items(document):
                if item is None:
                    continue
                if not isinstance(item, Mapping) or ("kind" not in item and "apiVersion" not in item):
                    loaded.skipped.append(f"{source}:{line}")
                    continue
                if str(item.get("apiVersion", "")).partition("/")[0] in CONFIG_GROUPS:
                    continue
                try:
                    obj = KubeObject.from_manifest(item)
                except ManifestError as exc:
                    raise InputError(source, line, str(exc)) from exc
                key = (obj.group, obj.ident)
                if key in seen:
                    first, body = seen[key]
                    if body != item:
                        raise InputError(
                            source, line, f"{obj.ident} is given again with other content (first at {first})"
                        )
                    continue
                seen[key] = (f"{source}:{line}", item)
                loaded.objects.append(obj)
    return loaded
