"""Benchmark harness for `python -m app bench`: one module per section (see cli.SECTIONS).

Each section module exposes `run(quick: bool) -> list[dict]`, rows shaped like
{section, name, n, value, unit, reference, ratio} (extra keys are kept in the JSON).
"""
