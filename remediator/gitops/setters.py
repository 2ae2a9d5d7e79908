"""Where a field of an object is finally set, and the edits that change it there.

The documents defining an object come in the order kustomize applies them
(`manifests.Tree.definitions`); the last one that sets a field decides its
value in the cluster, so that is the one to edit. Besides resource documents
and strategic-merge patches, a field can be set by a JSON 6902 patch
operation (`add`/`replace` at its path), a kustomization's `replicas:` entry
(`count`) or its `images:` entry (`newTag`/`newName`/`digest`, matched by the
image's name), and an edit there is the only one that sticks.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from remediator.gitops.manifests import Definition, Tree
from remediator.gitops.yamledit import EditError, Segment, locate

CONTAINERS: tuple[str, ...] = ("spec", "template", "spec", "containers")


@dataclass(frozen=True)
class Edit:
    """Set `path` of document `index` of `file` to `value`."""

    file: str
    index: int
    path: tuple[Segment, ...]
    value: int | str


def field_edits(tree: Tree, found: Sequence[Definition], path: Sequence[Segment],
                value: int | str) -> list[Edit]:
    """The edits that make the object's field at `path` read `value`."""
    if _is_image(path):
        return _image_edits(tree, found, path, str(value))
    setter: Edit | None = None
    for d in found:
        where = _where(tree, found, d, path)
        if where is not None:
            setter = Edit(d.file, d.index, where, value)
    if setter is not None:
        return [setter]
    first = next(d for d in found if d.role == "resource")
    return [Edit(first.file, first.index, tuple(path), value)]


def _where(tree: Tree, found: Sequence[Definition], d: Definition,
           path: Sequence[Segment]) -> tuple[Segment, ...] | None:
    """The path in `d`'s document that sets the field, or None when it does not."""
    doc = tree.docs(d.file)[d.index]
    if d.role in ("resource", "patch"):
        candidate: tuple[Segment, ...] = tuple(path)
    elif d.role == "replicas" and tuple(path) == ("spec", "replicas"):
        candidate = ("replicas", ("name", d.local_name), "count")
    elif d.role == "json6902":
        candidate = _json6902_path(tree, found, doc, path)
    else:
        return None
    located = locate(doc, candidate) if candidate else None
    return candidate if located is not None and located.present else None


def _json6902_path(tree: Tree, found: Sequence[Definition], doc: Any,
                   path: Sequence[Segment]) -> tuple[Segment, ...]:
    pointer = _pointer(tree, found, path)
    if pointer is None or not isinstance(doc, list):
        return ()
    for op in doc:
        if isinstance(op, dict) and op.get("path") == pointer and op.get("op") in ("add",
                                                                                  "replace"):
            return (("path", pointer), "value")
    return ()


def _pointer(tree: Tree, found: Sequence[Definition], path: Sequence[Segment]) -> str | None:
    """The JSON pointer of `path`, with a container's name turned into its index."""
    parts: list[str] = []
    for segment in path:
        if isinstance(segment, str):
            parts.append(segment.replace("~", "~0").replace("/", "~1"))
            continue
        index = _container_index(tree, found, segment[1])
        if index is None:
            return None
        parts.append(str(index))
    return "/" + "/".join(parts)


def _container_index(tree: Tree, found: Sequence[Definition], name: str) -> int | None:
    for resource in (d for d in found if d.role == "resource"):
        containers = _get(tree.docs(resource.file)[resource.index], CONTAINERS)
        if isinstance(containers, list):
            names = [c.get("name") if isinstance(c, dict) else None for c in containers]
            if name in names:
                return names.index(name)
    return None


def _get(doc: Any, path: Sequence[str]) -> Any:
    for key in path:
        doc = doc.get(key) if isinstance(doc, dict) else None
    return doc


def _is_image(path: Sequence[Segment]) -> bool:
    return len(path) == 6 and tuple(path[:4]) == CONTAINERS and path[5] == "image"


def split_image(image: str) -> tuple[str, str | None, str | None]:
    """(name, tag, digest) of an image reference."""
    name, _, digest = image.partition("@")
    slash = name.rfind("/")
    colon = name.rfind(":")
    if colon > slash:
        return name[:colon], name[colon + 1:], digest or None
    return name, None, digest or None


def _image_edits(tree: Tree, found: Sequence[Definition], path: Sequence[Segment],
                 image: str) -> list[Edit]:
    current: str | None = None
    setter: Edit | None = None
    for d in found:
        if d.role == "images" and current is not None:
            entry = _images_entry(tree, d)
            if entry is not None and entry.get("name") == split_image(current)[0]:
                current, setter = _apply_entry(entry, current), Edit(d.file, 0, (), d.local_name)
            continue
        where = _where(tree, found, d, path)
        if where is not None:
            current = str(_value(tree.docs(d.file)[d.index], where))
            setter = Edit(d.file, d.index, where, image)
    if setter is None:
        raise EditError(f"no container {path[4]!r} with an image in "
                        f"{', '.join(sorted({d.file for d in found}))}")
    if setter.path:
        return [setter]
    return _entry_edits(tree, setter, image)


def _value(doc: Any, path: Sequence[Segment]) -> Any:
    located = locate(doc, path)
    return located.parent[located.key] if located is not None else None


def _images_entry(tree: Tree, d: Definition) -> dict[str, Any] | None:
    for entry in tree.docs(d.file)[0].get("images") or []:
        if isinstance(entry, dict) and entry.get("name") == d.local_name:
            return entry
    return None


def _apply_entry(entry: dict[str, Any], image: str) -> str:
    name, tag, digest = split_image(image)
    name = str(entry.get("newName") or name)
    if entry.get("digest"):
        return f"{name}@{entry['digest']}"
    if entry.get("newTag"):
        return f"{name}:{entry['newTag']}"
    if digest:
        return f"{name}@{digest}"
    return f"{name}:{tag}" if tag else name


def _entry_edits(tree: Tree, setter: Edit, image: str) -> list[Edit]:
    """Edits of an `images:` entry (setter.value is its name) so it yields `image`."""
    entry_name = str(setter.value)
    entry = next(e for e in tree.docs(setter.file)[0]["images"]
                 if isinstance(e, dict) and e.get("name") == entry_name)
    name, tag, digest = split_image(image)
    at: tuple[Segment, ...] = ("images", ("name", entry_name))
    edits = []
    if name != str(entry.get("newName") or entry_name):
        edits.append(Edit(setter.file, 0, (*at, "newName"), name))
    if digest is not None:
        edits.append(Edit(setter.file, 0, (*at, "digest"), digest))
    elif entry.get("digest"):
        raise EditError(f"{setter.file}: image {entry_name} is pinned by digest; "
                        "propose a digest, not a tag")
    if tag is not None and digest is None:
        edits.append(Edit(setter.file, 0, (*at, "newTag"), tag))
    return edits
