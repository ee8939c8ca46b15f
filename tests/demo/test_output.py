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
