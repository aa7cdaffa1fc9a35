"""Start a real faqbot server process on a free loopback port for tests, and stop it afterwards."""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

import pytest
import redis

PROJECT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def live_server(*, knowledge: Path | None = None, env: dict | None = None, port: int | None = None,
                command: list[str] | None = None, cwd: Path = PROJECT, base_env: dict | None = None,
                timeout: float = 60.0):
    """Run `run.py serve` (or a given command, in a given folder) and yield its base URL once /api/health answers."""
    port = port or free_port()
    environ = dict(os.environ if base_env is None else base_env, PYTHONUNBUFFERED="1",
                   FAQBOT_RATE_PER_MINUTE="100000")
    if knowledge is not None:
        environ["FAQBOT_KNOWLEDGE"] = str(knowledge)
    environ.update(env or {})
    argv = command or [sys.executable, "run.py", "serve", "--port", str(port)]
    log = open(PROJECT / "tests" / f".server-{port}.log", "w+")
    process = subprocess.Popen(argv, cwd=cwd, env=environ, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        while True:
            if process.poll() is not None:
                log.seek(0)
                raise RuntimeError(f"server exited with {process.returncode}:\n{log.read()[-3000:]}")
            try:
                with urllib.request.urlopen(url + "/api/health", timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("server did not start in time")
            time.sleep(0.05)  # nothing to await but the port: poll it
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()
        Path(log.name).unlink(missing_ok=True)


class RedisServer:
    """A throwaway redis-server on a loopback port: no persistence, stopped and started at will."""

    def __init__(self, port: int | None = None):
        self.port = port or free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        client = redis.Redis(port=self.port, socket_timeout=1)
        deadline = time.monotonic() + 10
        while True:
            try:
                client.ping()
                break
            except redis.ConnectionError:
                if time.monotonic() > deadline or self.process.poll() is not None:
                    raise RuntimeError(f"redis-server did not start on port {self.port}") from None
                time.sleep(0.05)
            finally:
                client.close()

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)
            self.process = None


def need_redis_server() -> None:
    """Skip, saying why, where redis-server is absent; in CI its absence is a failure (.ci/run installs it)."""
    if shutil.which("redis-server"):
        return
    if os.environ.get("CI") == "true":
        pytest.fail("redis-server is not installed, and CI must run the Redis tests (.ci/run installs it)")
    pytest.skip("redis-server is not installed (apt-get install redis-server); CI installs it and runs these tests")


def announce(queue_url: str, text: str) -> subprocess.CompletedProcess:
    """Run `run.py announce` as an operator would."""
    env = dict(os.environ, FAQBOT_MESSAGE_QUEUE=queue_url)
    return subprocess.run([sys.executable, "run.py", "announce", text], cwd=PROJECT, env=env,
                          capture_output=True, text=True, timeout=60)
