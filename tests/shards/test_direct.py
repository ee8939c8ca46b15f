"""The feed handler's helper: which shard owns a symbol and its address from the registry."""

from __future__ import annotations

import os
import uuid

import orjson
import pytest
import redis

from app.domain.shard import shard_of
from app.gateway.direct import ShardDirectory, ShardDown

pytestmark = pytest.mark.redis
REDIS_URL = os.environ.get("HEDGE_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


def test_the_directory_gives_the_owners_address_and_says_when_it_is_down():
    prefix = f"direct-test:{uuid.uuid4().hex[:8]}:shard"
    r = redis.Redis.from_url(REDIS_URL)
    try:
        owner = shard_of("XYZ", 2)
        r.set(f"{prefix}:{{{owner}}}", orjson.dumps({"url": "http://10.0.0.7:8001/"}), px=5000)
        d = ShardDirectory(REDIS_URL, 2, prefix)
        assert d.shard_for("XYZ   270219C00098000") == owner
        assert d.shard_for("FUT1", underlying="XYZ") == owner
        assert d.url_for("XYZ") == "http://10.0.0.7:8001"
        with pytest.raises(ShardDown, match=f"shard {1 - owner}/2"):
            d.url_of(1 - owner)
        d.close()
    finally:
        for key in r.scan_iter(match=f"{prefix}:*"):
            r.delete(key)
        r.close()
