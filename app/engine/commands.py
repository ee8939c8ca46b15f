"""Journaled commands: one function applies each kind of event to the core, whether it comes
live from the API or from the journal at start-up — so a restart rebuilds exactly what ran.

Bodies are plain JSON (already validated at the edge): the same bytes go to the journal."""

from __future__ import annotations

from typing import Any

from app.domain import Fill, HedgeRequest, instrument_from_fields
from app.engine.core import Core, FillOutcome, LoadOutcome
from app.hedging import HedgePolicy, PendingOrder

INSTRUMENT_FIELDS = ("type", "underlying", "strike", "expiry", "multiplier", "style")


def instrument_fields(body: dict[str, Any]) -> dict[str, Any]:
    return {k: body[k] for k in INSTRUMENT_FIELDS if body.get(k) is not None}


def hedge_request(body: dict[str, Any]) -> HedgeRequest | None:
    hedge = body.get("hedge")
    if not hedge:
        return None
    return HedgeRequest(
        instrument=hedge.get("instrument"),
        multiplier=hedge.get("multiplier"),
        ratio=hedge.get("ratio", 1.0),
        lot_size=hedge.get("lot_size", 1.0),
    )


def apply_underlying(core: Core, body: dict[str, Any]) -> None:
    core.set_underlying(
        body["symbol"],
        rate=body["rate"],
        div_yield=body["div_yield"],
        vol=body["vol"],
        spot=body.get("spot"),
        hedge=hedge_request(body),
        max_jump_pct=body.get("max_jump_pct", 10.0),
        confirm_ticks=body.get("confirm_ticks", 3),
        declared_type=body.get("type"),
        as_of=body.get("wall"),
    )


def positions_of(body: dict[str, Any]) -> list[tuple[Any, float]]:
    return [
        (instrument_from_fields(p["symbol"], instrument_fields(p)), float(p["quantity"]))
        for p in body["positions"]
    ]


def apply_positions(core: Core, body: dict[str, Any]) -> LoadOutcome:
    return core.load_positions(positions_of(body))


def apply_fill(core: Core, body: dict[str, Any]) -> FillOutcome:
    fill = fill_of(body)
    inst = core.resolve_instrument(fill.symbol, instrument_fields(body))
    return core.apply_fill(fill, inst)


def check_fill(core: Core, body: dict[str, Any]) -> None:
    """What would refuse this fill, before it is journaled."""
    core.check_fill(fill_of(body), instrument_fields(body))


def apply_bust(core: Core, body: dict[str, Any]) -> FillOutcome:
    original = body["fill"]
    fill = fill_of(original)
    inst = core.resolve_instrument(fill.symbol, instrument_fields(original))
    return core.bust_fill(fill, inst)


def fill_of(body: dict[str, Any]) -> Fill:
    return Fill(
        exec_id=body["exec_id"],
        symbol=body["symbol"],
        side=body["side"],
        quantity=float(body["quantity"]),
        price=float(body["price"]),
        ts=float(body["ts"]),
        signal_id=body.get("signal_id"),
    )


def apply_signal(core: Core, body: dict[str, Any]) -> None:
    """A signal that was sent: its pending order comes back (its TTL runs on wall time)."""
    core.hedger.remember(PendingOrder(
        signal_id=body["id"],
        underlying=body["underlying"],
        instrument=body["instrument"],
        remaining=float(body["order_qty"]),
        expires_at=float(body["expires_at"]),
        clipped=bool(body.get("clipped", False)),
        shares=dict(body.get("shares") or {}),
        counts=bool(body.get("counts", True)),
    ))
    core.hedger.next_seq = max(core.hedger.next_seq, int(body["seq"]) + 1)


def apply_event(core: Core, kind: str, body: dict[str, Any]) -> Any:
    if kind == "underlying":
        return apply_underlying(core, body)
    if kind == "positions":
        return apply_positions(core, body)
    if kind == "fill":
        return apply_fill(core, body)
    if kind == "policy":
        return core.set_policy(body["underlying"], HedgePolicy.from_mapping(body["policy"]))
    if kind == "halt":
        return core.halt(body.get("underlying"))
    if kind == "resume":
        return core.resume(body.get("underlying"))
    if kind == "cancel":
        return core.cancel(body["signal_id"])
    if kind == "signal":
        return apply_signal(core, body)
    if kind == "bust":
        return apply_bust(core, body)
    if kind == "reconcile":
        return core.reconcile({p["symbol"]: float(p["quantity"]) for p in body["positions"]})
    if kind == "reconcile_accept":
        return core.accept_reconcile(body.get("symbols"), bool(body.get("adopt")))
    raise ValueError(f"unknown journal event kind {kind!r}")
