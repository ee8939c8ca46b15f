"""The one JSON parser of the edge (`app.api.json_body`): a key given twice in an object is
refused, whatever the nesting, spacing, escapes or colons inside strings; everything else parses
as the stdlib would; and ordinary tick frames are cleared without a second parse."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.api import json_body
from app.api.json_body import parse_json
from app.errors import InvalidInput


@dataclass(frozen=True)
class Obj:
    pairs: tuple[tuple[str, Any], ...]


leaves = st.one_of(st.integers(-10**6, 10**6), st.floats(allow_nan=False, allow_infinity=False),
                   st.text(alphabet='ab: "\\\u00e9\u2028', max_size=5), st.booleans(), st.none())
trees = st.recursive(
    leaves,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.lists(st.tuples(st.text(alphabet="ab:\u00e9", max_size=2), children), max_size=4)
        .map(lambda pairs: Obj(tuple(pairs)))),
    max_leaves=25)


def render(tree: Any, ascii_only: bool, spaced: bool) -> str:
    colon = " : " if spaced else ":"
    if isinstance(tree, Obj):
        return "{" + ",".join(json.dumps(k, ensure_ascii=ascii_only) + colon
                              + render(v, ascii_only, spaced) for k, v in tree.pairs) + "}"
    if isinstance(tree, list):
        return "[" + ",".join(render(v, ascii_only, spaced) for v in tree) + "]"
    return json.dumps(tree, ensure_ascii=ascii_only)


def repeats_a_key(tree: Any) -> bool:
    if isinstance(tree, Obj):
        keys = [k for k, _ in tree.pairs]
        return len(set(keys)) < len(keys) or any(repeats_a_key(v) for _, v in tree.pairs)
    if isinstance(tree, list):
        return any(repeats_a_key(v) for v in tree)
    return False


@settings(max_examples=400, deadline=None, derandomize=True)
@given(trees, st.booleans(), st.booleans(), st.booleans())
def test_a_repeated_key_is_refused_and_anything_else_parses_as_the_stdlib(
        tree: Any, ascii_only: bool, spaced: bool, as_bytes: bool):
    text = render(tree, ascii_only, spaced)
    raw: bytes | str = text.encode() if as_bytes else text
    if repeats_a_key(tree):
        with pytest.raises(InvalidInput) as caught:
            parse_json(raw)
        assert caught.value.reason == "key given twice in one object"
    else:
        assert parse_json(raw) == json.loads(text)


def test_the_repeated_key_is_named():
    with pytest.raises(InvalidInput) as caught:
        parse_json(b'[{"symbol":"XYZ","ts":"2026-01-02T03:04:05Z","price":1,"price":2}]')
    assert caught.value.field == "price"


def test_tick_frames_are_cleared_without_a_second_parse(monkeypatch: pytest.MonkeyPatch):
    def second_parse(raw: bytes | str) -> Any:
        raise AssertionError("parsed a second time")

    monkeypatch.setattr(json_body, "_parse_checked", second_parse)
    numeric = [{"type": "tick", "symbol": f"U{i:03d}", "ts": 1_772_463_600.0 + i, "price": 100.0}
               for i in range(100)]
    iso = [{"symbol": "XYZ   270219C00098000", "ts": f"2026-03-02T15:00:{i:02d}.5Z",
            "bid": 1.0, "ask": 1.1} for i in range(60)]
    fill = {"exec_id": "E:1", "symbol": "XYZ", "side": "buy", "quantity": 1, "price": 100.0,
            "ts": "2026-03-02T15:00:00+00:00", "expiry": "2027-02-19"}
    for value in (numeric, iso, fill, {"underlying": "XYZ", "order_qty": 5}, []):
        raw = orjson.dumps(value)
        assert parse_json(raw) == value and parse_json(raw.decode()) == value


def test_a_body_nested_deeper_than_orjson_writes_is_still_checked():
    depth = 300  # orjson reads 1024 levels but writes only 254
    assert parse_json("[" * depth + '{"a":"x:y"}' + "]" * depth) is not None
    with pytest.raises(InvalidInput):
        parse_json("[" * depth + '{"a":"x:y","a":"x:y"}' + "]" * depth)
