"""The lock files (requirements/, written by scripts/lock) against pyproject.toml, and who
installs from them: every pin hashed, every declared dependency pinned inside its range, the
image's pins the tests' pins, and the Dockerfile installing the lock hash-checked."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]
RUNTIME_LOCK = ROOT / "requirements" / "runtime.txt"
DEV_LOCK = ROOT / "requirements" / "dev.txt"
PIN = re.compile(r"^([A-Za-z0-9][\w.-]*)==(\S+)")


def pins(lock: Path) -> dict[str, tuple[str, list[str]]]:
    """{name: (version, hashes)} of a pip requirements file in uv's or pip-compile's layout:
    `name==version \\` then `--hash=sha256:…` continuation lines."""
    out: dict[str, tuple[str, list[str]]] = {}
    name = None
    for line in lock.read_text().splitlines():
        text = line.split("#", 1)[0].strip().rstrip("\\").strip()
        if not text:
            continue
        found = PIN.match(text)
        if found:
            name = canonicalize_name(found.group(1))
            assert name not in out, f"{lock.name}: {name} pinned twice"
            out[name] = (found.group(2), [])
        elif text.startswith("--hash=") and name is not None:
            out[name][1].append(text.removeprefix("--hash="))
        else:
            raise AssertionError(f"{lock.name}: not a pin or a hash: {line!r}")
    return out


def pyproject() -> dict:  # type: ignore[type-arg]
    with (ROOT / "pyproject.toml").open("rb") as f:
        return tomllib.load(f)


def declared(*, extras: bool) -> list[Requirement]:
    """What pyproject.toml asks for: [build-system] requires and the runtime dependencies,
    plus every optional extra when `extras`."""
    data = pyproject()
    items = [*data["build-system"]["requires"], *data["project"]["dependencies"]]
    if extras:
        for group in data["project"].get("optional-dependencies", {}).values():
            items.extend(group)
    return [Requirement(x) for x in items]


@pytest.mark.parametrize("lock", [RUNTIME_LOCK, DEV_LOCK], ids=lambda p: p.name)
def test_every_pin_of_a_lock_is_exact_and_carries_sha256_hashes(lock: Path):
    found = pins(lock)
    assert len(found) > 10
    for name, (version, hashes) in found.items():
        assert hashes, f"{lock.name}: {name}=={version} has no hash"
        for h in hashes:
            assert re.fullmatch(r"sha256:[0-9a-f]{64}", h), f"{lock.name}: {name}: {h}"


@pytest.mark.parametrize(("lock", "extras"), [(RUNTIME_LOCK, False), (DEV_LOCK, True)],
                         ids=["runtime", "dev"])
def test_every_dependency_pyproject_declares_is_pinned_inside_its_range(lock: Path,
                                                                         extras: bool):
    found = pins(lock)
    for req in declared(extras=extras):
        if req.marker is not None and not req.marker.evaluate({"extra": ""}):
            continue
        name = canonicalize_name(req.name)
        assert name in found, (f"{req} is declared in pyproject.toml but not in {lock.name}: "
                               "run scripts/lock and commit both lock files")
        version = found[name][0]
        assert req.specifier.contains(version, prereleases=True), (
            f"{lock.name} pins {name}=={version} outside {req}: run scripts/lock")


def test_the_image_gets_the_same_versions_the_tests_run_on():
    dev = pins(DEV_LOCK)
    for name, (version, _) in pins(RUNTIME_LOCK).items():
        assert name in dev, f"{name} is in runtime.txt but not in dev.txt"
        assert dev[name][0] == version, f"{name}: runtime {version}, dev {dev[name][0]}"


def test_the_image_installs_the_runtime_lock_hash_checked_and_the_project_without_deps():
    text = (ROOT / "Dockerfile").read_text()
    installs = re.findall(r"pip install ([^&\n]*)", text)
    assert installs, "the Dockerfile installs nothing"
    lock_install = next(i for i in installs if "-r requirements/runtime.txt" in i)
    assert "--require-hashes" in lock_install
    for other in installs:
        if other is not lock_install:
            assert "--no-deps" in other, f"pip install {other}: resolves outside the lock"
    assert re.search(r"^COPY requirements/runtime\.txt ", text, re.MULTILINE)
    assert text.index("requirements/runtime.txt") < text.index("COPY app"), (
        "the locked layer must come before the source, so a code change keeps it cached")
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert "requirements" not in ignored and "requirements/" not in ignored
