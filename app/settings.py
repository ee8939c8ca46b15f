"""Configuration from HEDGE_* environment variables (CONTRACT §6): one settings object,
built at start-up and passed down — never read at import time."""

from __future__ import annotations

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from app.bus_names import (
    DEFAULT_ALERT_CHANNEL,
    DEFAULT_ALERT_STREAM,
    DEFAULT_SIGNAL_CHANNEL,
    DEFAULT_SIGNAL_STREAM,
)
from app.domain.shard import Shard, shard_stream

SCOPES = ("read", "trade", "admin")
DEFAULT_MAX_QUANTITY = 1e9  # units of an instrument: the largest fill, position or order


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="HEDGE_", extra="ignore")

    host: str = "127.0.0.1"
    port: int = 8000
    redis_url: str | None = None
    db_path: str = "var/dynhedge.db"
    api_keys: str | None = None
    signal_channel: str = DEFAULT_SIGNAL_CHANNEL
    signal_stream: str = DEFAULT_SIGNAL_STREAM
    alert_channel: str = DEFAULT_ALERT_CHANNEL
    alert_stream: str = DEFAULT_ALERT_STREAM
    stream_maxlen: int = 100_000
    max_body_bytes: int = 1_048_576
    max_clock_skew_s: float = 5.0
    allowed_origins: str | None = None
    rate_limit: float | None = None
    redis_timeout_ms: int = 250
    header_timeout_s: float = Field(10.0, gt=0)
    body_timeout_s: float = Field(10.0, gt=0)  # the whole body, from the end of the headers
    max_quantity: float = Field(DEFAULT_MAX_QUANTITY, gt=0, allow_inf_nan=False)
    snapshot_every: int = Field(10_000, ge=1)
    outbox_size: int = 10_000
    ws_queue_size: int = Field(1_000, ge=256)  # ≥ one egress batch, or bursts drop readers
    risk_push_hz: float = Field(10.0, gt=0)
    # the last tick per underlying is written at most this long after it arrived (and at a
    # clean stop): a restart after kill -9 restores prices no older than this
    tick_checkpoint_s: float = Field(1.0, gt=0)
    # the P&L day closes by itself when event time crosses this local time (HH:MM in
    # pnl_roll_tz); unset: only POST /v1/pnl/roll closes it
    pnl_roll_at: str | None = "16:00"
    pnl_roll_tz: str = "America/New_York"
    log_level: str = "info"
    # scale-out (docs/contract.md "Scaling out"): this process is shard K of N; the gateway
    # routes to N shards found in Redis under `registry_prefix`
    shard: str | None = None  # `K/N`; unset: one process owns every underlying
    shard_url: str | None = None  # the address the shard registers (default http://host:port)
    shard_lease_s: float = Field(3.0, gt=0)  # a registration not renewed this long expires
    registry_prefix: str = "hedge:shard"
    risk_prefix: str = "hedge:risk"  # a shard's last risk figures per underlying, in Redis
    shards: int | None = Field(None, ge=1)  # the gateway: how many shards (N)
    gateway_timeout_s: float = Field(5.0, gt=0)  # the gateway's wait for a shard's answer

    @field_validator("redis_url", "api_keys", "allowed_origins", "shard", "shard_url",
                     "pnl_roll_at", mode="before")
    @classmethod
    def _blank_is_unset(cls, v: object) -> object:
        return None if isinstance(v, str) and not v.strip() else v

    @field_validator("pnl_roll_tz")
    @classmethod
    def _zone(cls, v: str) -> str:
        from zoneinfo import ZoneInfo

        try:
            ZoneInfo(v)
        except (KeyError, ValueError):
            raise ValueError(f"unknown time zone {v!r}") from None
        return v

    @field_validator("pnl_roll_at")
    @classmethod
    def _hh_mm(cls, v: str | None) -> str | None:
        if v is not None:
            hh, sep, mm = v.strip().partition(":")
            if not (sep and hh.isdigit() and mm.isdigit() and int(hh) < 24 and int(mm) < 60):
                raise ValueError(f"{v!r} is not HH:MM")
        return v

    def key_scopes(self) -> dict[str, frozenset[str]]:
        """`key:scope+scope,…` → {key: scopes}; `admin` implies every scope."""
        out: dict[str, frozenset[str]] = {}
        if not self.api_keys:
            return out
        for item in self.api_keys.split(","):
            item = item.strip()
            if not item:
                continue
            key, _, scopes = item.partition(":")
            names = {s.strip() for s in scopes.split("+") if s.strip()} or {"read"}
            unknown = names - set(SCOPES)
            if unknown:
                raise ValueError(f"HEDGE_API_KEYS: unknown scope(s) {sorted(unknown)}")
            if "admin" in names:
                names = set(SCOPES)
            out[key.strip()] = frozenset(names)
        return out

    @field_validator("shard")
    @classmethod
    def _shard_shape(cls, v: str | None) -> str | None:
        return None if v is None else Shard.parse(v).label

    def the_shard(self) -> Shard | None:
        return None if self.shard is None else Shard.parse(self.shard)

    def signal_stream_name(self) -> str:
        """The stream this process appends to: shard K's own when sharded."""
        shard = self.the_shard()
        return self.signal_stream if shard is None else shard_stream(self.signal_stream,
                                                                      shard.index)

    def journal_path(self) -> str:
        """A shard left on the default journal gets its own file (`var/dynhedge-shard-K.db`):
        two shards must never share one."""
        shard = self.the_shard()
        if shard is None or "db_path" in self.model_fields_set or self.db_path == ":memory:":
            return self.db_path
        stem, dot, ext = self.db_path.rpartition(".")
        return f"{stem}-shard-{shard.index}.{ext}" if dot else f"{self.db_path}-shard-{shard.index}"

    def origins(self) -> frozenset[str]:
        if not self.allowed_origins:
            return frozenset()
        items = self.allowed_origins.split(",")
        return frozenset(o.strip().rstrip("/") for o in items if o.strip())
