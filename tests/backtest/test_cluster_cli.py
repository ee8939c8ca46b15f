"""`python -m app backtest --cluster ray`: a local Ray started for the run (on 127.0.0.1) and
stopped after it, the files bit-identical to the same run in one process with the same seed
and block size."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from app.backtest.cli import main

ARGS = ["--model", "merton", "--paths", "300", "--steps", "20", "--seed", "3",
        "--strategy", "interval:20", "band:300", "none", "--quiet", "--no-plots",
        "--no-frontier"]


@pytest.mark.slow
def test_the_cluster_run_writes_the_serial_runs_figures(tmp_path: Path) -> None:
    import ray

    assert not ray.is_initialized()
    assert main([*ARGS, "--block-size", "100", "--out", str(tmp_path / "serial")]) == 0
    assert main([*ARGS, "--cluster", "ray", "--out", str(tmp_path / "ray"),
                 "--block-size", "100"]) == 0
    assert not ray.is_initialized(), "the local Ray is stopped after the run"
    serial = np.load(tmp_path / "serial" / "paths.npz")
    on_ray = np.load(tmp_path / "ray" / "paths.npz")
    assert serial.files == on_ray.files
    for name in serial.files:
        assert serial[name].tobytes() == on_ray[name].tobytes(), name
    summary = json.loads((tmp_path / "ray" / "summary.json").read_text())
    assert (summary["cluster"], summary["block_size"], summary["blocks"]) == ("ray", 100, 3)
    same = json.loads((tmp_path / "serial" / "summary.json").read_text())
    assert summary["strategies"] == same["strategies"]
