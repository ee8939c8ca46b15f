"""The gateway: one address in front of N shards (`python -m app gateway`). Stateless: it
holds no book, only where the shards are (from Redis) and a pool of connections to them."""
