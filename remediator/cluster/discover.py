"""`remediator cluster discover`: facts of the inventory's nodes, and the labels they suggest.

The facts come from playbooks/discover.yml (Ansible's setup module, nvidia-smi,
lspci), one JSON file per node; `propose_labels` is the pure part.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# ansible_architecture -> the GOARCH names Kubernetes uses.
ARCHES = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64",
          "armv7l": "arm"}
PREFIX = "remediator.io"


@dataclass(frozen=True, kw_only=True)
class NodeFacts:
    name: str
    architecture: str
    vcpus: int
    memory_mb: int
    gpus: tuple[str, ...] = ()
    nvidia_pci_devices: int = 0

    @property
    def has_gpu(self) -> bool:
        return bool(self.gpus) or self.nvidia_pci_devices > 0


def node_facts(name: str, raw: Mapping[str, Any]) -> NodeFacts:
    def number(key: str) -> int:
        try:
            return int(raw.get(key) or 0)
        except (TypeError, ValueError):
            return 0

    gpus = raw.get("gpus") or []
    return NodeFacts(name=name, architecture=str(raw.get("architecture") or ""),
                     vcpus=number("vcpus"), memory_mb=number("memory_mb"),
                     gpus=tuple(str(gpu).strip() for gpu in gpus if str(gpu).strip()),
                     nvidia_pci_devices=number("nvidia_pci_devices"))


def read_facts(directory: Path) -> list[NodeFacts]:
    return [node_facts(path.stem, json.loads(path.read_text(encoding="utf-8")))
            for path in sorted(directory.glob("*.json"))]


def _size_class(value: int, small: int, large: int) -> str:
    return "small" if value < small else "large" if value >= large else "medium"


def propose_labels(facts: NodeFacts) -> list[str]:
    """Labels for scheduling by arch, size and GPU (valid Kubernetes labels)."""
    labels = []
    arch = ARCHES.get(facts.architecture)
    if arch:
        labels.append(f"{PREFIX}/arch={arch}")
    labels.append(f"{PREFIX}/cpu={_size_class(facts.vcpus, 4, 16)}")
    labels.append(f"{PREFIX}/memory={_size_class(facts.memory_mb, 8 * 1024, 64 * 1024)}")
    if facts.has_gpu:
        labels.append("workload=gpu")
    return labels


def gpu_summary(facts: NodeFacts) -> str:
    if facts.gpus:
        return f"{len(facts.gpus)} x {facts.gpus[0].split(',')[0]}"
    if facts.nvidia_pci_devices:
        return f"{facts.nvidia_pci_devices} NVIDIA (no driver)"
    return "no GPU"
