"""No password on a command line: the embedded Redis reads its password from a config file only
its owner can read, and refuses clients that do not present it."""

from __future__ import annotations

import stat

import psutil
import pytest
import redis

from tradingfloor.services.embedded import EmbeddedRedis


@pytest.fixture
def server(tmp_path):
    server = EmbeddedRedis(tmp_path / "redis").start()
    yield server
    server.destroy()


def test_password_is_in_a_private_file_not_in_argv(server):
    assert server.process is not None
    cmdline = " ".join(psutil.Process(server.process.pid).cmdline())
    assert server.password not in cmdline
    config = server.data_dir / "redis.conf"
    assert server.password in config.read_text()
    assert stat.S_IMODE(config.stat().st_mode) == 0o600


def test_clients_need_the_password(server):
    with pytest.raises(redis.AuthenticationError):
        redis.Redis(host=server.host, port=server.port).ping()
    client = redis.Redis.from_url(server.url)
    assert client.ping() is True
    client.close()
