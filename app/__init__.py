"""dynhedge: real-time risk and dynamic hedging for options market makers."""

__version__ = "0.1.0"
