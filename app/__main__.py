"""python -m app: serve | gateway | demo | backtest | bench (one CLI).

Each sub-command imports its own module lazily so `python -m app bench` does not pay for
FastAPI and `python -m app serve` does not pay for matplotlib.
"""

from __future__ import annotations

import sys
from collections.abc import Callable

USAGE = """usage: python -m app {serve,gateway,demo,backtest,bench} [options]

  serve     run the service (HEDGE_* environment variables configure it; --shard K/N)
  gateway   one address in front of N shards (HEDGE_SHARDS, found through HEDGE_REDIS_URL)
  demo      the service plus a simulated market and a paper execution bot
  backtest  run hedging strategies over simulated or recorded markets
  bench     measure pricing and service speed; --json PATH writes the figures
"""


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in {"-h", "--help", "help"}:
        print(USAGE)
        return 0
    command, rest = args[0], args[1:]
    run: Callable[[list[str]], int]
    if command == "serve":
        from app.serve import main as run
    elif command == "gateway":
        from app.gateway.cli import main as run
    elif command == "demo":
        from app.demo import main as run
    elif command == "backtest":
        from app.backtest.cli import main as run
    elif command == "bench":
        from app.bench.cli import main as run
    else:
        print(f"unknown command {command!r}\n\n{USAGE}", file=sys.stderr)
        return 2
    return int(run(rest) or 0)


if __name__ == "__main__":
    raise SystemExit(main())
