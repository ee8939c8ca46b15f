"""Compile (or load from numba's cache) the surface kernels: call once at start-up."""

from __future__ import annotations

from app.surface import _eval_kernel, _fit_kernel

__all__ = ["warm_up"]


def warm_up() -> None:
    """The fit kernel and the three evaluation kernels, one call each."""
    _fit_kernel.warm_up()
    _eval_kernel.warm_up()
