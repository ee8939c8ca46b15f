"""FallbackStdout: stdout while its reader is there, the fallback once it has gone."""

from __future__ import annotations

import io
import os

from app.demo.output import FallbackStdout, is_terminal


def test_lines_go_to_the_primary_stream_flushed_while_its_reader_is_there():
    read_end, write_end = os.pipe()
    with os.fdopen(write_end, "w") as primary, os.fdopen(read_end) as reader:
        fallback = io.StringIO()
        out = FallbackStdout(primary, fallback)
        print("status line", file=out)
        assert os.read(reader.fileno(), 100) == b"status line\n"  # flushed already
        assert fallback.getvalue() == "" and not out.broken


def test_once_the_reader_is_gone_lines_go_to_the_fallback_and_the_primary_to_devnull():
    read_end, write_end = os.pipe()
    os.close(read_end)  # like `tee` ended by the same Ctrl-C
    primary = os.fdopen(write_end, "w")
    fallback = io.StringIO()
    out = FallbackStdout(primary, fallback)
    print("summary", file=out)
    print("after", file=out)
    assert fallback.getvalue() == "summary\nafter\n"
    assert out.broken
    primary.write("still buffered")
    primary.close()  # the flush at exit now succeeds: the descriptor points at /dev/null


def test_a_pipe_is_not_a_terminal():
    read_end, write_end = os.pipe()
    with os.fdopen(write_end, "w") as w, os.fdopen(read_end):
        assert not is_terminal(w)
    assert not is_terminal(io.StringIO())


def test_the_live_board_shows_pnl_per_underlying_and_its_attribution():
    from rich.console import Console

    from app.demo.board import Board

    pnl = {"total": {"pnl": 1234.0, "options": 1500.0, "hedge": -250.0, "fees": 16.0},
           "underlyings": {"XYZ": {
               "pnl": 1234.0, "options": 1500.0, "hedge": -250.0, "fees": 16.0,
               "trade_edge": 50.0, "attribution": {"delta": 900.0, "gamma": 420.0,
                                                   "vega": 0.0, "theta": -35.0,
                                                   "unexplained": 3.0},
               "effectiveness": {"ratio": 0.25}}}}
    console = Console(width=200, record=True)
    console.print(Board("demo").render(None, "running", pnl))
    text = console.export_text()
    assert "P&L today" in text
    row = next(line for line in text.splitlines() if line.strip().startswith("│ XYZ"))
    for figure in ("+1,234", "+1,500", "-250", "+900", "+420", "-35", "+3", "+50", "0.25"):
        assert figure in row, figure
