"""Add the Debian packages of an image's root filesystem to a CycloneDX SBOM.

cyclonedx-py (scripts/image) lists the Python environment only; the image
also carries the Debian packages mmdebstrap installed (python3, libssl3,
tzdata...), and those are what most security advisories name. dpkg's status
file in the root filesystem says which are installed, at which version and
architecture; each becomes a component with the purl scanners match on,
`pkg:deb/debian/NAME@VERSION?arch=ARCH` (plus `distro=debian-<VERSION_ID>`
from os-release, and `upstream=SOURCE` when the source package has another
name, as syft writes them). The operating system itself is one more
component. Output is sorted, so a rebuild of the same image gives the same file.

Usage: python scripts/debsbom.py ROOTFS SBOM.json   (rewrites SBOM.json in place)

packageurl-python comes with cyclonedx-bom, which scripts/image needs anyway.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from packageurl import PackageURL

STATUS = Path("var/lib/dpkg/status")
# usr/lib/ holds the file; etc/os-release is usually a link to it, and an absolute
# link would lead out of the root filesystem to the build host's.
OS_RELEASE = (Path("usr/lib/os-release"), Path("etc/os-release"))


@dataclass(frozen=True)
class DebPackage:
    name: str
    version: str
    architecture: str
    source: str | None = None
    """The source package's name when it differs from the binary package's."""

    def purl(self, distro: str | None = None) -> str:
        qualifiers = {"arch": self.architecture}
        if distro:
            qualifiers["distro"] = distro
        if self.source:
            qualifiers["upstream"] = self.source
        return str(PackageURL(type="deb", namespace="debian", name=self.name,
                              version=self.version, qualifiers=qualifiers).to_string())


def paragraphs(text: str) -> Iterator[dict[str, str]]:
    """dpkg's control paragraphs: `Field: value`, continuation lines start with a space."""
    fields: dict[str, str] = {}
    field = ""
    for line in [*text.splitlines(), ""]:
        if not line.strip():
            if fields:
                yield fields
            fields, field = {}, ""
        elif line[0] in " \t":
            if field:
                fields[field] += "\n" + line.strip()
        else:
            field, _, value = line.partition(":")
            fields[field] = value.strip()


def installed(status_text: str) -> list[DebPackage]:
    """The installed packages of a dpkg status file, sorted by name and architecture.

    Only `install ok installed`: removed packages whose configuration files
    remain (`deinstall ok config-files`) and half-installed ones are not in
    the image in any useful sense.
    """
    found = []
    for fields in paragraphs(status_text):
        if fields.get("Status", "").split()[-1:] != ["installed"]:
            continue
        name = fields["Package"]
        # `Source: openssl` or `Source: openssl (3.0.11-1)`: the name is the first word.
        source = fields.get("Source", "").split(" ", 1)[0] or None
        found.append(DebPackage(name=name, version=fields["Version"],
                                architecture=fields.get("Architecture", "all"),
                                source=source if source != name else None))
    return sorted(found, key=lambda p: (p.name, p.architecture))


def os_release(text: str) -> dict[str, str]:
    """os-release's KEY=value lines (values may be quoted)."""
    pairs = {}
    for line in text.splitlines():
        key, sep, value = line.partition("=")
        if sep and not key.startswith("#"):
            pairs[key.strip()] = value.strip().strip("\"'")
    return pairs


def components(packages: list[DebPackage], release: dict[str, str]) -> list[dict[str, Any]]:
    """The operating system (when os-release says which) and one component per package."""
    distro_id, version_id = release.get("ID"), release.get("VERSION_ID")
    distro = f"{distro_id}-{version_id}" if distro_id and version_id else None
    found: list[dict[str, Any]] = []
    if distro_id:
        found.append({"type": "operating-system", "bom-ref": f"os:{distro or distro_id}",
                      "name": distro_id, "version": version_id or "",
                      "description": release.get("PRETTY_NAME", "")})
    for package in packages:
        purl = package.purl(distro)
        found.append({"type": "library", "bom-ref": purl, "name": package.name,
                      "version": package.version, "purl": purl})
    return found


def add_to_sbom(sbom: dict[str, Any], added: list[dict[str, Any]]) -> dict[str, Any]:
    """The SBOM with `added` among its components (replacing earlier ones with the same
    bom-ref, so running twice changes nothing) and in its dependency list."""
    refs = {c["bom-ref"] for c in added}
    kept = [c for c in sbom.get("components", []) if c.get("bom-ref") not in refs]
    result = dict(sbom)
    result["components"] = kept + added
    dependencies = [d for d in sbom.get("dependencies", []) if d.get("ref") not in refs]
    result["dependencies"] = dependencies + [{"ref": ref} for ref in sorted(refs)]
    return result


def read_root(root: Path) -> tuple[list[DebPackage], dict[str, str]]:
    """The installed packages and os-release of the root filesystem at `root`."""
    packages = installed((root / STATUS).read_text(encoding="utf-8"))
    inside = [root / p for p in OS_RELEASE
              if (root / p).is_file() and (root / p).resolve().is_relative_to(root.resolve())]
    release = os_release(inside[0].read_text(encoding="utf-8")) if inside else {}
    return packages, release


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    root, path = Path(argv[0]), Path(argv[1])
    packages, release = read_root(root)
    sbom = add_to_sbom(json.loads(path.read_text(encoding="utf-8")),
                       components(packages, release))
    path.write_text(json.dumps(sbom, indent=2) + "\n", encoding="utf-8")
    print(f"{len(packages)} Debian packages added to {path}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
