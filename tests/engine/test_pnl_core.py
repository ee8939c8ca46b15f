"""The P&L desk in the core: attribution on GBM paths, marks from quoted mids, busts, and the
identities (positions add up to the underlying, no moves and no trades make nothing)."""

from __future__ import annotations

import numpy as np
import pytest

from app.domain import Fill, ManualClock, Tick, instrument_from_fields
from app.engine.core import Core
from app.engine.read import ReadModel
from app.pricing import greeks

T0 = 1_795_000_000.0
YEAR = 365 * 86_400.0
CALL = "XYZ   270219C00098000"


def option(i: int, strike: float, days: float, call: bool) -> tuple[str, dict]:  # type: ignore[type-arg]
    return f"O{i}", {"type": "call" if call else "put", "underlying": "XYZ",
                     "strike": strike, "expiry": T0 + days * 86_400.0, "multiplier": 100}


BOOK = [(option(0, 90.0, 30, True), 20.0), (option(1, 100.0, 60, False), -35.0),
        (option(2, 105.0, 120, True), 15.0), (option(3, 95.0, 365, False), 10.0),
        (option(4, 110.0, 45, True), -25.0)]


def make_core(rate: float = 0.03) -> tuple[Core, ReadModel]:
    core = Core(ManualClock(T0))
    core.set_underlying("XYZ", rate=rate, div_yield=0.01, vol=0.25, spot=100.0, as_of=T0)
    core.load_positions([(instrument_from_fields(sym, f), q) for (sym, f), q in BOOK]
                        + [(instrument_from_fields("XYZ", {}), -300.0)])
    core.recompute_all(list(core.dirty))
    read = ReadModel(core)
    core.pnl.set_marks(read.pnl_marks(unmarked_only=True))  # as the runner journals them
    return core, read


def walk(core: Core, spots: np.ndarray, ivs: np.ndarray | None = None) -> None:
    clock = core.clock
    assert isinstance(clock, ManualClock)
    for k, s in enumerate(spots):
        clock.advance(60.0)
        now = clock.now()
        core.apply_tick(Tick("XYZ", now, now, price=float(s)))
        if ivs is not None:
            for i, ((sym, _), _) in enumerate(BOOK):
                core.apply_tick(Tick(sym, now, now, iv=float(ivs[k, i])))
        core.recompute("XYZ")


@pytest.mark.parametrize("vols_move", [False, True])
def test_on_gbm_paths_with_one_minute_steps_predict_leaves_under_2_percent_unexplained(
        vols_move):
    rng = np.random.default_rng(11)
    ratios = []
    for _ in range(12):
        core, read = make_core()
        steps = 390
        dt = 60.0 / YEAR
        z = rng.standard_normal(steps)
        spots = 100.0 * np.exp(np.cumsum((0.03 - 0.01 - 0.5 * 0.25**2) * dt
                                         + 0.25 * np.sqrt(dt) * z))
        ivs = None
        if vols_move:  # each option's own vol wanders, a vol point a day or so
            ivs = 0.25 + np.cumsum(0.0005 * rng.standard_normal((steps, len(BOOK))), axis=0)
        walk(core, spots, ivs)
        f = read.pnl("XYZ")
        a = f["attribution"]
        assert sum(a.values()) == pytest.approx(f["revaluation"], rel=1e-12, abs=1e-9)
        assert f["residual"] == pytest.approx(0.0, abs=1e-6)  # marked at the model
        ratios.append(abs(a["unexplained"]) / abs(f["options"]))
        if vols_move:
            assert a["vega"] != 0.0 and a["vanna"] != 0.0 and a["volga"] != 0.0
        # explain telescopes to the same revaluation
        assert sum(f["explain"].values()) == pytest.approx(f["revaluation"], rel=1e-9)
    print(f"median |unexplained| / |options P&L|: {np.median(ratios):.2e}")
    assert float(np.median(ratios)) <= 0.02


def test_positions_add_up_and_a_book_that_did_not_move_made_nothing():
    core, read = make_core()
    f = read.pnl("XYZ")
    assert f["pnl"] == 0.0 and f["options"] == 0.0 and f["hedge"] == 0.0
    walk(core, np.array([101.0, 100.4, 102.2]))
    f = read.pnl("XYZ")
    rows = read.pnl_positions("XYZ")
    assert sum(p["pnl"] for p in rows) == pytest.approx(f["pnl"], rel=1e-12)
    assert f["pnl"] == pytest.approx(f["options"] + f["hedge"], rel=1e-12)
    assert f["hedge"] == pytest.approx(-300.0 * 2.2, rel=1e-12)
    per, total = read.pnl_all()
    assert total["pnl"] == pytest.approx(sum(u["pnl"] for u in per.values()), rel=1e-12)


def test_a_busted_fill_leaves_the_pnl_as_if_it_never_came():
    core, read = make_core()
    walk(core, np.array([101.0]))
    before = read.pnl("XYZ")
    inst = core.book.instrument("O2")
    assert inst is not None
    fill = Fill("b1", "O2", "buy", 5.0, 3.0, core.clock.now(), fee=4.0)
    core.apply_fill(fill, inst, reference=2.5)
    core.recompute("XYZ")
    during = read.pnl("XYZ")
    assert during["fees"] == 4.0 and during["trade_edge"] == pytest.approx(-0.5 * 500)
    core.bust_fill(fill, inst)
    core.recompute("XYZ")
    after = read.pnl("XYZ")
    for k in ("pnl", "options", "fees", "realized", "unrealized", "trade_edge"):
        assert after[k] == pytest.approx(before[k], rel=1e-12, abs=1e-12), k


def test_mark_source_mid_values_an_option_at_its_fresh_quoted_mid():
    core = Core(ManualClock(T0))
    core.set_underlying("XYZ", rate=0.0, div_yield=0.0, vol=0.2, spot=100.0, as_of=T0,
                        mark_source="mid")
    inst = instrument_from_fields(CALL, {})
    core.load_positions([(inst, 10.0)])
    core.recompute("XYZ")
    read = ReadModel(core)
    core.pnl.set_marks(read.pnl_marks(unmarked_only=True))
    theo0 = read.pnl_positions("XYZ")[0]["mark"]
    t = (inst.expiry - T0) / YEAR  # type: ignore[operator]
    assert theo0 == pytest.approx(float(greeks(True, 100.0, 98.0, t, 0.2, 0.0, 0.0)["price"]))
    # a quote: the option is worth its mid (its implied vol reprices it to the mid as well)
    core.apply_tick(Tick(CALL, T0, T0, bid=theo0 + 0.2, ask=theo0 + 0.4))
    core.recompute("XYZ")
    row = read.pnl_positions("XYZ")[0]
    assert row["value"] == pytest.approx(theo0 + 0.3, rel=1e-15)
    assert row["pnl"] == pytest.approx(0.3 * 1000, rel=1e-9)
    # an iv-only tick: no mid to mark at, the theo (at that iv) again
    core.apply_tick(Tick(CALL, T0 + 1, T0 + 1, iv=0.21))
    core.recompute("XYZ")
    row = read.pnl_positions("XYZ")[0]
    assert row["value"] == pytest.approx(
        float(greeks(True, 100.0, 98.0, t, 0.21, 0.0, 0.0)["price"]), rel=1e-12)
