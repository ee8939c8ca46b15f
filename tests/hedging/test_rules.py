"""The vectorized rules, worked by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest

from app.hedging import rules


@pytest.mark.parametrize(
    ("net", "target", "band", "to_edge", "goal"),
    [
        (650.0, 0.0, 500.0, False, 0.0),  # outside: back to the target
        (650.0, 0.0, 500.0, True, 500.0),  # outside: to the nearer edge
        (-650.0, 0.0, 500.0, True, -500.0),
        (450.0, 0.0, 500.0, False, math.nan),  # inside: nothing
        (500.0, 0.0, 500.0, False, math.nan),  # on the edge: nothing (strictly greater)
        (1300.0, 1000.0, 200.0, True, 1200.0),  # non-zero target
        (700.0, 1000.0, 200.0, False, 1000.0),
    ],
)
def test_band_goal(net, target, band, to_edge, goal):
    out = float(rules.band_goal(net, target, band, to_edge))
    assert (math.isnan(out) and math.isnan(goal)) or out == goal


@pytest.mark.parametrize(
    ("goal", "net", "spu", "lot", "units"),
    [
        (0.0, 6000.0, 1.0, 1.0, -6000.0),
        (0.0, 6049.0, 1.0, 100.0, -6000.0),  # 60.49 lots → 60
        (0.0, 6051.0, 1.0, 100.0, -6100.0),
        (0.0, 12_600.0, 50.0, 1.0, -252.0),  # a future of multiplier 50
        (0.0, 12_600.0, 60.0, 1.0, -210.0),  # multiplier 50 × ratio 1.2
        (0.0, 12_630.0, 60.0, 1.0, -210.0),  # 210.5 rounds half to even
        (math.nan, 5.0, 1.0, 1.0, 0.0),
    ],
)
def test_order_units_in_hedge_instrument_lots(goal, net, spu, lot, units):
    assert float(rules.order_units(goal, net, spu, lot)) == units


@pytest.mark.parametrize(
    ("spot", "gamma", "cost", "gamma_ra", "rate", "tau"),
    [(100.0, 382.0, 0.01, 1.0, 0.0, 0.25), (50.0, -120.0, 0.02, 0.5, 0.05, 1.0),
     (4500.0, 3.5, 0.25, 2.0, 0.03, 0.1)],
)
def test_whalley_wilmott_half_width_by_hand(spot, gamma, cost, gamma_ra, rate, tau):
    lam = cost / spot
    by_hand = (1.5 * math.exp(-rate * tau) * lam * spot * gamma**2 / gamma_ra) ** (1 / 3)
    assert float(rules.whalley_wilmott_half_width(spot, gamma, cost, gamma_ra, rate, tau)) == (
        pytest.approx(by_hand, rel=1e-14))


def test_whalley_wilmott_first_set_by_hand_number():
    # 1.5 × 1 × (0.01/100) × 100 × 382² / 1 = 2188.86 → cube root 12.9839…
    h = float(rules.whalley_wilmott_half_width(100.0, 382.0, 0.01, 1.0, 0.0, 0.25))
    assert h == pytest.approx(12.98392, rel=1e-6)


@pytest.mark.parametrize(
    ("order", "position", "max_order", "max_position", "lot", "out"),
    [
        (-6000.0, 0.0, 2500.0, None, 1.0, -2500.0),
        (6000.0, 0.0, None, 4000.0, 1.0, 4000.0),
        (6000.0, 3000.0, None, 4000.0, 1.0, 1000.0),
        (-6000.0, -3500.0, 2500.0, 4000.0, 100.0, -500.0),
        (500.0, -5000.0, None, 4000.0, 1.0, 500.0),  # beyond the limit: shrinking passes
        (-500.0, -5000.0, None, 4000.0, 1.0, 0.0),  # beyond the limit: growing is cut
        (-250.0, 0.0, 170.0, None, 100.0, -100.0),  # clip, then whole lots toward zero
    ],
)
def test_clip_order(order, position, max_order, max_position, lot, out):
    assert float(rules.clip_order(order, position, max_order, max_position, lot)) == out


def test_interval_due():
    assert bool(rules.interval_due(100.0, math.nan, 60.0))
    assert not bool(rules.interval_due(159.0, 100.0, 60.0))
    assert bool(rules.interval_due(160.0, 100.0, 60.0))
    out = rules.interval_due(np.array([100.0, 200.0]), np.array([90.0, 100.0]), 60.0)
    assert out.tolist() == [False, True]


def test_interval_slots_stay_on_a_fixed_grid():
    assert rules.interval_slot(100.0, math.nan, 60.0) == 100.0
    assert rules.interval_slot(175.0, 100.0, 60.0) == 160.0  # a late tick keeps the grid
    assert rules.interval_slot(290.0, 160.0, 60.0) == 280.0


def _numpy_reference(rng: np.random.Generator, n: int) -> dict[str, np.ndarray]:
    """Random figures with the awkward values in: NaN, ±inf, 0, exact band edges."""
    def pick(values: np.ndarray, specials: list[float]) -> np.ndarray:
        return np.where(rng.random(n) < 0.1, rng.choice(specials, n), values)

    return {
        "net": pick(rng.normal(0, 2_000, n), [math.nan, 0.0, 500.0, -500.0, math.inf]),
        "target": pick(rng.normal(0, 300, n), [0.0]),
        "half": pick(np.abs(rng.normal(0, 400, n)), [0.0, 500.0, math.nan]),
        "spot": pick(rng.lognormal(4, 1, n), [0.0, 1e-300]),
        "gamma": pick(rng.normal(0, 500, n), [0.0, math.nan, -1e-12]),
        "cost": rng.uniform(1e-4, 0.1, n),
        "aversion": rng.lognormal(-3, 2, n),
        "rate": rng.uniform(-0.01, 0.1, n),
        "tau": pick(rng.uniform(0, 3, n), [0.0, math.nan]),
        "spu": rng.choice([1.0, 50.0, 60.0, 0.1], n),
        "lot": rng.choice([1.0, 10.0, 100.0, 0.5], n),
        "pos": pick(rng.normal(0, 3_000, n), [0.0, 4_000.0, -4_000.0]),
        "event": 1e9 + rng.uniform(0, 600, n),
        "last": pick(1e9 + rng.uniform(-600, 600, n), [math.nan]),
        "interval": rng.choice([1.0, 30.0, 60.0, 3_600.0], n),
    }


def test_the_compiled_rules_are_the_numpy_formulas_bit_for_bit():
    """The rules were numpy expressions; the compiled ones must give the same bits, NaN and
    infinities included (the live engine's figures did not move when the decision did) —
    except where a transcendental function's last bit depends on the CPU (see below)."""
    rng = np.random.default_rng(2)
    f = _numpy_reference(rng, 20_000)
    to_edge = rng.random(20_000) < 0.5
    with np.errstate(all="ignore"):
        diff = f["net"] - f["target"]
        goal = np.where(np.abs(diff) > f["half"],
                        np.where(to_edge, f["target"] + np.sign(diff) * f["half"], f["target"]),
                        np.nan)
        ww = np.cbrt(1.5 * np.exp(-f["rate"] * f["tau"]) * (f["cost"] / f["spot"]) * f["spot"]
                     * np.square(f["gamma"]) / f["aversion"])
        units = np.rint(np.nan_to_num((goal - f["net"]) / f["spu"] / f["lot"], nan=0.0)) \
            * f["lot"] + 0.0
        due = np.isnan(f["last"]) | (f["event"] - f["last"] >= f["interval"] - 1e-9)
        start = np.where(np.isnan(f["last"]), f["event"], f["last"])
        slot = np.where(np.isnan(f["last"]), f["event"],
                        f["last"] + np.floor((f["event"] - start) / f["interval"] + 1e-9)
                        * f["interval"])
        clipped = np.clip(np.clip(units, -2_500.0, 2_500.0),
                          np.minimum(-4_000.0 - f["pos"], 0.0),
                          np.maximum(4_000.0 - f["pos"], 0.0))
        clipped = np.trunc(clipped / f["lot"]) * f["lot"] + 0.0
    same = np.testing.assert_array_equal
    with np.errstate(divide="ignore", over="ignore"):  # as numpy: inf, with a warning
        same(rules.band_goal(f["net"], f["target"], f["half"], to_edge), goal)
        # exp and cbrt: numpy picks SIMD versions by CPU (AVX-512 here, not on every
        # machine), the compiled rule libm's; both are correctly rounded to within an ulp
        got = rules.whalley_wilmott_half_width(f["spot"], f["gamma"], f["cost"], f["aversion"],
                                               f["rate"], f["tau"])
        same(np.isnan(got), np.isnan(ww))
        same(np.isinf(got), np.isinf(ww))
        finite = np.isfinite(ww)
        np.testing.assert_array_max_ulp(got[finite], ww[finite], maxulp=4)
        same(rules.order_units(goal, f["net"], f["spu"], f["lot"]), units)
        same(rules.interval_due(f["event"], f["last"], f["interval"]), due)
        same(rules.interval_slot(f["event"], f["last"], f["interval"]), slot)
        same(rules.clip_order(units, f["pos"], 2_500.0, 4_000.0, f["lot"]), clipped)
