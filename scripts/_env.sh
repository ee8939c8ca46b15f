# Shared by scripts/test and scripts/demo: make .venv and install into it exactly what the
# dev lock holds (requirements/dev.txt, every package pinned and hash-checked), then the
# project itself (editable, --no-deps: its dependencies are the lock's). Sourced, not executed.
# Installs again when pyproject.toml or a lock file differs (by content) from the last install,
# and then removes from .venv what the lock no longer holds. Refresh the locks: scripts/lock.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
if [ -n "${PYTHON:-}" ]; then
  PY="$PYTHON"
elif command -v python3.11 >/dev/null 2>&1; then
  PY=python3.11  # the locks are resolved for CPython 3.11
else
  PY=python3
fi
if [ ! -x .venv/bin/python ]; then
  echo "==> creating .venv"
  "$PY" -m venv .venv
fi
STAMP=.venv/.dynhedge-installed
WANT="$(cat pyproject.toml requirements/dev.txt requirements/runtime.txt | sha256sum | cut -d' ' -f1)"
if [ "$(cat "$STAMP" 2>/dev/null || true)" != "$WANT" ]; then
  echo "==> installing requirements/dev.txt (hash-checked) and dynhedge into .venv"
  rm -f "$STAMP"
  .venv/bin/python -m pip install -q --require-hashes -r requirements/dev.txt
  .venv/bin/python -m pip install -q --no-deps --no-build-isolation -e .
  STALE="$(.venv/bin/python scripts/_unlocked.py requirements/dev.txt)"
  if [ -n "$STALE" ]; then
    # shellcheck disable=SC2086  # one name per line: split into words
    echo "==> removing what the lock no longer holds:" $STALE
    # shellcheck disable=SC2086
    .venv/bin/python -m pip uninstall -q -y $STALE
  fi
  echo "$WANT" > "$STAMP"
fi
export PATH="$ROOT/.venv/bin:$PATH"
