"""scripts/debsbom.py: the image's Debian packages as CycloneDX components.

Over a sample dpkg status file (data/dpkg-status: installed packages, one
with a versioned Source, an epoch, a removed package that left its
configuration, a half-installed one); the merged SBOM must be valid CycloneDX
1.6 (cyclonedx-python-lib's strict JSON schema). The slow image test
(test_image.py) checks the real image's SBOM holds its Debian packages.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

from cyclonedx.schema import SchemaVersion
from cyclonedx.validation.json import JsonStrictValidator

from .chart import REPO

SCRIPT = REPO / "scripts" / "debsbom.py"
STATUS = Path(__file__).parent / "data" / "dpkg-status"
OS_RELEASE = 'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nID=debian\nVERSION_ID="12"\n'


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("debsbom", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["debsbom"] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


debsbom = _load()


def python_sbom() -> dict[str, Any]:
    """What cyclonedx-py writes, in brief: the project and its Python packages."""
    return {
        "$schema": "http://cyclonedx.org/schema/bom-1.6.schema.json",
        "bomFormat": "CycloneDX", "specVersion": "1.6", "version": 1,
        "metadata": {"component": {"type": "application", "bom-ref": "root",
                                   "name": "remediator", "version": "0.1.0"}},
        "components": [{"type": "library", "bom-ref": "fastapi==0.115.0", "name": "fastapi",
                        "version": "0.115.0", "purl": "pkg:pypi/fastapi@0.115.0"}],
        "dependencies": [{"ref": "fastapi==0.115.0"}, {"ref": "root",
                                                       "dependsOn": ["fastapi==0.115.0"]}],
    }


def rootfs(tmp_path: Path) -> Path:
    (tmp_path / "var/lib/dpkg").mkdir(parents=True)
    (tmp_path / "etc").mkdir()
    (tmp_path / "var/lib/dpkg/status").write_text(STATUS.read_text())
    (tmp_path / "etc/os-release").write_text(OS_RELEASE)
    return tmp_path


def test_only_installed_packages_are_read_with_their_source() -> None:
    packages = debsbom.installed(STATUS.read_text())
    assert [(p.name, p.version, p.architecture, p.source) for p in packages] == [
        ("base-files", "12.4+deb12u5", "amd64", None),
        ("libpython3.11-minimal", "3.11.2-6+deb12u1", "amd64", "python3.11"),
        ("libssl3", "3.0.11-1~deb12u2", "amd64", "openssl"),
        ("passwd", "1:4.13+dfsg1-1+b1", "amd64", "shadow"),
        ("tzdata", "2024a-0+deb12u1", "all", None),
    ]


def test_each_package_gets_a_debian_purl() -> None:
    by_name = {p.name: p for p in debsbom.installed(STATUS.read_text())}
    assert by_name["tzdata"].purl() == "pkg:deb/debian/tzdata@2024a-0%2Bdeb12u1?arch=all"
    assert by_name["libssl3"].purl("debian-12") == (
        "pkg:deb/debian/libssl3@3.0.11-1~deb12u2?arch=amd64&distro=debian-12&upstream=openssl")
    assert by_name["passwd"].purl().startswith("pkg:deb/debian/passwd@1:4.13%2Bdfsg1-1%2Bb1?")


def test_continuation_lines_belong_to_their_field() -> None:
    [fields] = list(debsbom.paragraphs("Package: a\nDescription: one\n two\n .\n three\n"))
    assert fields == {"Package": "a", "Description": "one\ntwo\n.\nthree"}


def test_the_script_adds_the_os_and_packages_to_a_valid_sbom(tmp_path: Path) -> None:
    sbom_path = tmp_path / "remediator.cdx.json"
    sbom_path.write_text(json.dumps(python_sbom()))
    root = rootfs(tmp_path / "root")

    for _ in range(2):  # a second run changes nothing
        result = subprocess.run([sys.executable, str(SCRIPT), str(root), str(sbom_path)],
                                capture_output=True, text=True, check=False)
        assert result.returncode == 0, result.stderr
    sbom = json.loads(sbom_path.read_text())

    assert JsonStrictValidator(SchemaVersion.V1_6).validate_str(json.dumps(sbom)) is None
    components = {c["name"]: c for c in sbom["components"]}
    assert set(components) == {"fastapi", "debian", "base-files", "libpython3.11-minimal",
                               "libssl3", "passwd", "tzdata"}
    assert components["debian"]["type"] == "operating-system"
    assert components["debian"]["version"] == "12"
    assert components["libssl3"]["purl"] == components["libssl3"]["bom-ref"] == (
        "pkg:deb/debian/libssl3@3.0.11-1~deb12u2?arch=amd64&distro=debian-12&upstream=openssl")
    assert components["libssl3"]["version"] == "3.0.11-1~deb12u2"
    refs = [d["ref"] for d in sbom["dependencies"]]
    assert len(refs) == len(set(refs)) == len(sbom["components"]) + 1  # + the project
    assert "5 Debian packages" in result.stderr


def test_os_release_is_read_inside_the_root_only(tmp_path: Path) -> None:
    root = tmp_path / "root"
    (root / "var/lib/dpkg").mkdir(parents=True)
    (root / "etc").mkdir()
    (root / "var/lib/dpkg/status").write_text(STATUS.read_text())
    outside = tmp_path / "host-os-release"
    outside.write_text("ID=host\nVERSION_ID=1\n")
    (root / "etc/os-release").symlink_to(outside)
    assert debsbom.read_root(root)[1] == {}
    (root / "usr/lib").mkdir(parents=True)
    (root / "usr/lib/os-release").write_text(OS_RELEASE)
    assert debsbom.read_root(root)[1]["VERSION_ID"] == "12"


def test_scripts_image_adds_the_debian_packages_to_the_sbom() -> None:
    script = (REPO / "scripts" / "image").read_text()
    assert 'scripts/debsbom.py "$mountpoint" "dist/remediator-$version.cdx.json"' in script


def test_this_hosts_dpkg_status_parses(tmp_path: Path) -> None:
    """A real status file (the test machine's Debian), when there is one."""
    status = Path("/var/lib/dpkg/status")
    if not status.is_file():
        return
    packages = debsbom.installed(status.read_text(encoding="utf-8"))
    assert packages and all(p.name and p.version and p.architecture for p in packages)
