"""The journal's records of surfaces: settings, a desk's surface and a refit decode to the
same commands (and surfaces that read the same vols)."""

from __future__ import annotations

import numpy as np

from app.engine.command_codec import decode, encode
from app.engine.commands import SetSurface, SetUnderlying, SurfaceConfig, SurfaceFitted
from app.surface.sample import sample_surface

T0 = 1_780_322_400.0


def same_vols(a, b) -> bool:
    k = np.linspace(60.0, 140.0, 17)
    t = np.full(k.size, 0.4)
    return bool(np.array_equal(a.vols(k, t, 100.0), b.vols(k, t, 100.0)))


def test_settings_round_trip_and_unknown_fields_are_ignored():
    cmd = SetUnderlying("XYZ", 0.03, 0.01, 0.2, T0,
                        surface=SurfaceConfig("ssvi", "strike", 5.0, 7, 30.0))
    kind, body = encode(cmd)
    assert decode(kind, body) == cmd
    body["surface"]["from_a_later_version"] = 1
    assert decode(kind, body) == cmd
    assert decode(*encode(SetUnderlying("XYZ", 0.0, 0.0, 0.2, T0))).surface is None


def test_a_desk_surface_and_a_refit_round_trip():
    ssvi = sample_surface()
    desk = SetSurface("XYZ", ssvi, T0, locked=True)
    back = decode(*encode(desk))
    assert isinstance(back, SetSurface) and back.locked and back.as_of == T0
    assert back.surface is not None and back.surface.model == "ssvi"
    assert back.surface.ssvi == ssvi.ssvi and same_vols(back.surface, ssvi)
    assert decode(*encode(SetSurface("XYZ", None, T0, locked=False))) == SetSurface(
        "XYZ", None, T0, locked=False)
    fit = SurfaceFitted("XYZ", ssvi, T0, T0 + 1, {"accepted": True, "rms_vol_pts": 0.1})
    again = decode(*encode(fit))
    assert isinstance(again, SurfaceFitted) and again.report == fit.report
    assert again.wall == T0 + 1 and same_vols(again.surface, ssvi)
