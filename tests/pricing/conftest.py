"""Shared fixtures for the pricing tests: a seeded random option book spanning the domain."""

from __future__ import annotations

import numpy as np
import pytest

from app.pricing import warm_up


@pytest.fixture(scope="session", autouse=True)
def _compiled_kernels() -> None:
    # Compile/load once so no test's timing or hypothesis deadline includes numba.
    warm_up()


def random_book(n: int, seed: int) -> dict[str, np.ndarray]:
    """n options: spot 1..1000, strikes up to 100x away, 5 minutes..30 years, vol 1%..500%."""
    rng = np.random.default_rng(seed)
    spot = 10 ** rng.uniform(0.0, 3.0, n)
    return {
        "is_call": rng.random(n) < 0.5,
        "spot": spot,
        "strike": spot * np.exp(rng.uniform(-4.6, 4.6, n)),
        "t": 10 ** rng.uniform(np.log10(5 / 525_600), np.log10(30.0), n),
        "vol": 10 ** rng.uniform(-2.0, np.log10(5.0), n),
        "rate": rng.uniform(-0.02, 0.10, n),
        "div_yield": rng.uniform(0.0, 0.08, n),
    }


@pytest.fixture(scope="session")
def book() -> dict[str, np.ndarray]:
    return random_book(2500, seed=20240601)
