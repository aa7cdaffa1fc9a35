"""Start a real faqbot server process on a free loopback port for tests, and stop it afterwards."""
from __future__ import annotations

import json
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


def health(url: str) -> dict:
    """Return a live server's /api/health, which answers 200 while the bot answers, degraded or not."""
    with urllib.request.urlopen(url + "/api/health", timeout=5) as response:
        assert response.status == 200, "health stays 200 while the bot answers"
        return json.load(response)


def wait_health(url: str, check, timeout: float = 20.0) -> dict:
    """Wait until check(health) holds; return that health."""
    deadline = time.monotonic() + timeout
    while True:
        body = health(url)
        if check(body):
            return body
        assert time.monotonic() < deadline, f"health never got there: {body}"
        time.sleep(0.05)


def wait_written(url: str) -> dict:
    """Wait until a server's staff log holds nothing unwritten; return its health."""
    return wait_health(url, lambda h: h["records"]["waiting"] == 0)


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


def postgres_bin(name: str) -> str | None:
    """Find a PostgreSQL program: on PATH (here /usr/local/bin), or where Debian's postgresql puts it."""
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"), key=lambda p: p.parent.parent.name)
    return str(candidates[-1]) if candidates else None


def need_postgres() -> None:
    """Skip, saying why, where PostgreSQL is absent; in CI its absence is a failure (.ci/run installs it)."""
    if postgres_bin("initdb") and postgres_bin("pg_ctl"):
        return
    if os.environ.get("CI") == "true":
        pytest.fail("PostgreSQL is not installed, and CI must run the PostgreSQL tests (.ci/run installs it)")
    pytest.skip("PostgreSQL is not installed (apt-get install postgresql); CI installs it and runs these tests")


class PostgresServer:
    """A throwaway PostgreSQL cluster in a temporary directory, on a free loopback port, trust auth.

    PostgreSQL refuses to run as root: as root, the cluster belongs to `nobody`.
    """

    def __init__(self):
        import tempfile
        self.port = free_port()
        self.root = Path(tempfile.mkdtemp(prefix="faqbot-pg-"))
        self.data = self.root / "data"
        self.user: dict = {}
        if os.geteuid() == 0:
            import pwd
            nobody = pwd.getpwnam("nobody")
            os.chown(self.root, nobody.pw_uid, nobody.pw_gid)
            self.user = {"user": nobody.pw_uid, "group": nobody.pw_gid, "extra_groups": []}

    def _run(self, argv: list[str], **kwargs) -> subprocess.CompletedProcess:
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LC_ALL": "C", "HOME": str(self.root)}
        return subprocess.run(argv, env=env, cwd=self.root, capture_output=True, text=True, timeout=120,
                              **self.user, **kwargs)

    def start(self) -> None:
        made = self._run([postgres_bin("initdb"), "-D", str(self.data), "-U", "faqbot", "--auth=trust",
                          "-E", "UTF8", "--no-sync"])
        if made.returncode:
            raise RuntimeError(f"initdb failed:\n{made.stdout}\n{made.stderr}")
        options = f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.root} -c fsync=off"
        started = self._run([postgres_bin("pg_ctl"), "-D", str(self.data), "-o", options, "-l",
                             str(self.root / "server.log"), "-w", "-t", "60", "start"])
        if started.returncode:
            log = (self.root / "server.log").read_text(errors="replace") if (self.root / "server.log").exists() else ""
            raise RuntimeError(f"pg_ctl start failed:\n{started.stdout}\n{started.stderr}\n{log}")

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://faqbot@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str) -> str:
        """Create an empty database and return its URL."""
        import psycopg
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def stop(self) -> None:
        if self.data.exists():
            self._run([postgres_bin("pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w", "stop"])
        shutil.rmtree(self.root, ignore_errors=True)
