"""Turn a requested change into new file contents: where each field is finally set.

For `SetFields` every field is changed where it is finally set (`setters`:
an overlay patch that sets replicas wins over the base, a kustomization's
`images:` entry over every document); a field that nothing sets is added to
the first resource document. An image change names
the container: `spec.template.spec.containers[name=<container>].image`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from remediator.gitops.manifests import Definition, Tree, clean_path
from remediator.gitops.setters import CONTAINERS, field_edits
from remediator.gitops.yamledit import EditError, Segment, load_all, set_scalar

if TYPE_CHECKING:
    from remediator.gitops.proposals import HelmValue, ObjectRef, SetFields

def field_path(key: str, container: str | None) -> list[Segment]:
    """The path of a `SetFields` key: dotted, or `image` of the named container."""
    if container is not None and key == "image":
        path: list[Segment] = [*CONTAINERS, ("name", container), "image"]
        return path
    parts = key.split(".")
    if not all(parts):
        raise EditError(f"field {key!r} is not a dotted path")
    return list(parts)


def definitions(tree: Tree, root: str, target: ObjectRef) -> list[Definition]:
    """The documents defining `target`; EditError naming the object when there is none."""
    found = tree.definitions(root, target.kind, target.name, target.namespace)
    if not any(d.role == "resource" for d in found):
        raise EditError(f"no manifest defines {target.kind} {target.namespace}/{target.name} "
                        f"under {root or '.'}")
    return found


def set_fields(tree: Tree, root: str, target: ObjectRef, change: SetFields) -> dict[str, str]:
    """New texts of the files to change so the object's fields read `change.values`."""
    found = definitions(tree, root, target)
    texts: dict[str, str] = {}
    for key, value in change.values.items():
        for edit in field_edits(tree, found, field_path(key, change.container), value):
            text = texts.get(edit.file) or tree.files.read(edit.file) or ""
            texts[edit.file] = set_scalar(text, edit.index, edit.path, edit.value, edit.file)
    return texts


def helm_value(tree: Tree, root: str, change: HelmValue) -> dict[str, str]:
    """The values file with `change.key` (dotted) set to `change.value`."""
    path = clean_path(root.strip("/"), change.file)
    text = tree.files.read(path)
    if text is None:
        raise EditError(f"{path}: no such values file")
    if not load_all(text, path):
        raise EditError(f"{path}: empty values file")
    return {path: set_scalar(text, 0, field_path(change.key, None), change.value, path)}


def changed(before: Mapping[str, str | None], after: Mapping[str, str]) -> dict[str, str]:
    """Only the files whose text differs."""
    return {path: text for path, text in after.items() if before.get(path) != text}
