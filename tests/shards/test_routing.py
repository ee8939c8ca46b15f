"""The gateway's routing and merging (pure functions of app.gateway.routing)."""

from __future__ import annotations

import pytest

from app.domain.shard import shard_of
from app.gateway.limits import merge_limits
from app.gateway.routing import (
    body_underlying,
    merge_any,
    merge_risk,
    merge_signals,
    merge_ticks,
    next_cursor,
    parse_cursor,
    route,
    signal_shard,
    split_ticks,
)

CALL = "XYZ   270219C00098000"


def test_paths_that_name_an_underlying_go_to_its_owner():
    for path in ("/v1/underlyings/XYZ", "/v1/risk/XYZ", "/v1/hedge/policies/XYZ",
                 "/v1/surfaces/XYZ/grid", "/v1/pnl/XYZ"):
        r = route("GET", path, 3)
        assert (r.kind, r.shard, r.underlying) == ("owner", shard_of("XYZ", 3), "XYZ"), path
    for path in ("/v1/pnl/history", "/v1/risk", "/v1/positions", "/v1/hedge/policies"):
        assert route("GET", path, 3).kind == "every", path
    assert route("POST", "/v1/pnl/roll", 3).kind == "every"
    assert route("POST", "/v1/risk/scenarios", 3).kind == "every"
    assert route("POST", "/v1/ticks", 3).kind == "ticks"
    assert route("PUT", "/v1/positions", 3).kind == "positions"
    assert route("POST", "/v1/fills", 3).kind == "body"
    assert route("POST", "/v1/fills/e1/bust", 3).kind == "find"
    assert route("POST", "/v1/hedge/signals/2-abc/cancel", 3).shard == 2


def test_a_signal_id_names_its_shard():
    assert signal_shard("1-0123abcd", 2) == 1
    assert signal_shard("0123abcd", 2) is None  # an unsharded id
    assert signal_shard("7-0123", 2) is None  # no such shard


def test_a_body_routes_by_its_underlying_or_its_symbols():
    assert body_underlying("/v1/fills", {"symbol": CALL}) == "XYZ"
    assert body_underlying("/v1/fills", {"symbol": "F1", "underlying": "SPX"}) == "SPX"
    assert body_underlying("/v1/hedge/signals", [{"underlying": "A"}, {"underlying": "A"}]) == "A"
    assert body_underlying("/v1/hedge/signals", [{"underlying": "A"}, {"underlying": "B"}]) is None
    assert body_underlying("/v1/hedge/halt", {}) is None


def test_ticks_are_split_by_owner_and_the_answers_keep_the_original_indexes():
    a = next(f"A{i}" for i in range(100) if shard_of(f"A{i}", 2) == 0)
    b = next(f"B{i}" for i in range(100) if shard_of(f"B{i}", 2) == 1)
    items = [{"symbol": b}, {"price": 1}, {"symbol": a}, {"symbol": f"{b:<6}270219C00098000"},
             "junk", {"symbol": a}]
    per, unroutable = split_ticks(items, 2)
    assert per == {0: [2, 5], 1: [0, 3]} and unroutable == [1, 4]
    merged = merge_ticks(
        [(per[0], {"accepted": 1, "rejected": [{"index": 1, "error": "e0"}]}),
         (per[1], {"accepted": 2, "rejected": []})],
        [{"index": 1, "error": "symbol"}, {"index": 4, "error": "body"}])
    assert merged == {"accepted": 3, "rejected": [{"index": 1, "error": "symbol"},
                                                  {"index": 4, "error": "body"},
                                                  {"index": 5, "error": "e0"}]}


def test_risk_totals_add_up_across_shards_and_each_shard_says_how_fresh_it_is():
    t = {"dollar_delta": 1.0, "dollar_gamma": 2.0, "vega": 3.0, "theta": -1.0, "rho": 0.5}
    merged = merge_risk(
        {0: {"as_of": "2026-06-01T14:00:01Z", "total": t, "underlyings": {"B": {"x": 1}}},
         1: {"as_of": "2026-06-01T14:00:02Z", "total": t, "underlyings": {"A": {"x": 2}}}},
        {"0": {"status": "up"}, "1": {"status": "up"}})
    assert merged["total"] == {k: 2 * v for k, v in t.items()}
    more = merge_risk({0: {"total": {**t, "pnl": 5.0}}, 1: {"total": {**t, "pnl": -2.0}}}, {})
    assert more["total"]["pnl"] == 3.0  # figures a shard adds to its total add up too
    assert list(merged["underlyings"]) == ["A", "B"]
    assert merged["as_of"] == "2026-06-01T14:00:02Z" and merged["complete"] is True
    assert merge_risk({}, {"0": {"status": "down"}})["complete"] is False


def test_signals_of_every_shard_are_listed_by_time():
    s0 = [{"id": "0-a", "seq": 1, "ts": "2026-06-01T14:00:01Z"},
          {"id": "0-b", "seq": 2, "ts": "2026-06-01T14:00:03Z"}]
    s1 = [{"id": "1-a", "seq": 1, "ts": "2026-06-01T14:00:02Z"}]
    assert [s["id"] for s in merge_signals([s0, s1], 10)] == ["0-a", "1-a", "0-b"]
    assert len(merge_signals([s0, s1], 2)) == 2


def test_broadcast_reads_concatenate_lists_and_merge_objects():
    assert merge_any([[1], [2, 3]]) == [1, 2, 3]
    assert merge_any([{"A": 1, "loaded": 2, "hedges": {"A": 1}},
                      {"B": 2, "loaded": 3, "hedges": {"B": 2}}]) == {
        "A": 1, "B": 2, "loaded": 5, "hedges": {"A": 1, "B": 2}}


def test_a_signal_cursor_names_a_seq_per_shard_and_the_next_one_skips_nothing():
    assert parse_cursor("5", 3) == [5, 5, 5]
    assert parse_cursor("0:4,2:9", 3) == [4, 0, 9]
    for bad in ("x", "3:1", "0:-1", "0=1"):
        with pytest.raises(ValueError, match="after"):
            parse_cursor(bad, 3)
    s0 = [{"id": "0-a", "seq": 5, "ts": "2026-06-01T14:00:01Z"},
          {"id": "0-b", "seq": 6, "ts": "2026-06-01T14:00:09Z"}]
    s1 = [{"id": "1-a", "seq": 1, "ts": "2026-06-01T14:00:02Z"}]
    listed = merge_signals([s0, s1], 2)  # 0-b is cut: shard 0 resumes after seq 5
    assert next_cursor([4, 0], listed, [s0, s1]) == "0:5,1:1"
    assert next_cursor([6, 1], [], [[], []]) == "0:6,1:1"


def test_limits_route_by_scope_and_a_book_limit_is_listed_once_at_its_worst():
    assert route("PUT", "/v1/limits", 3).kind == "limits"
    assert route("GET", "/v1/limits", 3).kind == "limits"
    assert route("POST", "/v1/limits/firm/ack", 3).kind == "limit_ack"
    book = {"id": "firm", "scope": "book", "value": 1.0}
    listed = merge_limits({
        0: [{**book, "state": "warn"}, {"id": "u0", "scope": "U0", "state": "ok"}],
        1: [{**book, "state": "breach", "value": 2.0}],
        2: [{**book, "state": "ok"}, {"id": "u2", "scope": "U2", "state": "breach"}],
    })
    assert [x["id"] for x in listed] == ["firm", "u0", "u2"]
    firm = listed[0]
    assert firm["state"] == "breach" and firm["value"] == 2.0
    assert firm["shards"] == {"0": "warn", "1": "breach", "2": "ok"}
    assert "shards" not in listed[1]
