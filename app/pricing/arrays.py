"""Array types shared by every layer (pricing imports nothing of the app, so they live here)."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]
Int8Array = NDArray[np.int8]

__all__ = ["BoolArray", "FloatArray", "Int8Array"]
