"""A three-master Redis Cluster of the test's own on loopback ports (`redis-server
--cluster-enabled yes` ×3, then `redis-cli --cluster create … --cluster-replicas 0`), started
by the test and stopped after it, by pid."""

from __future__ import annotations

import shutil
import socket
import subprocess
from pathlib import Path

import redis

from tests.faults.harness import _end, wait_until


def _free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def cluster_ports(n: int) -> list[int]:
    """n ports p whose cluster bus port p + 10000 is free too."""
    out: list[int] = []
    while len(out) < n:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            p = int(s.getsockname()[1])
        if p + 10000 < 65536 and p not in out and _free(p + 10000):
            out.append(p)
    return out


class RedisCluster:
    def __init__(self, workdir: Path, masters: int = 3) -> None:
        self.dir = workdir
        self.dir.mkdir(parents=True, exist_ok=True)
        self.ports = cluster_ports(masters)
        self.procs: list[subprocess.Popen[bytes]] = []

    @property
    def url(self) -> str:
        """What HEDGE_REDIS_URL says for a cluster: any node, marked `?cluster=1`."""
        return f"redis://127.0.0.1:{self.ports[0]}/0?cluster=1"

    def client(self) -> redis.RedisCluster:
        return redis.RedisCluster(host="127.0.0.1", port=self.ports[0], socket_timeout=2.0)

    def start(self) -> None:
        for p in self.ports:
            node = self.dir / str(p)
            node.mkdir(exist_ok=True)
            log = (node / "redis.log").open("ab")
            self.procs.append(subprocess.Popen(
                [shutil.which("redis-server") or "redis-server", "--bind", "127.0.0.1",
                 "--port", str(p), "--cluster-enabled", "yes", "--cluster-config-file",
                 str(node / "nodes.conf"), "--save", "", "--appendonly", "no", "--dir",
                 str(node), "--protected-mode", "no"],
                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL))
            log.close()
        for p in self.ports:
            with redis.Redis(port=p, socket_timeout=0.5) as c:
                wait_until(c.ping, 10, f"cluster node {p} answering PING")
        subprocess.run(
            ["redis-cli", "--cluster", "create", *(f"127.0.0.1:{p}" for p in self.ports),
             "--cluster-replicas", "0", "--cluster-yes"],
            check=True, capture_output=True, timeout=30)

        def ok() -> bool:
            for p in self.ports:
                with redis.Redis(port=p, socket_timeout=0.5) as c:
                    if c.cluster("info").get("cluster_state") != "ok":
                        return False
            return True

        wait_until(ok, 20, "cluster_state:ok on every node", 0.1)

    def close(self) -> None:
        for proc in self.procs:
            _end(proc, 5.0)
