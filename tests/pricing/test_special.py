"""The arithmetic exp/log/N(x) used by the kernels against libm and scipy."""

from __future__ import annotations

import math

import numpy as np
from numba import njit
from scipy.special import ndtri

from app.pricing._special import exp_, log_, norm_cdf, norm_ppf_approx


@njit(error_model="numpy")
def _map(fn_id, x):
    out = np.empty_like(x)
    for i in range(x.size):
        if fn_id == 0:
            out[i] = exp_(x[i])
        elif fn_id == 1:
            out[i] = log_(x[i])
        elif fn_id == 2:
            out[i] = norm_cdf(x[i])
        else:
            out[i] = norm_ppf_approx(x[i])
    return out


RNG = np.random.default_rng(0)


def test_exp_within_two_ulp_and_underflows_cleanly():
    x = np.concatenate([RNG.uniform(-708, 709, 200_000), RNG.uniform(-1, 1, 100_000), [0.0]])
    ref = np.exp(x)
    assert (np.abs(_map(0, x) - ref) <= 2 * np.spacing(ref)).all()
    tiny = np.array([-740.0, -745.0, -746.0, -800.0, -np.inf])
    got = _map(0, tiny)
    assert got[-3:].tolist() == [0.0, 0.0, 0.0]
    assert np.allclose(got[:2], np.exp(tiny[:2]), rtol=1e-3, atol=1e-323)


def test_log_within_two_ulp_including_subnormals():
    x = np.concatenate([10 ** RNG.uniform(-300, 300, 200_000), RNG.uniform(0.5, 2, 100_000),
                        [1.0, 5e-324, 2.2e-308, 1.7e308]])
    ref = np.log(x)
    assert (np.abs(_map(1, x) - ref) <= 2 * np.spacing(np.abs(ref)) + 1e-300).all()


def test_norm_cdf_relative_accuracy_in_both_tails():
    x = np.concatenate([RNG.uniform(-37, 37, 50_000), RNG.uniform(-1, 1, 10_000),
                        [0.0, 0.6629, -0.6629, 5.6568, -5.6568]])
    # libm's erfc as the reference: scipy's ndtr is itself off by 2e-13 near x = -32.
    ref = np.array([0.5 * math.erfc(-v / math.sqrt(2.0)) for v in x])
    rel = np.abs(_map(2, x) - ref) / ref
    # exp(-x²/2) of a rounded x carries ~x²/2 ulp: the bound grows with x² in the tails.
    assert (rel < 1e-15 + 2 * x * x * np.finfo(float).eps).all(), rel.max()
    assert rel[np.abs(x) < 5].max() < 8e-15
    assert _map(2, np.array([np.inf, -np.inf])).tolist() == [1.0, 0.0]


def test_norm_ppf_seed_accuracy():
    p = np.concatenate([10 ** RNG.uniform(-300, -1, 10_000), RNG.uniform(0.01, 0.99, 10_000)])
    assert np.max(np.abs(_map(3, p) - ndtri(p)) / np.abs(ndtri(p))) < 2e-9
