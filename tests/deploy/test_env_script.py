"""scripts/_env.sh, which scripts/test and scripts/demo source: it installs the dev lock and
then the project without dependencies, and installs again whenever pyproject.toml or a lock
file changes — by content, whatever the files' times. Run against a stand-in .venv whose
`python` only records how it was called (no network, no packages)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from importlib.metadata import distributions
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
RECORDING_PYTHON = """#!/bin/sh
echo "$*" >> "$(dirname "$0")/../calls.log"
case "$1" in
  scripts/_unlocked.py) echo stale-one; echo stale-two ;;  # as if two were left over
esac
"""


def make_checkout(tmp_path: Path) -> Path:
    """A stand-in checkout: the real _env.sh, small pyproject and locks, a recording python."""
    (tmp_path / "scripts").mkdir()
    shutil.copy(ROOT / "scripts" / "_env.sh", tmp_path / "scripts" / "_env.sh")
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "x"\n')
    (tmp_path / "requirements").mkdir()
    (tmp_path / "requirements" / "dev.txt").write_text("a==1 \\\n    --hash=sha256:00\n")
    (tmp_path / "requirements" / "runtime.txt").write_text("a==1 \\\n    --hash=sha256:00\n")
    python = tmp_path / ".venv" / "bin" / "python"
    python.parent.mkdir(parents=True)
    python.write_text(RECORDING_PYTHON)
    python.chmod(0o755)
    return tmp_path


def source_env(checkout: Path) -> list[str]:
    """Source _env.sh as the scripts do; answer the python calls it made."""
    log = checkout / ".venv" / "calls.log"
    log.unlink(missing_ok=True)
    subprocess.run(["bash", "-c", "source scripts/_env.sh"], cwd=checkout, check=True,
                   timeout=30, capture_output=True)
    return log.read_text().splitlines() if log.exists() else []


def installs(calls: list[str]) -> list[str]:
    return [c for c in calls if c.startswith("-m pip install")]


def edit_keeping_its_time(path: Path, text: str) -> None:
    """Change a file's content but set its modification time back a day: only a content
    check notices."""
    before = path.stat()
    path.write_text(text)
    os.utime(path, (before.st_atime - 86_400, before.st_mtime - 86_400))


def test_a_new_venv_gets_the_dev_lock_hash_checked_then_the_project_without_deps(tmp_path):
    calls = installs(source_env(make_checkout(tmp_path)))
    assert calls == [
        "-m pip install -q --require-hashes -r requirements/dev.txt",
        "-m pip install -q --no-deps --no-build-isolation -e .",
    ]


def test_nothing_is_installed_again_while_pyproject_and_the_locks_are_unchanged(tmp_path):
    checkout = make_checkout(tmp_path)
    assert installs(source_env(checkout))
    assert installs(source_env(checkout)) == []


def test_a_changed_dev_lock_is_installed_again_even_with_an_older_file_time(tmp_path):
    checkout = make_checkout(tmp_path)
    source_env(checkout)
    edit_keeping_its_time(checkout / "requirements" / "dev.txt",
                          "a==2 \\\n    --hash=sha256:11\n")
    assert any("-r requirements/dev.txt" in c for c in installs(source_env(checkout)))


def test_a_changed_runtime_lock_or_pyproject_is_installed_again(tmp_path):
    checkout = make_checkout(tmp_path)
    source_env(checkout)
    edit_keeping_its_time(checkout / "requirements" / "runtime.txt", "b==1\n")
    assert installs(source_env(checkout))
    edit_keeping_its_time(checkout / "pyproject.toml", '[project]\nname = "y"\n')
    assert installs(source_env(checkout))


def test_packages_the_lock_no_longer_holds_are_removed_after_an_install(tmp_path):
    calls = source_env(make_checkout(tmp_path))
    assert calls[-2:] == ["scripts/_unlocked.py requirements/dev.txt",
                          "-m pip uninstall -q -y stale-one stale-two"]


def test_unlocked_names_what_is_installed_but_not_pinned_by_the_lock(tmp_path):
    installed = sorted({d.metadata["Name"] for d in distributions() if d.metadata["Name"]})
    dropped = next(n for n in installed if n.lower() not in ("pip", "dynhedge"))
    # every installed distribution pinned, spelled as a lock spells names, except one
    lock = "".join(f"{n.lower().replace('_', '-')}==1 \\\n    --hash=sha256:00\n"
                   for n in installed if n != dropped)
    (tmp_path / "lock.txt").write_text(lock)
    found = subprocess.run([sys.executable, str(ROOT / "scripts" / "_unlocked.py"),
                            str(tmp_path / "lock.txt")], check=True, capture_output=True,
                           text=True, timeout=30).stdout.split()
    assert found == [dropped]
