"""Reading a surface: nodes, the time rule, the grid, replacing a slice, the report, the PNG,
and the package's import boundary."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import numpy as np
import pytest

from app.surface import (
    Slice,
    SviParams,
    fit_surface,
    plot_fit,
    surface_from_params,
    vol_grid,
)
from app.surface.sample import sample_quotes


def test_a_node_expiry_reads_its_own_smile(surface):
    k = np.linspace(-0.5, 0.5, 11)
    for s in surface.slices:
        vol = surface.smile(k, np.full(k.size, s.t))[0]
        np.testing.assert_allclose(vol ** 2 * s.t, s.params.total_variance(k), rtol=1e-13)


def test_before_the_first_expiry_the_first_smiles_vols_hold(surface):
    k = np.linspace(-0.3, 0.3, 7)
    first = surface.smile(k, np.full(7, surface.times[0]))[0]
    for t in (1e-4, 0.5 * surface.times[0], 0.0, -1.0):
        np.testing.assert_allclose(surface.smile(k, np.full(7, t))[0], first, rtol=1e-13)


def test_after_the_last_expiry_the_at_the_money_vol_holds(surface):
    last = surface.times[-1]
    atm = surface.smile(np.zeros(1), np.array([last]))[0]
    for t in (last * 1.5, last * 4.0):
        assert surface.smile(np.zeros(1), np.array([t]))[0] == pytest.approx(atm, rel=1e-13)


def test_between_expiries_total_variance_is_linear_in_t(surface):
    t0, t1 = surface.times[3], surface.times[4]
    k = np.linspace(-0.4, 0.4, 9)
    w0, w1 = (surface.total_variance(k, np.full(9, t))[0] for t in (t0, t1))
    for a in (0.25, 0.5, 0.9):
        t = a * t0 + (1 - a) * t1
        np.testing.assert_allclose(surface.total_variance(k, np.full(9, t))[0],
                                   a * w0 + (1 - a) * w1, rtol=1e-12)


def test_smile_derivatives_in_k_match_finite_differences(surface):
    k = np.linspace(-0.6, 0.4, 21)
    t = np.full(21, 0.6)  # between nodes
    vol, vk, vkk = surface.smile(k, t)
    h = 1e-5
    up, dn = surface.smile(k + h, t)[0], surface.smile(k - h, t)[0]
    np.testing.assert_allclose(vk, (up - dn) / (2 * h), atol=1e-8)
    np.testing.assert_allclose(vkk, (up - 2 * vol + dn) / h ** 2, atol=1e-4)


def test_the_grid_gives_vols_per_expiry_and_strike(surface):
    strikes = [80.0, 100.0, 120.0]
    t = [0.25, 0.6]
    fwd = [100.5, 101.2]
    grid = vol_grid(surface, strikes, t, fwd)
    assert grid.shape == (2, 3)
    for i in range(2):
        np.testing.assert_allclose(grid[i], surface.vols(strikes, t[i], fwd[i]))
    assert grid[0, 0] > grid[0, 1] > grid[0, 2]  # put skew
    with pytest.raises(ValueError, match=r"^strikes:"):
        vol_grid(surface, [0.0], t, fwd)
    with pytest.raises(ValueError, match=r"^forward:"):
        vol_grid(surface, strikes, t, [100.0, 100.0, 100.0])


def test_one_refitted_expiry_is_swapped_in_when_it_keeps_the_calendar(surface):
    i = 4
    old = surface.slices[i]
    p = old.params
    lifted = Slice(old.t, old.forward, SviParams(p.a + 1e-4, p.b, p.rho, p.m, p.sigma), "x")
    new = surface.with_slice(lifted)
    assert new.slices[i].expiry == "x" and len(new.slices) == len(surface.slices)
    assert new.slices[i - 1] is surface.slices[i - 1]
    crossing = Slice(old.t, old.forward, SviParams(p.a + 0.1, p.b, p.rho, p.m, p.sigma))
    with pytest.raises(ValueError, match=r"calendar arbitrage"):
        surface.with_slice(crossing)


def test_the_surface_as_a_dict_round_trips_through_explicit_params(surface):
    data = json.loads(json.dumps(surface.as_dict()))
    assert data["model"] == "ssvi" and set(data["ssvi"]) == {"rho", "eta", "gamma", "theta"}
    again = surface_from_params(data["expiries"], spot=data["spot"])
    np.testing.assert_allclose(again.params, surface.params, rtol=1e-15)
    assert data["expiries"][3]["atm_vol"] == pytest.approx(
        float(surface.smile(np.zeros(1), surface.times[3:4])[0][0]))


def test_a_surface_is_immutable(surface):
    with pytest.raises(ValueError):
        surface.params[0, 0] = 1.0
    with pytest.raises(AttributeError):
        surface.model = "svi"  # type: ignore[misc]


def test_plot_writes_a_png_of_quotes_and_fit(surface, tmp_path):
    fit = fit_surface(sample_quotes(surface, noise=0.003, seed=2), spot=100.0)
    path = plot_fit(fit, tmp_path / "smile.png", title="XYZ")
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 20_000


def test_the_surface_package_imports_only_pricing_of_the_app():
    root = Path(__file__).resolve().parents[2] / "app" / "surface"
    allowed = {"numpy", "numba", "scipy", "matplotlib", "__future__"}
    for path in root.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            for name in names:
                top = name.split(".")[0]
                if top == "app":
                    assert name.split(".")[1] in {"pricing", "surface"}, (path.name, name)
                else:
                    import sys

                    assert top in allowed or top in sys.stdlib_module_names, (path.name, name)
