"""Markets: reproducible from a seed, martingale under the pricing drift, and replay."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from app.backtest.markets import (
    HestonParams,
    JumpParams,
    gbm_paths,
    heston_paths,
    merton_paths,
    read_ticks,
    replay_paths,
    time_grid,
)
from app.domain.units import SECONDS_PER_YEAR
from app.errors import InvalidInput

START = 1_735_689_600.0
END = START + SECONDS_PER_YEAR
TIMES = time_grid(START, END, 50)


def test_same_seed_same_paths_other_seed_other_paths() -> None:
    a = gbm_paths(np.random.default_rng(1), 100.0, 0.03, 0.2, TIMES, 100)
    b = gbm_paths(np.random.default_rng(1), 100.0, 0.03, 0.2, TIMES, 100)
    c = gbm_paths(np.random.default_rng(2), 100.0, 0.03, 0.2, TIMES, 100)
    np.testing.assert_array_equal(a.spot, b.spot)
    assert not np.array_equal(a.spot, c.spot)
    assert a.spot.shape == (51, 100) and a.vol is None


@pytest.mark.parametrize("model", ["gbm", "merton", "heston"])
def test_every_model_grows_at_its_drift_on_average(model: str) -> None:
    rng = np.random.default_rng(4)
    n = 40_000
    if model == "gbm":
        paths = gbm_paths(rng, 100.0, 0.03, 0.2, TIMES, n)
    elif model == "merton":
        paths = merton_paths(rng, 100.0, 0.03, 0.2, TIMES, n, JumpParams())
    else:
        paths = heston_paths(rng, 100.0, 0.03, 0.2, TIMES, n, HestonParams(), END)
    final = paths.spot[-1]
    assert final.mean() == pytest.approx(100 * np.exp(0.03), rel=3 * final.std() / 100 / 200)
    assert np.all(paths.spot > 0)


def test_gbm_realizes_its_vol() -> None:
    paths = gbm_paths(np.random.default_rng(5), 100.0, 0.0, 0.35, TIMES, 20_000)
    log_returns = np.diff(np.log(paths.spot), axis=0)
    realized = log_returns.std() * np.sqrt(SECONDS_PER_YEAR / (TIMES[1] - TIMES[0]))
    assert realized == pytest.approx(0.35, rel=0.01)


def test_merton_jumps_fatten_the_left_tail() -> None:
    gbm = gbm_paths(np.random.default_rng(6), 100.0, 0.0, 0.2, TIMES, 40_000)
    jumps = merton_paths(np.random.default_rng(6), 100.0, 0.0, 0.2, TIMES, 40_000,
                         JumpParams(intensity=3.0, mean=-0.15, std=0.05))
    r_gbm = np.diff(np.log(gbm.spot), axis=0).ravel()
    r_jump = np.diff(np.log(jumps.spot), axis=0).ravel()
    assert np.quantile(r_jump, 0.0005) < 2 * np.quantile(r_gbm, 0.0005)


def test_heston_marks_the_book_at_a_moving_vol_that_ends_at_the_spot_variance() -> None:
    paths = heston_paths(np.random.default_rng(7), 100.0, 0.0, 0.2, TIMES, 2_000,
                         HestonParams(kappa=1.5, xi=0.8, rho=-0.7), END)
    assert paths.vol is not None
    np.testing.assert_allclose(paths.vol[0], 0.2)
    assert paths.vol[-1].std() > 0.02
    assert np.all(paths.vol > 0)
    # spot and vol move against each other (rho < 0)
    corr = np.corrcoef(np.diff(np.log(paths.spot), axis=0).ravel(),
                       np.diff(paths.vol, axis=0).ravel())[0, 1]
    assert corr < -0.3


def test_replay_reads_a_tick_file_and_starts_from_the_books_spot(tmp_path: Path) -> None:
    f = tmp_path / "ticks.csv"
    f.write_text("ts,symbol,price\n"
                 "2025-01-01T00:00:10Z,XYZ,100.5\n"
                 f"{START + 5},ABC,50\n"
                 f"{START + 20},XYZ,101\n"
                 f"{START - 5},XYZ,99\n")
    tape = read_ticks(f)
    paths = replay_paths(tape, "XYZ", START, 100.0)
    np.testing.assert_array_equal(paths.times, [START, START + 10, START + 20])
    np.testing.assert_array_equal(paths.spot[:, 0], [100.0, 100.5, 101.0])


@pytest.mark.parametrize("body", ["ts,symbol\n1,XYZ\n", "ts,symbol,price\n1,XYZ,-3\n",
                                  "ts,symbol,price\nsoon,XYZ,3\n", "ts,symbol,price\n"])
def test_a_bad_tick_file_is_refused_with_its_line(tmp_path: Path, body: str) -> None:
    f = tmp_path / "ticks.csv"
    f.write_text(body)
    with pytest.raises(InvalidInput) as err:
        read_ticks(f)
    assert err.value.field == "replay"
