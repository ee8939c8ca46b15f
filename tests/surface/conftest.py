"""Shared fixtures for the surface tests: compiled kernels and the sample surface."""

from __future__ import annotations

import pytest

from app.pricing import warm_up as warm_up_pricing
from app.surface import Surface, warm_up
from app.surface.sample import sample_surface

SPOT, RATE, DIV = 100.0, 0.03, 0.01


@pytest.fixture(scope="session", autouse=True)
def _compiled_kernels() -> None:
    # Compile/load once so no test's hypothesis deadline includes numba.
    warm_up_pricing()
    warm_up()


@pytest.fixture(scope="session")
def surface() -> Surface:
    return sample_surface(SPOT, RATE, DIV)
