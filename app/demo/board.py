"""The demo's terminal: a risk board per underlying (from `GET /v1/risk`) and the last
signals with what the paper bot did with them — as a rich table, or as plain log lines.

Units as the service reports them (CONTRACT §1): delta in shares, gamma in shares per $1,
vega in $ per vol point, theta in $ per calendar day, hedge position and pending in units of
the hedge instrument."""

from __future__ import annotations

from collections import deque
from typing import Any

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from app.demo.paper_bot import Execution


def _num(x: float | None, digits: int = 0, dollars: bool = False) -> str:
    if x is None:
        return "—"
    text = f"{abs(x):,.{digits}f}"
    sign = "-" if x < 0 and text.strip("0.,") else ""
    return f"{sign}${text}" if dollars else f"{sign}{text}"


def _signed(x: float | None, digits: int = 0) -> str:
    if x is None:
        return "—"
    text = f"{x:+,.{digits}f}"
    return "0" if not text.strip("+-0.,") else text


class Board:
    """Keeps the last `recent` executions (feed it `record` as the bot's `on_execution`) and
    draws the board from a `GET /v1/risk` answer."""

    def __init__(self, title: str, recent: int = 8) -> None:
        self.title = title
        self.executions: deque[Execution] = deque(maxlen=recent)

    def record(self, execution: Execution) -> None:
        self.executions.appendleft(execution)

    def render(self, risk: dict[str, Any] | None, status: str,
               pnl: dict[str, Any] | None = None) -> RenderableType:
        header = Text.assemble((self.title, "bold"), "  ", (status, "cyan"))
        parts: list[RenderableType] = [header, self._risk_table(risk)]
        if pnl is not None and pnl.get("underlyings"):
            parts.append(pnl_table(pnl))
        return Group(*parts, self._signal_table(), Text("Ctrl-C stops the demo", style="dim"))

    def _risk_table(self, risk: dict[str, Any] | None) -> Table:
        table = Table(title="risk by underlying", title_justify="left",
                      caption=_book_caption(risk), caption_justify="left")
        table.add_column("")
        for name in ("spot", "delta", "gamma", "vega", "theta", "hedge", "pending"):
            table.add_column(name, justify="right")
        rows = (risk or {}).get("underlyings", {})
        for symbol, r in sorted(rows.items()):
            table.add_row(symbol, _num(r.get("spot"), 2), _signed(r.get("delta")),
                          _num(r.get("gamma"), 1), _num(r.get("vega"), 0, dollars=True),
                          _num(r.get("theta"), 0, dollars=True),
                          _signed(r.get("hedge_position")), _signed(r.get("pending")))
        return table

    def _signal_table(self) -> Table:
        table = Table(title="last signals → paper fills", title_justify="left")
        table.add_column("seq", justify="right")
        table.add_column("time")
        table.add_column("")
        table.add_column("side")
        for name in ("qty", "net Δ before", "spot", "fill"):
            table.add_column(name, justify="right")
        table.add_column("bot")
        for e in self.executions:
            s = e.signal
            style = {"filled": "green", "duplicate": "yellow"}.get(e.outcome.value, "red")
            table.add_row(str(s.get("seq", "")), str(s.get("ts", ""))[11:19],
                          str(s.get("underlying", "")), str(s.get("side", "")),
                          _num(s.get("quantity")), _signed(s.get("net_delta_before")),
                          _num(s.get("spot"), 2), _num(e.fill["price"], 2) if e.fill else "—",
                          Text(e.outcome.value, style=style))
        return table


PNL_COLUMNS = ("P&L", "options", "hedge", "fees", "Δ", "Γ", "vega", "θ", "unexpl.", "edge",
               "hedge σ ratio")


def pnl_table(pnl: dict[str, Any]) -> Table:
    """P&L per underlying since the start of the day (`GET /v1/pnl`), $: the parts, then the
    options' attribution (delta, gamma, vega, theta, unexplained), the trade edge and the
    hedge effectiveness ratio (hedged / unhedged σ per minute; lower is better)."""
    t = pnl.get("total", {})
    table = Table(title="P&L today ($) and where it came from", title_justify="left",
                  caption=f"book: P&L {_num(t.get('pnl'), 0, True)} · options "
                          f"{_num(t.get('options'), 0, True)} · hedge "
                          f"{_num(t.get('hedge'), 0, True)} · fees "
                          f"{_num(t.get('fees'), 0, True)}", caption_justify="left")
    table.add_column("")
    for name in PNL_COLUMNS:
        table.add_column(name, justify="right")
    for symbol, u in sorted(pnl["underlyings"].items()):
        a = u.get("attribution") or {}
        ratio = (u.get("effectiveness") or {}).get("ratio")
        table.add_row(symbol, _signed(u.get("pnl")), _signed(u.get("options")),
                      _signed(u.get("hedge")), _num(u.get("fees"), 0),
                      *(_signed(a.get(k)) for k in ("delta", "gamma", "vega", "theta",
                                                    "unexplained")),
                      _signed(u.get("trade_edge")), _num(ratio, 2))
    return table


def _book_caption(risk: dict[str, Any] | None) -> str:
    units = ("delta: shares · gamma: shares per $1 · vega: $ per vol point · theta: $ per day"
             " · hedge, pending: units of the hedge instrument")
    if not risk:
        return units
    t = risk.get("total", {})
    return (f"book: dollar delta {_num(t.get('dollar_delta'), 0, True)} · dollar gamma "
            f"{_num(t.get('dollar_gamma'), 0, True)} per 1 % · vega "
            f"{_num(t.get('vega'), 0, True)} · theta {_num(t.get('theta'), 0, True)}\n{units}")


def risk_line(risk: dict[str, Any] | None) -> str:
    """One plain line: per underlying spot, delta (shares) and hedge position."""
    rows = (risk or {}).get("underlyings", {})
    return " | ".join(
        f"{u} {_num(r.get('spot'), 2)} Δ {_signed(r.get('delta'))} "
        f"hedge {_signed(r.get('hedge_position'))}"
        for u, r in sorted(rows.items()))
