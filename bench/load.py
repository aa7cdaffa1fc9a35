"""Load benchmark: N real Socket.IO clients (or HTTP clients) against faqbot and a bare echo server, on loopback.

Every target is started fresh by this script, served the production way (gunicorn, one gevent worker; or
`--server run` for `python run.py serve`), pinned to core 0 while this load generator runs on core 1 (taskset),
and stopped afterwards. Figures are printed per target, and as a ratio of the first target of the same run.

    ulimit -n 65536   # for thousands of sockets
    python bench/load.py --mode paced --clients 500 --rate 1 --duration 30
    python bench/load.py --mode closed --clients 200 --duration 20 --targets echo,faqbot
    python bench/load.py --mode connect --clients 2000
    python bench/load.py --mode closed --clients 200 --targets faqbot,faqbot-redis
    python bench/load.py --mode closed --clients 200 --targets faqbot,faqbot-redis-x2
    python bench/load.py --mode paced --clients 500 --targets echo-redis-x2,faqbot-redis-x2,faqbot-redis-x2-nocache
    python bench/load.py --mode closed --clients 200 --targets echo-redis-x2,faqbot-redis-x2,faqbot-redis-x2-nocache
    python bench/load.py --mode http --clients 50 --duration 15 --targets echo,faqbot
    python bench/load.py --suite shared                 # issue 13's three runs on the shared path, in order
    python bench/load.py --mode closed --targets faqbot-redis-x2 --profile /tmp/prof   # py-spy, then:
    python bench/samples.py /tmp/prof/faqbot-redis-x2-closed-*.txt

"CPU ms/msg" is the servers' CPU time (every process and thread: user + system) per reply while the load ran,
and "Redis" the redis-server's: unlike latency it hardly moves when other work takes the cores, so compare it
before and after a change on a busy machine.

Bounded: at most 5,000 clients and 120 s per phase; addresses are 127.0.0.1 only.
"""
from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import psutil
import socketio
import yaml

PROJECT = Path(__file__).resolve().parent.parent
MAX_CLIENTS = 5_000
MAX_SECONDS = 120.0
REPLY_TIMEOUT = 10.0
SERVER_CORE, LOAD_CORE = 0, 1
# --questions six: the fixed six of the first runs. --questions regression (the default): every message of the
# shipped knowledge base's regression file in order (202: answers, off-topic, urgent, advice, smalltalk), so the
# mix of reply types is the regression file's and the reply cache only helps from the second round on.
QUESTIONS = [
    "how many patients went into remission",
    "what are living drugs",
    "what is base editing",
    "hello",
    "who took part in the trial",
    "what are the side effects",
]
# A target's name says how it runs: "-redis" on a Redis message queue (for faqbot that is the shared path:
# conversation memory and rate limits in Redis too), "-x2" two processes (one per core, clients alternating, one
# staff database), "-nocache" with the reply cache off (every message costs a whole answer).
TARGETS = ("echo", "echo-redis-x2", "faqbot", "faqbot-nocache", "faqbot-x2", "faqbot-redis", "faqbot-redis-x2",
           "faqbot-redis-x2-nocache")
# Each client comes from its own address (X-Forwarded-For behind a trusted proxy), so each has its own budget, as
# patients do; the budget is high enough never to refuse a message here.
RATE_PER_MINUTE = "100000"


def regression_messages() -> list[str]:
    """Every message of the shipped knowledge base's regression questions, in file order."""
    with open(PROJECT / "knowledge" / "regression.yaml", encoding="utf-8") as handle:
        return [case["message"] for case in yaml.safe_load(handle)["questions"]]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


EVERY_CORE = -1


def pinned(argv: list[str], core: int | None) -> list[str]:
    """Prefix a command with taskset when the machine has it and the core exists (EVERY_CORE: all of them)."""
    if core is None or not shutil.which("taskset") or core >= (os.cpu_count() or 1):
        return argv
    return ["taskset", "-c", f"0-{(os.cpu_count() or 1) - 1}" if core == EVERY_CORE else str(core)] + argv


def wait_healthy(url: str, process: subprocess.Popen, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}")
        try:
            with urllib.request.urlopen(url + "/api/health", timeout=2):
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"{url} did not start in time")


@contextmanager
def redis_queue():
    """A throwaway redis-server on loopback, without persistence."""
    if not shutil.which("redis-server"):
        raise SystemExit("redis-server is not installed (apt-get install redis-server)")
    port = free_port()
    process = subprocess.Popen(pinned(["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                                       "--appendonly", "no"], SERVER_CORE),
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        time.sleep(0.5)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        process.terminate()
        process.wait(timeout=10)


@contextmanager
def server(kind: str, *, how: str, queue: str | None, core: int | None, data_dir: Path, cache: bool = True):
    """Start one server process (faqbot or echo) and yield (url, psutil process)."""
    port = free_port()
    env = dict(os.environ, PYTHONUNBUFFERED="1", FAQBOT_DATA_DIR=str(data_dir), FAQBOT_TRUST_PROXY="true",
               FAQBOT_RATE_PER_MINUTE=RATE_PER_MINUTE)
    if not cache:
        env["FAQBOT_REPLY_CACHE"] = "0"
    if queue:
        env["FAQBOT_MESSAGE_QUEUE"] = queue
    if how == "gunicorn":
        app = ("bot:create_app()" if kind == "faqbot"
               else f"echo_server:create_app(message_queue={queue!r})" if queue else "echo_server:create_app()")
        argv = [sys.executable, "-m", "gunicorn", "-k", "geventwebsocket.gunicorn.workers.GeventWebSocketWorker",
                "-w", "1", "--worker-connections", "10000", "-b", f"127.0.0.1:{port}", "--log-level", "warning"]
        if kind == "echo":
            argv += ["--pythonpath", str(PROJECT / "bench")]
        argv.append(app)
    else:
        argv = ([sys.executable, "run.py", "serve", "--port", str(port)] if kind == "faqbot"
                else [sys.executable, "bench/echo_server.py", "--port", str(port)] +
                (["--message-queue", queue] if queue else []))
    log = open(data_dir / f"{kind}-{port}.log", "w")
    process = subprocess.Popen(pinned(argv, core), cwd=PROJECT, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(url, process)
        yield url, psutil.Process(process.pid)
        if kind == "faqbot":  # say why, when a process was not all well after the load
            try:
                with urllib.request.urlopen(url + "/api/health", timeout=15) as response:
                    health = json.load(response)
            except OSError as exc:
                health = {"status": f"no answer to /api/health: {exc}"}
            if health["status"] != "ok":
                print(f"{'':<16} {url} health after the load: {health}", flush=True)
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def cpu_seconds(processes: list[psutil.Process]) -> float:
    """CPU time (user + system) the server processes and their workers have used so far."""
    total = 0.0
    for root in processes:
        for proc in [root] + root.children(recursive=True):
            try:
                times = proc.cpu_times()
            except psutil.Error:
                continue
            total += times.user + times.system
    return total


def workers(processes: list[psutil.Process]) -> list[psutil.Process]:
    """The processes that answer: gunicorn's workers (its master only forks and watches), else the server itself."""
    found = []
    for root in processes:
        found += root.children(recursive=True) or [root]
    return found


@contextmanager
def profiled(processes: list[psutil.Process], directory: Path | None, label: str):
    """Sample the answering processes with py-spy while the load runs (--profile): one raw stack file each."""
    if directory is None:
        yield
        return
    spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    directory.mkdir(parents=True, exist_ok=True)
    spies = []
    for n, proc in enumerate(workers(processes)):
        out = directory / f"{label}-{n}.txt"
        spies.append((out, subprocess.Popen([spy, "record", "--pid", str(proc.pid), "--format", "raw", "--rate",
                                             "200", "--nonblocking", "--output", str(out)],
                                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)))
    try:
        yield
    finally:
        for _, spy_process in spies:
            spy_process.send_signal(2)  # SIGINT: py-spy writes what it sampled and stops
        for out, spy_process in spies:
            try:
                spy_process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                spy_process.kill()
            print(f"{'':<16} profile: {out}", flush=True)


def rss_mb(processes: list[psutil.Process]) -> float:
    """Resident memory of the server processes and their workers, in MB."""
    total = 0
    for root in processes:
        for proc in [root] + root.children(recursive=True):
            try:
                total += proc.memory_info().rss
            except psutil.Error:
                pass
    return total / 1e6


@dataclass
class Stats:
    latencies: list[float] = field(default_factory=list)
    errors: dict[str, int] = field(default_factory=dict)
    connected: int = 0
    sent: int = 0

    def error(self, kind: str) -> None:
        self.errors[kind] = self.errors.get(kind, 0) + 1


class Client:
    """One chat: a python-socketio AsyncClient over websocket, timing each ask until its reply."""

    def __init__(self, stats: Stats, address: str = "127.0.0.1"):
        self.stats = stats
        self.address = address
        self.sio = socketio.AsyncClient(reconnection=False)
        self.pending: asyncio.Queue[float] = asyncio.Queue()
        self.done = asyncio.Event()
        self.sio.on("reply", self._reply)
        self.sio.on("error", self._error)
        # Its own conversation id, as the chat page keeps one per tab (web/chat.js): the conversation's memory is
        # then Redis's on the shared path, whichever process answers.
        self.conversation = uuid.uuid4().hex

    async def _reply(self, data) -> None:
        if self.pending.empty():
            self.stats.error("unexpected reply")
            return
        self.stats.latencies.append(time.perf_counter() - self.pending.get_nowait())
        self.done.set()

    async def _error(self, data) -> None:
        self.stats.error(f"error event: {data.get('error', data) if isinstance(data, dict) else data}")
        if not self.pending.empty():
            self.pending.get_nowait()
        self.done.set()

    async def connect(self, url: str) -> bool:
        try:
            await self.sio.connect(url, transports=["websocket"], wait_timeout=30,
                                   headers={"X-Forwarded-For": self.address})
        except Exception as exc:  # noqa: BLE001 - a failed connect is a figure, not a crash
            self.stats.error(f"connect: {type(exc).__name__}")
            return False
        self.stats.connected += 1
        return True

    async def ask(self, message: str) -> None:
        self.done.clear()
        self.pending.put_nowait(time.perf_counter())
        self.stats.sent += 1
        await self.sio.emit("ask", {"message": message, "conversation": self.conversation})

    async def ask_and_wait(self, message: str) -> None:
        await self.ask(message)
        try:
            await asyncio.wait_for(self.done.wait(), REPLY_TIMEOUT)
        except asyncio.TimeoutError:
            self.stats.error("timeout")
            while not self.pending.empty():
                self.pending.get_nowait()

    async def close(self) -> None:
        if self.sio.connected:
            await self.sio.disconnect()


async def connect_all(urls: list[str], n: int, stats: Stats, concurrency: int = 100) -> list[Client]:
    """Connect n clients, spread over the servers, at most `concurrency` handshakes at a time."""
    gate = asyncio.Semaphore(concurrency)
    clients = [Client(stats, f"10.{i // 65536 % 256}.{i // 256 % 256}.{i % 256}") for i in range(n)]
    targets = itertools.cycle(urls)

    async def one(client: Client, url: str) -> None:
        async with gate:
            await client.connect(url)

    await asyncio.gather(*(one(c, next(targets)) for c in clients))
    return [c for c in clients if c.sio.connected]


async def socket_phase(urls: list[str], mode: str, n: int, rate: float, duration: float,
                       servers: list[psutil.Process], messages: list[str], profile: Path | None = None,
                       label: str = "", store: list[psutil.Process] = ()) -> dict:
    stats = Stats()
    rss_before = rss_mb(servers)
    started = time.perf_counter()
    clients = await connect_all(urls, n, stats)
    connect_seconds = time.perf_counter() - started
    rss_connected = rss_mb(servers)
    stop = time.perf_counter() + duration
    questions = itertools.cycle(messages)

    async def closed(client: Client) -> None:
        while time.perf_counter() < stop:
            await client.ask_and_wait(next(questions))

    async def paced(client: Client, offset: float) -> None:
        await asyncio.sleep(offset)
        next_at = time.perf_counter()
        while next_at < stop:
            await client.ask(next(questions))
            next_at += 1.0 / rate
            await asyncio.sleep(max(0.0, next_at - time.perf_counter()))

    async def once(client: Client) -> None:
        await client.ask_and_wait(next(questions))

    with profiled(servers, profile, label):
        cpu_before, store_before = cpu_seconds(servers), cpu_seconds(store)
        t0 = time.perf_counter()
        if mode == "closed":
            await asyncio.gather(*(closed(c) for c in clients))
        elif mode == "paced":
            await asyncio.gather(*(paced(c, i / max(1, len(clients)) / rate) for i, c in enumerate(clients)))
            await asyncio.sleep(min(REPLY_TIMEOUT, 2.0))  # let the last replies land
        else:  # connect: hold every socket, ask once each
            await asyncio.sleep(min(duration, 5.0))
            await asyncio.gather(*(once(c) for c in clients))
        elapsed = time.perf_counter() - t0
        cpu, store_cpu = cpu_seconds(servers) - cpu_before, cpu_seconds(store) - store_before
    missing = stats.sent - len(stats.latencies) - sum(v for k, v in stats.errors.items() if k.startswith("error"))
    if mode == "paced" and missing > 0:
        stats.errors["no reply"] = missing
    rss_after = rss_mb(servers)
    await asyncio.gather(*(c.close() for c in clients))
    return summary(stats, elapsed, n=n, connect_seconds=connect_seconds,
                   rss=(rss_before, rss_connected, rss_after), cpu=cpu, store_cpu=store_cpu)


async def http_phase(urls: list[str], n: int, duration: float, servers: list[psutil.Process],
                     messages: list[str]) -> dict:
    stats = Stats()
    rss_before = rss_mb(servers)
    cpu_before = cpu_seconds(servers)
    stop = time.perf_counter() + duration
    questions = itertools.cycle(messages)
    targets = itertools.cycle(urls)
    connector = aiohttp.TCPConnector(limit=n)
    async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=REPLY_TIMEOUT)) as s:
        async def worker(url: str) -> None:
            while time.perf_counter() < stop:
                t = time.perf_counter()
                stats.sent += 1
                try:
                    async with s.post(url + "/api/ask", json={"message": next(questions)}) as response:
                        await response.read()
                        if response.status != 200:
                            stats.error(f"HTTP {response.status}")
                            continue
                except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
                    stats.error(type(exc).__name__)
                    continue
                stats.latencies.append(time.perf_counter() - t)
        t0 = time.perf_counter()
        await asyncio.gather(*(worker(next(targets)) for _ in range(n)))
        elapsed = time.perf_counter() - t0
    stats.connected = n
    return summary(stats, elapsed, n=n, connect_seconds=0.0, rss=(rss_before, rss_before, rss_mb(servers)),
                   cpu=cpu_seconds(servers) - cpu_before)


def summary(stats: Stats, elapsed: float, *, n: int, connect_seconds: float, rss: tuple, cpu: float,
            store_cpu: float = 0.0) -> dict:
    lat = sorted(stats.latencies)

    def pct(p: float) -> float:
        return lat[min(len(lat) - 1, int(p / 100 * len(lat)))] * 1000 if lat else float("nan")

    return {"clients": n, "connected": stats.connected, "connect_s": connect_seconds, "sent": stats.sent,
            "replies": len(lat), "errors": sum(stats.errors.values()), "error_kinds": dict(stats.errors),
            "msg_s": len(lat) / elapsed if elapsed else 0.0, "p50": pct(50), "p95": pct(95), "p99": pct(99),
            "mean": statistics.fmean(lat) * 1000 if lat else float("nan"),
            "rss_start": rss[0], "rss_connected": rss[1], "rss_end": rss[2],
            # The servers' CPU time per reply while the load ran (every process, every thread): unlike latency,
            # it hardly moves when other work on the machine takes the cores.
            "cpu_ms": cpu * 1000 / len(lat) if lat else float("nan"),
            "redis_ms": store_cpu * 1000 / len(lat) if lat else float("nan")}


def per_socket_kb(result: dict) -> float:
    """Server memory each connected socket added, in KB (connecting is all that happened in between)."""
    connected = result["connected"]
    return (result["rss_connected"] - result["rss_start"]) * 1000 / connected if connected else float("nan")


def run_target(target: str, args: argparse.Namespace, workdir: Path) -> dict:
    kind = "echo" if target.startswith("echo") else "faqbot"
    processes = 2 if "-x2" in target else 1
    with ExitStack() as stack:
        queue = stack.enter_context(redis_queue()) if "redis" in target else None
        store = [c for c in psutil.Process().children() if "redis" in c.name()]
        # One process: pinned to its own core. Two processes: one per core, so they share with the generator.
        cores = [SERVER_CORE] if processes == 1 else [0, 1]
        if args.unpinned:  # every core, not this generator's one that a child would inherit
            cores = [EVERY_CORE] * processes
        started = [stack.enter_context(server(kind, how=args.server, queue=queue, core=cores[i],
                                              data_dir=workdir, cache=not target.endswith("-nocache")))
                   for i in range(processes)]
        urls = [url for url, _ in started]
        procs = [proc for _, proc in started]
        messages = QUESTIONS if args.questions == "six" else regression_messages()
        if args.mode == "http":
            return asyncio.run(http_phase(urls, args.clients, args.duration, procs, messages))
        return asyncio.run(socket_phase(urls, args.mode, args.clients, args.rate, args.duration, procs,
                                        messages, args.profile, f"{target}-{args.mode}", store))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mode", choices=("paced", "closed", "connect", "http"), default="closed")
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--rate", type=float, default=1.0, help="asks per second per client (paced mode)")
    parser.add_argument("--duration", type=float, default=20.0, help="seconds of load per target")
    parser.add_argument("--targets", default="echo,faqbot",
                        help=f"comma-separated, in order; ratios are to the first: {', '.join(TARGETS)}")
    parser.add_argument("--server", choices=("gunicorn", "run"), default="gunicorn",
                        help="gunicorn with one gevent worker (production) or `python run.py serve`")
    parser.add_argument("--questions", choices=("regression", "six"), default="regression",
                        help="what clients ask, in rotation: the shipped regression messages, or six fixed ones")
    parser.add_argument("--unpinned", action="store_true",
                        help="start the servers without taskset, as the README's gunicorn line runs them (numpy and "
                             "scipy then see every core); the load generator stays on its core")
    parser.add_argument("--profile", type=Path, default=None, metavar="DIR",
                        help="sample each answering process with py-spy during the load, one raw stack file per "
                             "process in DIR (read them with bench/samples.py)")
    parser.add_argument("--suite", choices=("shared",), default=None,
                        help="shared: issue 13's runs on the shared path one after another (paced 500 x 1/s, closed "
                             "200, connect 2,000, each against echo-redis-x2), the machine's load printed before "
                             "each; --mode, --clients, --duration and --targets are then the suite's")
    args = parser.parse_args(argv)
    runs = [args]
    if args.suite == "shared":
        shared = "echo-redis-x2,faqbot-redis-x2,faqbot-redis-x2-nocache"
        runs = [argparse.Namespace(**{**vars(args), **change}) for change in (
            {"mode": "paced", "clients": 500, "rate": 1.0, "duration": 20.0, "targets": shared},
            {"mode": "closed", "clients": 200, "duration": 15.0, "targets": shared},
            {"mode": "connect", "clients": 2000, "targets": "echo-redis-x2,faqbot-redis-x2"})]
    for run in runs:
        targets = [t.strip() for t in run.targets.split(",") if t.strip()]
        unknown = [t for t in targets if t not in TARGETS]
        if unknown or not targets:
            parser.error(f"unknown target(s) {unknown}; choose from {TARGETS}")
        if not 1 <= run.clients <= MAX_CLIENTS or not 0 < run.duration <= MAX_SECONDS or run.rate <= 0:
            parser.error(f"clients 1..{MAX_CLIENTS}, duration 0..{MAX_SECONDS} s, rate above 0")
    if shutil.which("taskset") and (os.cpu_count() or 1) > LOAD_CORE:
        os.sched_setaffinity(0, {LOAD_CORE})
    for run in runs:
        bench(run, [t.strip() for t in run.targets.split(",") if t.strip()])
    return 0


def bench(args: argparse.Namespace, targets: list[str]) -> None:
    """Run every target with one configuration and print its table."""
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"{time.strftime('%H:%M UTC', time.gmtime())}, load average {load} (1, 5, 15 min)")
    print(f"mode={args.mode} clients={args.clients} rate={args.rate}/s duration={args.duration}s "
          f"questions={args.questions} server={args.server} cores={os.cpu_count()} "
          f"taskset={'yes' if shutil.which('taskset') and not args.unpinned else 'no'}")
    print(f"{'target':<16} {'conn':>6} {'sent':>7} {'replies':>7} {'errors':>6} {'msg/s':>8} {'p50 ms':>7} "
          f"{'p95 ms':>7} {'p99 ms':>8} {'RSS MB start/conn/end':>22} {'KB/sock':>7} {'ratio':>6} "
          f"{'CPU ms/msg':>10} {'Redis':>6}")
    first = None
    with tempfile.TemporaryDirectory(prefix="faqbot-load-") as tmp:
        for target in targets:
            result = run_target(target, args, Path(tmp))
            first = first or result["msg_s"]
            ratio = result["msg_s"] / first if first else float("nan")
            print(f"{target:<16} {result['connected']:>6} {result['sent']:>7} {result['replies']:>7} "
                  f"{result['errors']:>6} {result['msg_s']:>8.0f} {result['p50']:>7.1f} {result['p95']:>7.1f} "
                  f"{result['p99']:>8.1f} {result['rss_start']:>7.0f}/{result['rss_connected']:.0f}/"
                  f"{result['rss_end']:.0f}{'':>4} {per_socket_kb(result):>7.0f} {ratio:>6.2f} "
                  f"{result['cpu_ms']:>10.2f} {result['redis_ms']:>6.2f}", flush=True)
            if result["error_kinds"]:
                print(f"{'':<16} errors: {result['error_kinds']}")
            if args.mode == "connect":
                print(f"{'':<16} connected {result['connected']}/{result['clients']} in "
                      f"{result['connect_s']:.1f} s; server memory {result['rss_end']:.0f} MB")
    print(flush=True)


if __name__ == "__main__":
    sys.exit(main())
