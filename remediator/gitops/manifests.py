"""Find the documents that define an object under an application's path.

Plain directories (every YAML file, multi-document files included) and
Kustomize trees: `resources`/`bases`/`components` (files or directories, each
maybe a kustomization of its own), then `patchesStrategicMerge` and `patches`
(strategic-merge files, JSON 6902 files with a `target`), the `replicas` and
`images` entries, then the `namespace`, `namePrefix` and `nameSuffix`
transformers, in that order, as kustomize applies them. The
result is every document that shapes the object in the cluster, bases first,
so the last one that sets a field is where the field is finally set.
Remote bases and inline patches are not followed (they cannot be edited here).
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Any, Literal, Protocol

from remediator.gitops.yamledit import EditError, load_all

KUSTOMIZATION_FILES = ("kustomization.yaml", "kustomization.yml", "Kustomization")
POD_KINDS = frozenset({"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job",
                       "CronJob"})
SCALABLE_KINDS = frozenset({"Deployment", "StatefulSet", "ReplicaSet"})
Role = Literal["resource", "patch", "json6902", "replicas", "images"]
"""A resource document, a strategic-merge patch, a JSON 6902 patch, or an entry of a
kustomization's `replicas:` or `images:` (then `local_name` is the entry's name)."""
_MAX_DEPTH = 20


class Files(Protocol):
    """Read-only files of one revision; paths are relative to the repository root."""

    def read(self, path: str) -> str | None:
        """The file's text, or None when there is no such file."""

    def listdir(self, path: str) -> list[str] | None:
        """The names in a directory, or None when it is not a directory."""


@dataclass(frozen=True)
class Definition:
    """One document that shapes the object: a resource or a patch of it."""

    file: str
    index: int
    role: Role
    kind: str
    name: str
    """The name in the cluster (after prefixes and suffixes)."""
    namespace: str | None
    local_name: str
    """The name as written in this document."""


class Tree:
    """The documents under one path of one revision (each file parsed once)."""

    def __init__(self, files: Files) -> None:
        self.files = files
        self._docs: dict[str, list[Any]] = {}

    def docs(self, path: str) -> list[Any]:
        """The documents of a file (round-trip, with positions)."""
        if path not in self._docs:
            text = self.files.read(path)
            if text is None:
                raise EditError(f"{path}: no such file")
            self._docs[path] = load_all(text, path)
        return self._docs[path]

    def definitions(self, root: str, kind: str, name: str, namespace: str) -> list[Definition]:
        """The documents that define `kind/name` in `namespace`, in the order applied."""
        return [d for d in self._collect(clean_path("", root.strip("/") or "."), 0)
                if d.kind == kind and d.name == name and d.namespace in (None, namespace)]

    def _collect(self, directory: str, depth: int) -> list[Definition]:
        if depth > _MAX_DEPTH:
            raise EditError(f"{directory}: kustomizations nest deeper than {_MAX_DEPTH}")
        names = self.files.listdir(directory)
        if names is None:
            raise EditError(f"{directory or '.'}: no such directory")
        for candidate in KUSTOMIZATION_FILES:
            if candidate in names:
                return self._kustomize(posixpath.join(directory, candidate), depth)
        return [d for path in self._yaml_files(directory) for d in self._resources(path)]

    def _yaml_files(self, directory: str) -> Iterator[str]:
        for entry in sorted(self.files.listdir(directory) or []):
            path = posixpath.join(directory, entry)
            if entry.startswith("."):
                continue
            if entry.endswith((".yaml", ".yml")):
                yield path
            elif self.files.listdir(path) is not None:
                yield from self._yaml_files(path)

    def _resources(self, path: str) -> list[Definition]:
        found = []
        for index, doc in enumerate(self.docs(path)):
            identity = _identity(doc)
            if identity is not None:
                kind, name, namespace = identity
                found.append(Definition(path, index, "resource", kind, name, namespace, name))
        return found

    def _kustomize(self, path: str, depth: int) -> list[Definition]:
        spec = self.docs(path)[0] if self.docs(path) else {}
        if not isinstance(spec, dict):
            raise EditError(f"{path}: a kustomization must be a mapping")
        base = posixpath.dirname(path)
        found: list[Definition] = []
        for entry in _strings(spec, "resources", "bases", "components"):
            if "://" in entry or entry.startswith("github.com/"):
                continue
            target = clean_path(base, entry)
            if self.files.listdir(target) is not None:
                found.extend(self._collect(target, depth + 1))
            else:
                found.extend(self._resources(target))
        found.extend(self._patches(spec, base, found))
        found.extend(self._transformers(spec, path, found))
        return _transform(spec, found)

    def _patches(self, spec: dict[str, Any], base: str,
                 found: list[Definition]) -> Iterator[Definition]:
        entries: list[tuple[str, Any]] = [
            (p, None) for p in _strings(spec, "patchesStrategicMerge") if "\n" not in p]
        entries += [(p["path"], p.get("target")) for key in ("patches", "patchesJson6902")
                    for p in spec.get(key) or []
                    if isinstance(p, dict) and isinstance(p.get("path"), str)]
        for entry, target in entries:
            path = clean_path(base, entry)
            for index, doc in enumerate(self.docs(path)):
                yield from _patch_definitions(path, index, doc, target, found)

    def _transformers(self, spec: dict[str, Any], path: str,
                      found: list[Definition]) -> Iterator[Definition]:
        """`replicas:` and `images:` entries of a kustomization, per resource they touch."""
        workloads = [d for d in found if d.role == "resource" and d.kind in POD_KINDS]
        for entry in spec.get("replicas") or []:
            name = entry.get("name") if isinstance(entry, dict) else None
            for d in workloads:
                if d.name == name and d.kind in SCALABLE_KINDS:
                    yield replace(d, file=path, index=0, role="replicas", local_name=name)
        for entry in spec.get("images") or []:
            name = entry.get("name") if isinstance(entry, dict) else None
            if isinstance(name, str):
                yield from (replace(d, file=path, index=0, role="images", local_name=name)
                            for d in workloads)


def _patch_definitions(path: str, index: int, doc: Any, target: Any,
                       found: list[Definition]) -> Iterator[Definition]:
    role: Role = "json6902" if isinstance(doc, list) else "patch"
    identity = _identity(doc)
    if isinstance(target, dict):
        kind, name = target.get("kind"), target.get("name")
    elif identity is not None and role == "patch":
        kind, name = identity[0], identity[1]
    else:
        return
    local = identity[1] if identity is not None else ""
    for d in found:
        if d.role == "resource" and d.kind == kind and d.name == name:
            yield Definition(path, index, role, d.kind, d.name, d.namespace, local)


def _transform(spec: dict[str, Any], found: list[Definition]) -> list[Definition]:
    namespace = spec.get("namespace")
    prefix, suffix = str(spec.get("namePrefix") or ""), str(spec.get("nameSuffix") or "")
    return [replace(d, name=prefix + d.name + suffix,
                    namespace=str(namespace) if namespace else d.namespace) for d in found]


def _identity(doc: Any) -> tuple[str, str, str | None] | None:
    if not isinstance(doc, dict) or not isinstance(doc.get("metadata"), dict):
        return None
    kind, name = doc.get("kind"), doc["metadata"].get("name")
    if not isinstance(kind, str) or not isinstance(name, str):
        return None
    namespace = doc["metadata"].get("namespace")
    return kind, name, str(namespace) if namespace else None


def _strings(spec: dict[str, Any], *keys: str) -> list[str]:
    return [str(item) for key in keys for item in spec.get(key) or [] if isinstance(item, str)]


def clean_path(base: str, entry: str) -> str:
    """`entry` relative to `base`, refused when it leaves the repository."""
    joined = posixpath.normpath(posixpath.join(base, entry.strip()))
    if joined == ".":
        return ""
    if joined.startswith(("../", "/")) or joined == "..":
        raise EditError(f"{entry}: path leaves the repository")
    return joined
