"""The volatility surface through the service (issue 12): `surface` on PUT /v1/underlyings,
a desk's surface (PUT /v1/surfaces), the surface in use and the grid (GET), refits from option
quotes off the tick path, and both kinds of surface across a restart."""

from __future__ import annotations

import math
import threading
import time

import numpy as np
import pytest

from app.domain import expiry_from
from app.pricing import greeks
from app.surface import ssvi_surface
from app.surface.svi import SsviParams
from tests.api.conftest import make_client, now, wait_for

YEAR_S = 365 * 86_400
RATE, DIV = 0.03, 0.01
DATES = ("2026-07-17", "2026-09-18", "2026-12-18", "2027-06-17")
SURFACE = {"model": "svi", "stickiness": "moneyness", "refit_s": 0.2}
HELD = "XYZ   261218C00101250"  # never quoted: its vol comes from the surface


def occ(date: str, call: bool, strike: float) -> str:
    day = date[2:4] + date[5:7] + date[8:10]
    return f"XYZ   {day}{'C' if call else 'P'}{round(strike * 1000):08d}"


def truth(spot: float, as_of: float):
    """An equity-skew SSVI surface whose slices sit on DATES, t from `as_of`."""
    t = np.array([(expiry_from(d) - as_of) / YEAR_S for d in DATES])
    atm = 0.18 + 0.04 * np.exp(-2.0 * t)
    return ssvi_surface(SsviParams(rho=-0.7, eta=1.1, gamma=0.4), list(t), list(atm * atm * t),
                        list(spot * np.exp((RATE - DIV) * t)), spot=spot)


def desk_body(surface, **extra) -> dict:
    return {"expiries": [
        {"expiry": d, "a": s.params.a, "b": s.params.b, "rho": s.params.rho, "m": s.params.m,
         "sigma": s.params.sigma} for d, s in zip(DATES, surface.slices, strict=True)], **extra}


def setup(c, surface: dict | None = SURFACE, spot: float = 100.0) -> float:
    body = {"rate": RATE, "div_yield": DIV, "vol": 0.2}
    if surface is not None:
        body["surface"] = surface
    r = c.put("/v1/underlyings/XYZ", json=body)
    assert r.status_code == 200, r.text
    ts = now(c)
    assert c.post("/v1/ticks", json={"symbol": "XYZ", "price": spot, "ts": ts}).status_code == 200
    return ts


def held_row(c) -> dict:
    view = wait_for(lambda: (v := c.get("/v1/risk/XYZ").json())["positions"] and v)
    return next(p for p in view["positions"] if p["symbol"] == HELD)


def quotes(spot: float, ts: float, noise: float = 0.0) -> list[dict]:
    """Out-of-the-money bid/ask quotes on the true smile, 23 strikes per expiry."""
    surf = truth(spot, ts)
    rng = np.random.default_rng(7)
    out = []
    for d in DATES:
        t = (expiry_from(d) - ts) / YEAR_S
        fwd = spot * math.exp((RATE - DIV) * t)
        for k in np.arange(70.0, 127.5, 2.5):
            call = k >= fwd
            vol = float(surf.vols(k, t, fwd)[0]) * (1 + noise * rng.standard_normal())
            lo, hi = (float(greeks(call, spot, k, t, v, RATE, DIV)["price"])
                      for v in (vol - 0.0025, vol + 0.0025))
            if lo < 0.005:
                continue
            out.append({"symbol": occ(d, call, k), "bid": lo, "ask": hi, "ts": ts})
    return out


# --- settings on PUT /v1/underlyings ------------------------------------------------------------

def test_surface_settings_are_shown_and_default_to_none(client):
    setup(client, surface=None)
    assert client.get("/v1/underlyings").json()["XYZ"]["surface"] is None
    assert client.get("/v1/surfaces/XYZ").status_code == 404
    r = client.put("/v1/underlyings/XYZ", json={"vol": 0.2, "surface": {"stickiness": "strike"}})
    assert r.json()["surface"] == {"model": "svi", "stickiness": "strike", "refit_s": 60.0,
                                   "min_new_quotes": 20, "quote_max_age_s": 60.0}
    view = client.get("/v1/surfaces/XYZ").json()
    assert view["source"] is None and view["expiries"] == [] and view["version"] == 0


@pytest.mark.parametrize("surface, field", [
    ({"model": "sabr"}, "surface.model"), ({"stickiness": "delta"}, "surface.stickiness"),
    ({"refit_s": 0}, "surface.refit_s"), ({"refit_s": "60"}, "surface.refit_s"),
    ({"lag": 1}, "surface.lag")])
def test_bad_surface_settings_are_422_naming_the_field(client, surface, field):
    setup(client)
    r = client.put("/v1/underlyings/XYZ", json={"vol": 0.2, "surface": surface})
    assert r.status_code == 422 and r.json()["detail"][0]["field"] == field
    assert client.get("/v1/underlyings").json()["XYZ"]["surface"]["model"] == "svi"


# --- a desk's surface ---------------------------------------------------------------------------

def test_a_desks_surface_prices_the_book_and_draws_the_grid(client):
    ts = setup(client)
    client.put("/v1/positions", json=[{"symbol": HELD, "quantity": 10}])
    assert held_row(client)["vol_source"] == "flat"
    surf = truth(100.0, now(client))
    r = client.put("/v1/surfaces/XYZ", json=desk_body(surf))
    assert r.status_code == 200, r.text
    view = r.json()
    assert view["source"] == "desk" and view["locked"] is True and view["version"] == 1
    assert view["checks"]["butterfly"]["ok"] and view["checks"]["calendar"]["ok"]
    assert [e["b"] for e in view["expiries"]] == pytest.approx([s.params.b for s in surf.slices])
    assert view["expiries"][2]["expiry"].startswith("2026-12-18")
    assert client.get("/v1/surfaces/XYZ").json() == view
    # the held option reads the surface: its vol at its own k and t
    row = held_row(client)
    t = (expiry_from(DATES[2]) - ts) / YEAR_S
    fwd = 100.0 * math.exp((RATE - DIV) * t)
    want = truth(100.0, ts).vols(101.25, t, fwd)[0]
    assert row["vol_source"] == "surface"
    assert row["iv"] == pytest.approx(want, abs=2e-4)
    assert row["smile_delta"] != pytest.approx(row["delta"], rel=1e-3)  # skew: they differ
    grid = client.get("/v1/surfaces/XYZ/grid", params={
        "strikes": "90,101.25,110", "expiries": "2026-12-18,2027-01-15"}).json()
    assert len(grid["vols"]) == 2 and len(grid["vols"][0]) == 3
    assert grid["vols"][0][1] == pytest.approx(row["iv"], abs=1e-9)
    assert grid["vols"][0][0] > grid["vols"][0][1] > grid["vols"][0][2]  # put skew
    default = client.get("/v1/surfaces/XYZ/grid").json()
    assert len(default["vols"]) == 4 and len(default["strikes"]) == 9


def test_vega_is_bucketed_per_expiry_of_the_surface(client):
    setup(client)
    between = "XYZ   261016P00095000"  # 2026-10-16: between the 2nd and 3rd expiries
    client.put("/v1/positions", json=[{"symbol": HELD, "quantity": 10},
                                      {"symbol": between, "quantity": -20}])
    client.put("/v1/surfaces/XYZ", json=desk_body(truth(100.0, now(client))))
    risk = client.get("/v1/risk/XYZ").json()
    rows = {p["symbol"]: p for p in risk["positions"]}
    vega = [e["vega"] for e in client.get("/v1/surfaces/XYZ").json()["expiries"]]
    # an option between expiries splits its vega over both (dσ/dε of each smile's parallel
    # bump: weights sum to 1 only on a flat surface, so the sum is close to the vega)
    assert sum(vega) == pytest.approx(risk["vega"], rel=0.01)
    assert vega[0] == 0.0 and vega[3] == 0.0  # neither reads the first or the last smile
    shared = vega[2] - rows[HELD]["vega"]  # the held option sits on the 3rd expiry: all there
    assert vega[1] < shared < 0.0  # the short put: mostly on the nearer expiry
    assert vega[1] + shared == pytest.approx(rows[between]["vega"], rel=0.01)


@pytest.mark.parametrize("change, field", [
    ({0: {"b": -0.1}}, "expiries.0.b"),
    ({1: {"rho": 1.0}}, "expiries.1.rho"),
    ({2: {"sigma": 0.0}}, "expiries.2.sigma"),
    ({0: {"a": -1.0}}, "expiries.0.a"),
    ({3: {"a": 0.0, "b": 0.01}}, "expiries.3"),  # far below the expiry before it: calendar
    ({0: {"expiry": "2026-05-01"}}, "expiries.0.expiry"),  # expired
    ({0: {"b": None}}, "expiries.0.b"),
])
def test_a_malformed_or_arbitrageable_desk_surface_is_422_and_changes_nothing(
        client, change, field):
    setup(client)
    surf = truth(100.0, now(client))
    assert client.put("/v1/surfaces/XYZ", json=desk_body(surf)).status_code == 200
    before = client.get("/v1/surfaces/XYZ").json()
    body = desk_body(surf)
    for i, fields in change.items():
        body["expiries"][i].update(fields)
        body["expiries"][i] = {k: v for k, v in body["expiries"][i].items() if v is not None}
    r = client.put("/v1/surfaces/XYZ", json=body)
    assert r.status_code == 422, r.text
    assert r.json()["detail"][0]["field"] == field
    assert client.get("/v1/surfaces/XYZ").json() == before


def test_a_desk_surface_needs_surface_settings_and_a_known_underlying(client):
    setup(client, surface=None)
    body = desk_body(truth(100.0, now(client)))
    assert client.put("/v1/surfaces/XYZ", json=body).status_code == 409
    assert client.put("/v1/surfaces/ABC", json=body).status_code == 404
    assert client.get("/v1/surfaces/XYZ/grid").status_code == 404


def test_an_ssvi_desk_surface_names_its_bad_parameter(client):
    setup(client)
    t = [(expiry_from(d) - now(client)) / YEAR_S for d in DATES]
    body = {"model": "ssvi", "ssvi": {"rho": -0.7, "eta": 1.1, "gamma": 0.4},
            "expiries": [{"expiry": d, "theta": 0.04 * ti} for d, ti in zip(DATES, t, strict=True)]}
    r = client.put("/v1/surfaces/XYZ", json=body)
    assert r.status_code == 200 and r.json()["model"] == "ssvi", r.text
    body["expiries"][2]["theta"] = 0.0001  # below the expiry before it: calendar arbitrage
    r = client.put("/v1/surfaces/XYZ", json=body)
    assert r.status_code == 422 and r.json()["detail"][0]["field"] == "expiries.2.theta"
    body["ssvi"]["eta"] = 3.0
    r = client.put("/v1/surfaces/XYZ", json=body)
    assert r.status_code == 422 and r.json()["detail"][0]["field"] == "ssvi.eta"


@pytest.mark.parametrize("params, field", [({"strikes": "90,-1"}, "strikes.1"),
                                           ({"strikes": "x"}, "strikes.0"),
                                           ({"expiries": "2026-05-01"}, "expiries.0"),
                                           ({"expiries": "tomorrow"}, "expiries.0")])
def test_a_bad_grid_is_422_naming_the_argument(client, params, field):
    setup(client)
    client.put("/v1/surfaces/XYZ", json=desk_body(truth(100.0, now(client))))
    r = client.get("/v1/surfaces/XYZ/grid", params=params)
    assert r.status_code == 422 and r.json()["detail"][0]["field"] == field


# --- refits from quotes -------------------------------------------------------------------------

def fitted(c, version: int = 1) -> dict:
    return wait_for(lambda: (v := c.get("/v1/surfaces/XYZ").json())["version"] >= version
                    and v["source"] == "fit" and v, timeout=20.0)


def test_option_quotes_are_fitted_in_the_background_and_price_the_book(client):
    ts = setup(client)
    client.put("/v1/positions", json=[{"symbol": HELD, "quantity": 10},
                                      {"symbol": occ(DATES[2], False, 90.0), "quantity": 5}])
    ticks = quotes(100.0, ts, noise=0.002)
    r = client.post("/v1/ticks", json=ticks)
    assert r.json()["accepted"] == len(ticks) > 80, r.text
    view = fitted(client)
    fit = view["fit"]
    assert fit["accepted"] and fit["rms_vol_pts"] < 0.25
    assert fit["butterfly"]["ok"] and fit["calendar"]["ok"]
    assert fit["quotes"]["used"] >= len(ticks) - 5
    assert len(view["expiries"]) == 4 and view["locked"] is False
    assert view["expiries"][0]["expiry"].startswith(DATES[0])
    row = held_row(client)
    t = (expiry_from(DATES[2]) - ts) / YEAR_S
    want = truth(100.0, ts).vols(101.25, t, 100.0 * math.exp((RATE - DIV) * t))[0]
    assert row["vol_source"] == "surface"
    assert row["iv"] == pytest.approx(want, abs=0.003)  # within 0.3 vol points
    quoted = next(p for p in client.get("/v1/risk/XYZ").json()["positions"]
                  if p["symbol"] == occ(DATES[2], False, 90.0))
    assert quoted["vol_source"] == "quote"


def test_a_locked_desk_surface_is_not_refitted_until_unlocked(client):
    ts = setup(client)
    desk = truth(100.0, now(client))
    desk = ssvi_surface(SsviParams(-0.5, 0.8, 0.4), list(desk.times),
                        [0.09 * t for t in desk.times], [s.forward for s in desk.slices],
                        spot=100.0)  # 30 % at the money: far from the quotes' smile
    assert client.put("/v1/surfaces/XYZ", json=desk_body(desk)).status_code == 200
    client.post("/v1/ticks", json=quotes(100.0, ts))
    runner = client.app.state.runner
    wait_for(lambda: runner.read.surface("XYZ").new_quotes > 0)
    time.sleep(0.5)  # two refit periods: none may run on a locked surface
    view = client.get("/v1/surfaces/XYZ").json()
    assert view["source"] == "desk" and view["version"] == 1 and view["fit"] is None
    r = client.put("/v1/surfaces/XYZ", json={"locked": False})
    assert r.status_code == 200 and r.json()["locked"] is False
    assert r.json()["expiries"] == view["expiries"]  # the lock alone changed
    after = fitted(client, version=2)
    assert after["expiries"][0]["atm_vol"] < 0.25


def test_a_fit_that_fails_its_checks_is_not_swapped_in_and_is_counted(client):
    ts = setup(client, surface={**SURFACE, "min_new_quotes": 5})
    client.post("/v1/ticks", json=quotes(100.0, ts))
    good = fitted(client)
    # quotes that one SVI smile cannot follow within the RMS limit (2 vol points): a zigzag
    bad = [{"symbol": q["symbol"], "iv": 0.2 + (0.08 if i % 2 else -0.06), "ts": ts + 1}
           for i, q in enumerate(quotes(100.0, ts)) if q["symbol"][6:12] == "261218"]
    assert client.post("/v1/ticks", json=bad).json()["accepted"] == len(bad)
    view = wait_for(lambda: (v := client.get("/v1/surfaces/XYZ").json())["rejected_fits"] and v,
                    timeout=20.0)
    assert view["version"] == good["version"] and view["expiries"] == good["expiries"]
    assert view["fit"]["accepted"] is False and view["fit"]["reasons"]
    assert sum(view["rejected_fits"].values()) >= 1


# --- restart ------------------------------------------------------------------------------------

def test_a_fitted_and_a_desk_surface_survive_a_restart(tmp_path):
    db = str(tmp_path / "journal.db")
    with make_client(db_path=db) as c:
        ts = setup(c)
        c.post("/v1/ticks", json=quotes(100.0, ts))
        fit = fitted(c)
        c.put("/v1/underlyings/ABC", json={"vol": 0.3, "spot": 50.0, "surface": SURFACE})
        desk = truth(50.0, now(c))
        assert c.put("/v1/surfaces/ABC", json=desk_body(desk)).status_code == 200
        abc = c.get("/v1/surfaces/ABC").json()
    with make_client(db_path=db) as c:
        again = c.get("/v1/surfaces/XYZ").json()
        for key in ("expiries", "version", "source", "as_of", "spot", "locked", "fit"):
            assert again[key] == fit[key], key
        assert c.get("/v1/surfaces/ABC").json() == abc
        assert c.get("/v1/underlyings").json()["XYZ"]["surface"]["refit_s"] == 0.2


def test_surfaces_survive_a_restart_from_a_snapshot(tmp_path):
    db = str(tmp_path / "journal.db")
    with make_client(db_path=db, snapshot_every=2) as c:
        setup(c)
        desk = truth(100.0, now(c))
        c.put("/v1/surfaces/XYZ", json=desk_body(desk))
        c.put("/v1/surfaces/XYZ", json={"locked": False})
        c.put("/v1/hedge/policies/XYZ", json={"mode": "off"})  # a snapshot after this
        before = c.get("/v1/surfaces/XYZ").json()
    with make_client(db_path=db, snapshot_every=2) as c:
        assert c.get("/v1/surfaces/XYZ").json() == before


@pytest.mark.parametrize("stickiness", ["strike", "moneyness"])
def test_the_smile_moves_with_spot_as_the_stickiness_says(client, stickiness):
    ts = setup(client, surface={**SURFACE, "stickiness": stickiness})
    client.put("/v1/positions", json=[{"symbol": HELD, "quantity": 10}])
    client.put("/v1/surfaces/XYZ", json=desk_body(truth(100.0, now(client))))
    before = held_row(client)
    client.post("/v1/ticks", json={"symbol": "XYZ", "price": 103.0, "ts": ts + 1})
    wait_for(lambda: client.get("/v1/risk/XYZ").json()["spot"] == 103.0)
    after = held_row(client)
    assert after["vol_source"] == before["vol_source"] == "surface"
    if stickiness == "strike":
        assert after["iv"] == before["iv"]  # its vol stays put
        assert after["smile_delta"] == pytest.approx(after["delta"], rel=1e-12)
    else:  # the smile moves with the forward: on a put skew the strike reads a higher vol
        assert after["iv"] > before["iv"] + 1e-3
        assert after["smile_delta"] > after["delta"]  # dσ/dS = −σ_k F_S / F > 0


def test_a_slow_fit_runs_in_its_worker_thread_and_never_blocks_ticks(client, monkeypatch):
    from app.engine import surfaces

    started, release, threads = threading.Event(), threading.Event(), []
    real = surfaces.run_fit

    def held(job):  # the fit, held in its thread until the test lets it go
        threads.append(threading.current_thread().name)
        started.set()
        release.wait(20)
        return real(job)

    monkeypatch.setattr(surfaces, "run_fit", held)
    ts = setup(client)
    client.put("/v1/positions", json=[{"symbol": HELD, "quantity": 10}])
    client.post("/v1/ticks", json=quotes(100.0, ts))
    assert started.wait(20)
    try:  # while the fit runs: ticks are taken and valued, the surface view answers
        r = client.post("/v1/ticks", json={"symbol": "XYZ", "price": 101.0, "ts": ts + 1})
        assert r.status_code == 200
        wait_for(lambda: client.get("/v1/risk/XYZ").json()["spot"] == 101.0)
        assert held_row(client)["vol_source"] == "flat"
        assert client.get("/v1/surfaces/XYZ").json()["fitting"] is True
    finally:
        release.set()
    view = fitted(client)
    assert threads[0].startswith("surface-fit") and view["fit"]["fit_ms"] > 0
    assert wait_for(lambda: held_row(client)["vol_source"] == "surface")
    assert 'dynhedge_surface_fits_total{outcome="accepted"} 1.0' in client.get("/metrics").text


def test_a_lock_only_put_takes_no_surface_fields(client):
    setup(client)
    r = client.put("/v1/surfaces/XYZ", json={"locked": False, "spot": 100.0})
    assert r.status_code == 422 and r.json()["detail"][0]["field"] == "spot"
    assert client.put("/v1/surfaces/XYZ", json={"locked": True}).json()["locked"] is True
