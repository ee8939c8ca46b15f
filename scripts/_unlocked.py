"""Print the distributions installed in this interpreter's environment that the lock file
given as argument does not pin (one per line; pip and the project itself excepted).
scripts/_env.sh uninstalls them after an install, so that .venv holds what the lock holds and
no test passes on a package that a fresh clone would not have."""

from __future__ import annotations

import re
import sys
from importlib.metadata import distributions
from pathlib import Path

ALWAYS_KEPT = {"pip", "dynhedge"}


def norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def unlocked(lock_text: str) -> list[str]:
    locked = {norm(m) for m in re.findall(r"^([A-Za-z0-9][\w.-]*)==", lock_text, re.MULTILINE)}
    names = {d.metadata["Name"] for d in distributions() if d.metadata["Name"]}
    return sorted(n for n in names if norm(n) not in locked | ALWAYS_KEPT)


if __name__ == "__main__":
    print("\n".join(unlocked(Path(sys.argv[1]).read_text(encoding="utf-8"))))
