"""Which shard owns what (app.domain.shard), and a shard refusing writes it does not own:
421 naming the owning shard, nothing changed."""

from __future__ import annotations

import zlib

import pytest

from app.domain.shard import Shard, shard_of, shard_stream, underlying_of
from app.settings import Settings
from tests.api.conftest import make_client

CALL = "XYZ   270219C00098000"


def owned_by(index: int, count: int, prefix: str = "U") -> str:
    """The first symbol `prefix0`, `prefix1`, … that shard `index` of `count` owns."""
    return next(f"{prefix}{i}" for i in range(1000) if shard_of(f"{prefix}{i}", count) == index)


def test_the_hash_is_crc32_of_the_utf8_symbol_mod_n_with_known_values():
    # fixed figures any implementation (zlib, Java CRC32, Go crc32.ChecksumIEEE) reproduces
    assert zlib.crc32(b"123456789") == 0xCBF43926  # CRC-32's published check value
    assert zlib.crc32(b"XYZ") == 0x7D29F8ED
    assert (shard_of("XYZ", 2), shard_of("XYZ", 3), shard_of("SPX", 4)) == (
        1, 0x7D29F8ED % 3, zlib.crc32(b"SPX") % 4)
    assert shard_of("ÄPFEL", 5) == zlib.crc32("ÄPFEL".encode()) % 5
    assert {shard_of(f"S{i}", 3) for i in range(60)} == {0, 1, 2}  # it spreads


def test_an_option_belongs_to_its_underlyings_shard():
    assert underlying_of(CALL) == "XYZ"
    assert underlying_of("XYZ270219C00098000") == "XYZ"
    assert underlying_of("SPX") == "SPX"
    assert underlying_of("XYZ   279919C00098000") == "XYZ   279919C00098000"  # not a date


def test_shard_labels_parse_and_bad_ones_are_refused():
    assert Shard.parse("1/3") == Shard(1, 3) and Shard(1, 3).label == "1/3"
    for bad in ("3/3", "-1/2", "1", "a/b", "0/0"):
        with pytest.raises(ValueError, match="shard"):
            Shard.parse(bad)
    with pytest.raises(ValueError):
        Settings(shard="2/2")


def test_each_shard_has_its_own_stream_and_journal():
    assert shard_stream("hedge:signals:stream", 1) == "hedge:signals:stream:{1}"
    s = Settings(shard="1/2")
    assert s.signal_stream_name() == "hedge:signals:stream:{1}"
    assert s.journal_path() == "var/dynhedge-shard-1.db"
    assert Settings(shard="1/2", db_path="x/j.db").journal_path() == "x/j.db"
    assert Settings().signal_stream_name() == "hedge:signals:stream"
    assert Settings().journal_path() == "var/dynhedge.db"


def test_a_shard_from_the_environment(monkeypatch):
    monkeypatch.setenv("HEDGE_SHARD", "0/3")
    monkeypatch.setenv("HEDGE_DB_PATH", "var/mine.db")
    s = Settings()
    assert s.the_shard() == Shard(0, 3) and s.journal_path() == "var/mine.db"


MINE = owned_by(0, 2)
THEIRS = owned_by(1, 2)
MARKET = {"rate": 0.0, "div_yield": 0.0, "vol": 0.2}


def assert_misrouted(r, underlying: str = THEIRS) -> None:
    assert r.status_code == 421, r.text
    body = r.json()
    assert body["shard"] == "1/2" and body["underlying"] == underlying
    assert "shard 1/2" in body["error"]


def test_a_shard_answers_421_naming_the_owner_for_every_write_it_does_not_own():
    with make_client(shard="0/2") as c:
        assert c.put(f"/v1/underlyings/{MINE}", json=MARKET).status_code == 200
        assert_misrouted(c.put(f"/v1/underlyings/{THEIRS}", json=MARKET))
        theirs_call = f"{THEIRS:<6}270219C00098000"
        # a load with one foreign item changes nothing
        r = c.put("/v1/positions", json=[{"symbol": MINE, "quantity": 5},
                                        {"symbol": theirs_call, "quantity": 1}])
        assert_misrouted(r)
        assert c.get("/v1/positions").json() == []
        assert c.put("/v1/positions", json=[{"symbol": MINE, "quantity": 5}]).status_code == 200
        assert_misrouted(c.put(f"/v1/hedge/policies/{THEIRS}", json={"mode": "off"}))
        assert_misrouted(c.post("/v1/hedge/halt", json={"underlying": THEIRS}))
        assert_misrouted(c.post("/v1/hedge/signals",
                                json={"underlying": THEIRS, "order_qty": 5}))
        fill = {"exec_id": "e1", "side": "buy", "quantity": 1, "price": 1.0}
        assert_misrouted(c.post("/v1/fills", json={**fill, "symbol": theirs_call}))
        assert_misrouted(c.post("/v1/fills", json={**fill, "symbol": THEIRS}))
        assert_misrouted(c.post("/v1/fills", json={**fill, "symbol": "FUT1", "type": "future",
                                                   "underlying": THEIRS, "multiplier": 50,
                                                   "expiry": "2027-03-19"}))
        # a single tick: 421; in a list: rejected alone, naming the shard, the rest applied
        assert_misrouted(c.post("/v1/ticks", json={"symbol": THEIRS, "price": 10.0}))
        r = c.post("/v1/ticks", json=[{"symbol": THEIRS, "price": 10.0},
                                      {"symbol": MINE, "price": 100.0},
                                      {"symbol": theirs_call, "iv": 0.3}])
        body = r.json()
        assert body["accepted"] == 1
        assert [x["index"] for x in body["rejected"]] == [0, 2]
        assert all("shard 1/2" in x["error"] for x in body["rejected"])
        # what it owns goes on as before: unknown is 404, its own fill books
        assert c.post("/v1/ticks", json={"symbol": owned_by(0, 2, "Q"), "price": 1.0}
                      ).status_code == 404
        r = c.post("/v1/fills", json={**fill, "exec_id": "e2", "symbol": MINE})
        assert r.status_code == 200 and r.json()["position"]["quantity"] == 6


def test_signal_ids_of_a_shard_carry_its_index():
    with make_client(shard="1/2") as c:
        assert c.put(f"/v1/underlyings/{THEIRS}", json={**MARKET, "spot": 100.0}
                     ).status_code == 200
        r = c.post("/v1/hedge/signals", json={"underlying": THEIRS, "order_qty": 5})
        assert r.status_code == 200, r.text
        assert r.json()["id"].startswith("1-")


def test_an_unsharded_service_owns_everything():
    with make_client() as c:
        for sym in (MINE, THEIRS):
            assert c.put(f"/v1/underlyings/{sym}", json=MARKET).status_code == 200
