"""Solves combined without a re-solve of the rest (`replace_bonds`, `extend_bonds`), many spots
on the same solves (`revalue_points`), and the hot-path staleness check (`needs_resolve_into`)."""

from __future__ import annotations

import numpy as np
import pytest

from app.pricing.convertible import (
    FIGURE_NAMES,
    ConvertibleTerms,
    extend_bonds,
    needs_resolve,
    needs_resolve_into,
    pack,
    replace_bonds,
    revalue_into,
    revalue_points,
    solve,
)

BONDS = [
    ConvertibleTerms(conversion_ratio=8.0, maturity=3.0, credit_spread=0.03),
    ConvertibleTerms(conversion_ratio=9.0, maturity=5.0, coupon_rate=0.02, credit_spread=0.02,
                     call_schedule=((2.0, 5.0, 1000.0),), put_schedule=((3.0, 1000.0),)),
    ConvertibleTerms(conversion_ratio=7.0, maturity=4.0, coupon_rate=0.03, credit_spread=0.04,
                     call_schedule=((1.0, 4.0, 1000.0, 1.3),)),
]
ROWS = len(FIGURE_NAMES)


def figures(state, spot):  # type: ignore[no-untyped-def]
    out = np.empty((ROWS, len(state)))
    return revalue_into(state, spot, out)


def test_replacing_bonds_is_solving_them_in_place():
    old = solve(pack(BONDS), 100.0, 0.3, 0.04, 0.01)
    later = [t.advanced(0.1) for t in BONDS]
    sub = solve(pack([later[0], later[2]]), 104.0, 0.3, 0.04, 0.01)
    mixed = replace_bonds(old, [0, 2], sub)
    alone = solve(pack(later), 104.0, 0.3, 0.04, 0.01)
    got, want, before = figures(mixed, 104.0), figures(alone, 104.0), figures(old, 104.0)
    np.testing.assert_array_equal(got[:, [0, 2]], want[:, [0, 2]])
    np.testing.assert_array_equal(got[:, 1], before[:, 1])  # bond 1 kept its old solve
    np.testing.assert_array_equal(figures(old, 104.0), before)  # the inputs do not change
    assert mixed.spot.tolist() == [104.0, 100.0, 104.0]
    with pytest.raises(ValueError, match="index"):
        replace_bonds(old, [0], sub)


def test_extending_appends_the_new_bonds_solves():
    first = solve(pack(BONDS[:2]), 100.0, 0.3, 0.04, 0.01)
    new = solve(pack(BONDS[2:]), 100.0, 0.3, 0.04, 0.01)
    joined = extend_bonds(first, new, pack(BONDS))
    whole = solve(pack(BONDS), 100.0, 0.3, 0.04, 0.01)
    np.testing.assert_array_equal(figures(joined, 101.0), figures(whole, 101.0))
    with pytest.raises(ValueError, match="batch"):
        extend_bonds(first, new, pack(BONDS[:2]))


def test_many_spots_on_the_same_solves_are_each_bonds_figures_there():
    state = solve(pack(BONDS), 100.0, 0.3, 0.04, 0.01)
    spots = np.array([90.0, 100.0, 111.0, 130.0, 95.5])
    bond = np.array([0, 1, 2, 0, 2], dtype=np.int64)
    out = revalue_points(state, bond, spots, np.empty((ROWS, 5)))
    for p in range(5):
        one = figures(state, np.full(3, spots[p]))
        np.testing.assert_array_equal(out[:, p], one[:, bond[p]])


def test_the_hot_path_staleness_check_gives_needs_resolves_codes():
    state = solve(pack(BONDS), 100.0, 0.3, 0.04, 0.01)
    spread = state.credit_spread.copy()
    for spot, vol, elapsed in ((100.5, 0.3, 1e-4), (100.0, 0.33, 0.0), (140.0, 0.3, 0.0),
                               (100.0, 0.3, 1.5)):
        t = np.full(3, elapsed)
        codes = needs_resolve_into(state, spot, vol, 0.04, 0.01, spread, t,
                                   np.empty(3, dtype=np.int8))
        want = needs_resolve(state, spot, vol, 0.04, 0.01, t_elapsed=t)
        np.testing.assert_array_equal(codes, want)
