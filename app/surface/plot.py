"""A PNG of quotes against the fitted smile, one panel per expiry (matplotlib, no pyplot)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from app.surface.fit import SurfaceFit

__all__ = ["plot_fit"]


def plot_fit(fit: SurfaceFit, path: str | Path, title: str | None = None) -> Path:
    """Write `path` (PNG): per expiry, the used quotes (dots), the rejected ones that have a
    vol (crosses) and the fitted smile (line) against strike, vols in %. Returns the path.
    ValueError when the fit has no surface."""
    from matplotlib.figure import Figure

    if fit.surface is None:
        raise ValueError("fit: has no surface to plot (no expiry could be fitted)")
    surface = fit.surface
    q = fit.quotes.quotes
    sel = fit.quotes
    n = len(surface.slices)
    cols = min(n, 4)
    rows = math.ceil(n / cols)
    fig = Figure(figsize=(4.0 * cols, 3.2 * rows), dpi=100, layout="constrained")
    axes = fig.subplots(rows, cols, squeeze=False)
    for ax, s in zip(axes.flat, surface.slices, strict=False):
        here = q.t == s.t
        used = here & sel.used
        rejected = here & ~sel.used & np.isfinite(sel.iv)
        ks = sel.k[here]
        lo = min(float(ks.min()) if ks.size else -0.3, -0.05) - 0.05
        hi = max(float(ks.max()) if ks.size else 0.3, 0.05) + 0.05
        k_line = np.linspace(lo, hi, 200)
        vol = surface.smile(k_line, np.full(k_line.size, s.t))[0]
        ax.plot(s.forward * np.exp(k_line), 100.0 * vol, color="tab:blue", lw=1.5, label="fit")
        ax.plot(q.strike[used], 100.0 * sel.iv[used], "o", ms=3, color="black",
                label="quotes used")
        if rejected.any():
            ax.plot(q.strike[rejected], 100.0 * sel.iv[rejected], "x", ms=5, color="tab:red",
                    label="rejected")
        ax.axvline(s.forward, color="grey", lw=0.5, ls=":")
        label = s.expiry or f"t = {s.t:.3f} y"
        ax.set_title(f"{label} (F = {s.forward:.4g})", fontsize=9)
        ax.set_xlabel("strike", fontsize=8)
        ax.set_ylabel("implied vol (%)", fontsize=8)
        ax.tick_params(labelsize=7)
    for ax in list(axes.flat)[n:]:
        ax.set_visible(False)
    axes.flat[0].legend(fontsize=7)
    status = "accepted" if fit.accepted else "rejected: " + "; ".join(fit.reasons)
    fig.suptitle(f"{title + ' - ' if title else ''}{fit.model.upper()} fit, RMS "
                 f"{fit.rms_vol_pts:.3f} vol pts, {status}", fontsize=10)
    out = Path(path)
    fig.savefig(out, format="png")
    return out
