"""A Sentinel-managed Redis, named by one URL, serves as the cache and the broker.
Runs a real Redis and a real Sentinel on loopback, stopped by PID afterwards."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from service.cache.redis_client import celery_broker, connect, parse_sentinel_url
from service.settings import Settings, SettingsError
from worker.celery_app import make_celery


def test_a_sentinel_url_names_its_hosts_master_database_and_password() -> None:
    target = parse_sentinel_url("redis+sentinel://:s%40cret@a:26379,b:26380/2?master=cache")
    assert target.hosts == (("a", 26379), ("b", 26380))
    assert (target.master, target.db, target.password) == ("cache", 2, "s@cret")
    with pytest.raises(SettingsError, match="master"):
        parse_sentinel_url("redis+sentinel://a:26379/0")


def test_the_broker_url_is_translated_for_kombu() -> None:
    url, options = celery_broker("redis+sentinel://a:26379,b:26380/1?master=jobs")
    assert url == "sentinel://a:26379/1;sentinel://b:26380/1"
    assert options == {"master_name": "jobs"}
    assert celery_broker("redis://h:6379/1") == ("redis://h:6379/1", {})


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait(port: int) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise AssertionError(f"nothing listens on {port}")


@pytest.fixture
def sentinel_url(tmp_path: Path) -> Iterator[str]:
    if not shutil.which("redis-server"):
        pytest.skip("redis-server is not installed")
    master_port, sentinel_port = _free_port(), _free_port()
    conf = tmp_path / "sentinel.conf"
    conf.write_text(
        f"port {sentinel_port}\nbind 127.0.0.1\ndir {tmp_path}\n"
        f"sentinel monitor cache 127.0.0.1 {master_port} 1\n"
    )
    processes = [
        subprocess.Popen(
            ["redis-server", "--port", str(master_port), "--bind", "127.0.0.1", "--save", ""],
            stdout=subprocess.DEVNULL,
        ),
        subprocess.Popen(["redis-server", str(conf), "--sentinel"], stdout=subprocess.DEVNULL),
    ]
    try:
        _wait(master_port)
        _wait(sentinel_port)
        yield f"redis+sentinel://127.0.0.1:{sentinel_port}/3?master=cache"
    finally:
        for process in processes:
            process.terminate()
            process.wait(timeout=10)


def test_the_cache_and_the_broker_reach_redis_through_sentinel(sentinel_url: str) -> None:
    client = connect(sentinel_url)
    client.set("rolecall-sentinel-check", "yes")
    assert client.get("rolecall-sentinel-check") == b"yes"

    celery = make_celery(Settings(broker_url=sentinel_url))
    with celery.connection_for_write() as connection:
        connection.ensure_connection(max_retries=2)
        assert connection.connected
