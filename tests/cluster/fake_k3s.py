"""A fleet of stand-in K3s nodes on this machine, for running the cluster plays for real.

Each node has its own binary directory with `k3s` linked to a staged
`k3s-<version>` (as k3s_prereq leaves it). The `k3s` and `systemctl` first in
the PATH of the run are scripts that record what they were asked; `k3s kubectl
get node N` answers from the version N's link points at: Ready unless that
(node, version) pair is listed as broken. So a bad upgrade stays NotReady
until the play puts the previous binary back, and nothing is faked inside
Ansible itself.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

ASSETS = {"k3s": "sha256sum-amd64.txt", "k3s-arm64": "sha256sum-arm64.txt",
          "k3s-armhf": "sha256sum-arm.txt"}

_K3S = r"""#!/bin/sh
# Stand-in for `k3s kubectl` answering for the fleet in $FAKE_K3S_DIR.
dir="${FAKE_K3S_DIR:?}"
shift  # kubectl
echo "kubectl $*" >> "$dir/calls.log"
version_of() { basename "$(readlink "$dir/nodes/$1/bin/k3s" 2>/dev/null)" | sed 's/^k3s-//'; }
case "$1" in
  drain|cordon)
    [ -e "$dir/nodes/$2/drain-blocked" ] && { echo "error: cannot evict pod as it would violate the pod's disruption budget" >&2; exit 1; }
    [ -d "$dir/nodes/$2" ] || { echo "Error from server (NotFound): nodes \"$2\" not found" >&2; exit 1; }
    echo "node/$2 drained" ;;
  uncordon) echo "node/$2 uncordoned" ;;
  delete) [ -d "$dir/nodes/$3" ] && touch "$dir/nodes/$3/deleted"; echo "node \"$3\" deleted" ;;
  get)
    if [ "$2" = "--raw" ]; then echo ok; exit 0; fi
    node="$3"; version=$(version_of "$node")
    case "$4" in
      *kubeletVersion*) printf '%s' "$version" ;;
      *allocatable*) cat "$dir/nodes/$node/gpus" 2>/dev/null ;;
      *Ready*) if grep -qx "$node $version" "$dir/broken" 2>/dev/null; then printf False; else printf True; fi ;;
    esac ;;
  apply) cat > "$dir/applied.yaml"; echo "pod created" ;;
  wait) node=$(echo "$3" | sed 's|^pod/gpu-check-||')
    [ -e "$dir/nodes/$node/gpus" ] && [ ! -e "$dir/nodes/$node/pod-fails" ] && exit 0
    echo "error: timed out waiting for the condition on pods/gpu-check-$node" >&2; exit 1 ;;
  logs) node=$(echo "$3" | sed 's|^gpu-check-||')
    [ -e "$dir/nodes/$node/pod-fails" ] || echo "GPU 0: NVIDIA Fake (UUID: GPU-$node)" ;;
  *) echo "unexpected: $*" >&2; exit 2 ;;
esac
"""

_SYSTEMCTL = r"""#!/bin/sh
# Stand-in for systemctl: records restarts; every unit is loaded and active.
dir="${FAKE_K3S_DIR:?}"
case "$1" in
  show) printf 'Id=%s.service\nLoadState=loaded\nActiveState=active\nSubState=running\n' "$2" ;;
  *) echo "systemctl $*" >> "$dir/calls.log" ;;
esac
exit 0
"""


_UNINSTALL = r"""#!/bin/sh
# Stand-in for the uninstall script K3s's installer leaves: removes the binaries.
echo "uninstall {node} $(basename "$0")" >> "${{FAKE_K3S_DIR:?}}/calls.log"
rm -f "$(dirname "$0")"/k3s*
"""


def _script(path: Path, text: str) -> None:
    path.write_text(text)
    path.chmod(0o755)


@dataclass
class Fleet:
    """The fake fleet's files and what its stand-ins recorded."""

    root: Path

    @property
    def mirror(self) -> str:
        return f"file://{self.root / 'mirror'}"

    def bin_dir(self, node: str) -> Path:
        return self.root / "nodes" / node / "bin"

    def add_node(self, node: str, version: str) -> None:
        bin_dir = self.bin_dir(node)
        bin_dir.mkdir(parents=True)
        _script(bin_dir / f"k3s-{version}", f"#!/bin/sh\necho 'k3s version {version}'\n")
        (bin_dir / "k3s").symlink_to(f"k3s-{version}")
        for script in ("k3s-uninstall.sh", "k3s-agent-uninstall.sh"):
            _script(bin_dir / script, _UNINSTALL.format(node=node))

    def publish(self, version: str) -> None:
        """Put the release assets of `version` and their checksum files on the mirror."""
        release = self.root / "mirror" / version
        release.mkdir(parents=True)
        for asset, checksums in ASSETS.items():
            content = f"#!/bin/sh\necho 'k3s version {version}'\n".encode()
            (release / asset).write_bytes(content)
            digest = hashlib.sha256(content).hexdigest()
            (release / checksums).write_text(f"{digest}  {asset}\n")
        (self.root / "mirror" / "install.sh").write_text("#!/bin/sh\n")

    def break_version(self, node: str, version: str) -> None:
        with (self.root / "broken").open("a") as handle:
            handle.write(f"{node} {version}\n")

    def add_gpu(self, node: str, *, advertised: bool = True) -> Path:
        """nvidia-smi on `node` sees a GPU; the node advertises it unless told otherwise."""
        smi = self.root / "nodes" / node / "nvidia-smi"
        _script(smi, "#!/bin/sh\necho 'GPU 0: NVIDIA Fake (UUID: GPU-0)'\n")
        if advertised:
            (self.root / "nodes" / node / "gpus").write_text("1")
        return smi

    def deleted(self, node: str) -> bool:
        return (self.root / "nodes" / node / "deleted").exists()

    def installed(self, node: str) -> bool:
        return (self.bin_dir(node) / "k3s").is_symlink()

    def running(self, node: str) -> str:
        return os.readlink(self.bin_dir(node) / "k3s").removeprefix("k3s-")

    @property
    def calls(self) -> list[str]:
        log = self.root / "calls.log"
        return log.read_text().splitlines() if log.exists() else []

    def env(self) -> dict[str, str]:
        path = os.pathsep.join([str(self.root / "bin"), os.environ.get("PATH", os.defpath)])
        return {"PATH": path, "FAKE_K3S_DIR": str(self.root)}


def make_fleet(root: Path) -> Fleet:
    (root / "bin").mkdir(parents=True)
    _script(root / "bin" / "k3s", _K3S)
    _script(root / "bin" / "systemctl", _SYSTEMCTL)
    return Fleet(root=root)
