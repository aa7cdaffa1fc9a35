"""Start a real faqbot server process on a free loopback port for tests, and stop it afterwards."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def live_server(*, knowledge: Path | None = None, env: dict | None = None, port: int | None = None,
                command: list[str] | None = None, timeout: float = 60.0):
    """Run `run.py serve` (or a given command) and yield its base URL once /api/health answers."""
    port = port or free_port()
    environ = dict(os.environ, PYTHONUNBUFFERED="1", FAQBOT_RATE_PER_MINUTE="100000")
    if knowledge is not None:
        environ["FAQBOT_KNOWLEDGE"] = str(knowledge)
    environ.update(env or {})
    argv = command or [sys.executable, "run.py", "serve", "--port", str(port)]
    log = open(PROJECT / "tests" / f".server-{port}.log", "w+")
    process = subprocess.Popen(argv, cwd=PROJECT, env=environ, stdout=log, stderr=subprocess.STDOUT)
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
            time.sleep(0.2)
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
