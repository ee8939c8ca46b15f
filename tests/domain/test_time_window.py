"""The windows every time in the service lies in (`app.domain.timefmt`): any time from 1970
to before 2200 (expiries), an event's time from 2000 to before 2200; each bound named, and
everything inside can be written out again."""

from __future__ import annotations

import pytest

from app.domain import expiry_from, iso_utc, parse_ts
from app.domain.timefmt import EARLIEST_EVENT_TS, LATEST_TS


@pytest.mark.parametrize("value", [0, 0.0, "1970-01-01T00:00:00Z", "2199-12-31T23:59:59.999999Z",
                                   LATEST_TS - 1e-3, "2026-03-02T10:00:00-05:00"])
def test_times_inside_the_window_are_taken_and_written_out_again(value: float | str):
    ts = parse_ts(value)
    assert iso_utc(ts) is not None


@pytest.mark.parametrize("value", [-1, -1e-9, LATEST_TS, 1e12, 1e300, "2200-01-01T00:00:00Z",
                                   "9999-12-31T23:00:00-12:00", "0001-01-01T00:00:00+01:00",
                                   "1969-12-31T23:59:59Z", float("nan"), float("inf")])
def test_times_outside_the_window_are_refused_naming_the_field(value: float | str):
    with pytest.raises(ValueError, match=r"^when: "):
        parse_ts(value, "when")


def test_an_event_time_starts_in_2000():
    assert parse_ts("2000-01-01T00:00:00Z", earliest=EARLIEST_EVENT_TS) == EARLIEST_EVENT_TS
    for value in (0, EARLIEST_EVENT_TS - 1, "1999-12-31T23:59:59Z"):
        with pytest.raises(ValueError, match="ts: must be from 2000-01-01T00:00:00Z to before "
                                             "2200-01-01T00:00:00Z"):
            parse_ts(value, earliest=EARLIEST_EVENT_TS)


def test_an_expiry_as_a_date_is_in_the_window_too():
    assert iso_utc(expiry_from("2199-12-31")) == "2199-12-31T21:00:00.000000Z"
    for value in ("2200-01-01", "1969-12-31", "9999-12-31", 1e12, "9999-12-31T23:00:00-12:00"):
        with pytest.raises(ValueError, match=r"^expiry: "):
            expiry_from(value)
