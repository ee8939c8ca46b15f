"""The journal's JSON of each command: `encode(cmd) -> (kind, body)`, `decode(kind, body)`.

Bodies keep the field names the journal has always used, so an older journal still replays:
a fill or a positions item written before instruments were recorded whole (no `instrument`
key) decodes to a `NewFill` / an item rebuilt from its fields — the core resolves those at
replay as it did live. New records carry each instrument whole."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from app.book.vols import SurfaceConfig
from app.domain import (
    ConvertibleSpec,
    Fill,
    HedgeRequest,
    Instrument,
    InstrumentType,
    instrument_from_fields,
    parse_occ,
)
from app.domain.convertible import CONVERTIBLE_FIELDS
from app.engine.commands import (
    AcceptReconcile,
    BustFill,
    CancelSignal,
    Command,
    Halt,
    LimitAlert,
    LimitSpec,
    LoadPositions,
    NewFill,
    PositionItem,
    Reconcile,
    RecordFill,
    Resume,
    RollDay,
    SetLimits,
    SetMarks,
    SetPolicy,
    SetSurface,
    SetUnderlying,
    SignalSent,
    SurfaceFitted,
)
from app.hedging import HedgePolicy
from app.surface import Slice, SsviParams, Surface, SviParams

_SVI = ("a", "b", "rho", "m", "sigma")

INSTRUMENT_FIELDS = ("type", "underlying", "strike", "expiry", "multiplier", "style",
                     *CONVERTIBLE_FIELDS)


@dataclass(frozen=True, slots=True)
class Unresolved:
    """A fill (or the bust of one) journaled before instruments were recorded whole: the core
    resolves it against the book it has rebuilt so far, as it did live."""

    fill: NewFill
    bust: bool = False


def resolved(cmd: Command | Unresolved, core: Any) -> Command:
    """A journaled command as the core takes it: an `Unresolved` fill resolved against the
    book `core` (app.engine.core.Core) has rebuilt so far; any other command as it is."""
    if not isinstance(cmd, Unresolved):
        return cmd
    record = core.resolve_fill(cmd.fill)
    return BustFill(record) if cmd.bust else record


def instrument_record(i: Instrument) -> dict[str, Any]:
    """An instrument whole (the journal's and the snapshot's record); a convertible's terms
    under `convertible` (records written before convertibles have none)."""
    out: dict[str, Any] = {"symbol": i.symbol, "type": i.type.value, "underlying": i.underlying,
           "strike": i.strike, "expiry": i.expiry, "multiplier": i.multiplier,
           "style": i.style}
    if i.convertible is not None:
        out["convertible"] = i.convertible.record()
    return out


def instrument_of_record(d: dict[str, Any]) -> Instrument:
    terms = d.get("convertible")
    return Instrument(d["symbol"], InstrumentType(d["type"]), d["underlying"], d["strike"],
                      d["expiry"], d["multiplier"], d["style"],
                      None if terms is None else ConvertibleSpec.of_record(terms))


def surface_record(s: Surface) -> dict[str, Any]:
    """A surface whole (the journal's and the snapshot's record): its model, the spot at its
    fit, each slice's t, forward, label and raw SVI params, and the SSVI numbers if any."""
    out: dict[str, Any] = {"model": s.model, "spot": s.spot, "expiries": [
        {"expiry": x.expiry, "t": x.t, "forward": x.forward,
         **dict(zip(_SVI, (float(v) for v in x.params.as_array()), strict=True))}
        for x in s.slices]}
    if s.ssvi is not None:
        out["ssvi"] = {"rho": s.ssvi.rho, "eta": s.ssvi.eta, "gamma": s.ssvi.gamma}
    return out


def surface_of_record(d: dict[str, Any]) -> Surface:
    ssvi = d.get("ssvi")
    return Surface(
        tuple(Slice(float(x["t"]), float(x["forward"]),
                    SviParams(*(float(x[n]) for n in _SVI)), x.get("expiry"))
              for x in d["expiries"]),
        model=d.get("model", "svi"),
        ssvi=None if ssvi is None else SsviParams(ssvi["rho"], ssvi["eta"], ssvi["gamma"]),
        spot=d.get("spot"))


def surface_config_of(d: dict[str, Any] | None) -> SurfaceConfig | None:
    """The settings a record holds (fields unknown to this version ignored)."""
    if d is None:
        return None
    known = {f.name for f in dataclasses.fields(SurfaceConfig)}
    return SurfaceConfig(**{k: v for k, v in d.items() if k in known})


def _fill_record(r: RecordFill) -> dict[str, Any]:
    f = r.fill
    body: dict[str, Any] = {"exec_id": f.exec_id, "symbol": f.symbol, "side": f.side,
                            "quantity": f.quantity, "price": f.price, "ts": f.ts,
                            "instrument": instrument_record(r.instrument)}
    if f.signal_id is not None:
        body["signal_id"] = f.signal_id
    if f.fee:
        body["fee"] = f.fee
    if r.reference is not None:
        body["reference"] = r.reference
    return body


def fill_of_record(body: dict[str, Any]) -> Fill:
    return Fill(exec_id=body["exec_id"], symbol=body["symbol"], side=body["side"],
                quantity=float(body["quantity"]), price=float(body["price"]),
                ts=float(body["ts"]), signal_id=body.get("signal_id"),
                fee=float(body.get("fee", 0.0)))


def _fill_command(body: dict[str, Any]) -> RecordFill | NewFill:
    fill = fill_of_record(body)
    if "instrument" in body:
        ref = body.get("reference")
        return RecordFill(fill, instrument_of_record(body["instrument"]),
                          None if ref is None else float(ref))
    fields = {k: body[k] for k in INSTRUMENT_FIELDS if body.get(k) is not None}
    return NewFill(fill, defined_by(fill.symbol, fields), frozenset(fields), "")


def defined_by(symbol: str, fields: dict[str, Any]) -> Instrument | None:
    """The instrument a fill's own fields (or its OCC symbol) define; None for a bare symbol.
    Raises ValueError naming the field."""
    if fields:
        return instrument_from_fields(symbol, fields)
    return parse_occ(symbol)


def _position_record(p: PositionItem) -> dict[str, Any]:
    out: dict[str, Any] = {"symbol": p.instrument.symbol, "quantity": p.quantity,
                           "instrument": instrument_record(p.instrument)}
    if p.mark is not None:
        out["mark"] = p.mark
    return out


def _marks(rows: list[list[Any]]) -> tuple[tuple[str, str, float], ...]:
    return tuple((str(u), str(s), float(v)) for u, s, v in rows)


def encode(cmd: Command) -> tuple[str, dict[str, Any]]:
    """(kind, JSON-able body) of a command, as the journal stores it."""
    match cmd:
        case SetUnderlying():
            body: dict[str, Any] = {"symbol": cmd.symbol, "rate": cmd.rate,
                                    "div_yield": cmd.div_yield, "vol": cmd.vol,
                                    "wall": cmd.wall, "max_jump_pct": cmd.max_jump_pct,
                                    "confirm_ticks": cmd.confirm_ticks}
            if cmd.spot is not None:
                body["spot"] = cmd.spot
            if cmd.hedge is not None:
                body["hedge"] = dataclasses.asdict(cmd.hedge)
            if cmd.declared_type is not None:
                body["type"] = cmd.declared_type
            if cmd.option_style != "european":
                body["option_style"] = cmd.option_style
            if cmd.dividends:
                body["dividends"] = [[ex, amount] for ex, amount in cmd.dividends]
            if cmd.beta != 1.0 or cmd.benchmark is not None:
                body["beta"], body["benchmark"] = cmd.beta, cmd.benchmark
            if cmd.price_scan_pct != 15.0 or cmd.vol_scan != 0.04:
                body["price_scan_pct"], body["vol_scan"] = cmd.price_scan_pct, cmd.vol_scan
            if cmd.surface is not None:
                body["surface"] = dataclasses.asdict(cmd.surface)
            if cmd.mark_source != "theo":
                body["mark_source"] = cmd.mark_source
            return "underlying", body
        case SetSurface():
            return "surface", {"underlying": cmd.underlying, "as_of": cmd.as_of,
                               "locked": cmd.locked, "surface": None if cmd.surface is None
                               else surface_record(cmd.surface)}
        case SurfaceFitted():
            return "surface_fit", {"underlying": cmd.underlying, "as_of": cmd.as_of,
                                   "wall": cmd.wall, "surface": surface_record(cmd.surface),
                                   "report": cmd.report}
        case LoadPositions():
            return "positions", {"positions": [_position_record(p) for p in cmd.positions]}
        case SetMarks():
            return "pnl_marks", {"marks": [list(m) for m in cmd.marks]}
        case RollDay():
            return "pnl_roll", {"as_of": cmd.as_of, "marks": [list(m) for m in cmd.marks],
                                "figures": cmd.figures}
        case RecordFill():
            return "fill", _fill_record(cmd)
        case BustFill():
            return "bust", {"exec_id": cmd.original.fill.exec_id,
                            "fill": _fill_record(cmd.original)}
        case SetPolicy():
            return "policy", {"underlying": cmd.underlying,
                              "policy": dataclasses.asdict(cmd.policy)}
        case Halt():
            return "halt", {"underlying": cmd.underlying}
        case Resume():
            return "resume", {"underlying": cmd.underlying}
        case CancelSignal():
            return "cancel", {"signal_id": cmd.signal_id}
        case SignalSent():
            return "signal", {"id": cmd.id, "seq": cmd.seq, "underlying": cmd.underlying,
                              "instrument": cmd.instrument, "order_qty": cmd.order_qty,
                              "expires_at": cmd.expires_at, "clipped": cmd.clipped,
                              "shares": dict(cmd.shares), "counts": cmd.counts,
                              **({} if cmd.spot is None else {"spot": cmd.spot})}
        case Reconcile():
            return "reconcile", {"positions": [{"symbol": s, "quantity": q}
                                               for s, q in cmd.positions]}
        case SetLimits():
            return "limits", {"limits": [spec.record() for spec in cmd.limits]}
        case LimitAlert():
            return "alert", dict(cmd.alert)
        case AcceptReconcile():
            return "reconcile_accept", {
                "symbols": None if cmd.symbols is None else list(cmd.symbols),
                "adopt": cmd.adopt}
    raise TypeError(f"not a command: {cmd!r}")


def decode(kind: str, body: dict[str, Any]) -> Command | Unresolved:
    """The command a journal record holds (`Unresolved` for a fill journaled before
    instruments were recorded whole). Raises ValueError for an unknown kind."""
    if kind == "underlying":
        hedge = body.get("hedge")
        return SetUnderlying(
            symbol=body["symbol"], rate=body["rate"], div_yield=body["div_yield"],
            vol=body["vol"], wall=body["wall"], spot=body.get("spot"),
            hedge=None if not hedge else HedgeRequest(
                hedge.get("instrument"), hedge.get("multiplier"), hedge.get("ratio", 1.0),
                hedge.get("lot_size", 1.0)),
            max_jump_pct=body.get("max_jump_pct", 10.0),
            confirm_ticks=body.get("confirm_ticks", 3), declared_type=body.get("type"),
            option_style=body.get("option_style", "european"),
            dividends=tuple((float(ex), float(a)) for ex, a in body.get("dividends", ())),
            beta=body.get("beta", 1.0), benchmark=body.get("benchmark"),
            price_scan_pct=body.get("price_scan_pct", 15.0),
            vol_scan=body.get("vol_scan", 0.04),
            surface=surface_config_of(body.get("surface")),
            mark_source=body.get("mark_source", "theo"))
    if kind == "surface":
        d = body.get("surface")
        return SetSurface(body["underlying"], None if d is None else surface_of_record(d),
                          float(body["as_of"]), bool(body.get("locked", True)))
    if kind == "surface_fit":
        return SurfaceFitted(body["underlying"], surface_of_record(body["surface"]),
                             float(body["as_of"]), float(body["wall"]),
                             body.get("report") or {})
    if kind == "positions":
        items = []
        for p in body["positions"]:
            if "instrument" in p:
                inst = instrument_of_record(p["instrument"])
            else:
                inst = instrument_from_fields(p["symbol"], {
                    k: p[k] for k in INSTRUMENT_FIELDS if p.get(k) is not None})
            mark = p.get("mark")
            items.append(PositionItem(inst, float(p["quantity"]),
                                      None if mark is None else float(mark)))
        return LoadPositions(tuple(items))
    if kind == "fill":
        fill = _fill_command(body)
        return Unresolved(fill) if isinstance(fill, NewFill) else fill
    if kind == "bust":
        original = _fill_command(body["fill"])
        return Unresolved(original, bust=True) if isinstance(original, NewFill) else BustFill(
            original)
    if kind == "pnl_marks":
        return SetMarks(_marks(body["marks"]))
    if kind == "pnl_roll":
        return RollDay(float(body["as_of"]), _marks(body["marks"]), body["figures"])
    if kind == "policy":
        return SetPolicy(body["underlying"], HedgePolicy.from_mapping(body["policy"]))
    if kind == "halt":
        return Halt(body.get("underlying"))
    if kind == "resume":
        return Resume(body.get("underlying"))
    if kind == "cancel":
        return CancelSignal(body["signal_id"])
    if kind == "signal":
        return SignalSent(
            id=body["id"], seq=int(body["seq"]), underlying=body["underlying"],
            instrument=body["instrument"], order_qty=float(body["order_qty"]),
            expires_at=float(body["expires_at"]), clipped=bool(body.get("clipped", False)),
            shares=tuple((body.get("shares") or {}).items()),
            counts=bool(body.get("counts", True)),
            spot=None if body.get("spot") is None else float(body["spot"]))
    if kind == "reconcile":
        return Reconcile(tuple((p["symbol"], float(p["quantity"])) for p in body["positions"]))
    if kind == "limits":
        return SetLimits(tuple(LimitSpec(**d) for d in body["limits"]))
    if kind == "alert":
        return LimitAlert(body)
    if kind == "reconcile_accept":
        symbols = body.get("symbols")
        return AcceptReconcile(None if symbols is None else tuple(symbols),
                               bool(body.get("adopt")))
    raise ValueError(f"unknown journal event kind {kind!r}")
