"""Live reload benchmark: how long a knowledge edit takes to reach patients, on a real server.

    python bench/reload.py [--edits 10] [--server run|gunicorn] [--interval 0.5]

Copies the shipped knowledge base to a temporary directory, starts faqbot on it (as bench/load.py does), then
edits the first entry's answer again and again, each time asking the entry's question over HTTP every 20 ms
until the new answer comes back. Prints the time from the file being replaced to the first reply carrying the
edit (median, p95, max), and checks that a broken edit afterwards changes nothing. Issue 4's bar: within 2 s.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
from load import PROJECT, server  # noqa: E402 - the same production start as the load benchmark

POLL_SECONDS = 0.02
GIVE_UP_SECONDS = 10.0


ORIGINAL: dict[Path, str] = {}


def set_first_answer(knowledge: Path, answer: str) -> str:
    """Put a new first sentence before the first entry's shipped answer the way an editor saves (write aside, then
    rename); return its question. The rest of the answer is kept so that the edit keeps its regression questions
    right: an edit that breaks one is held back, never live."""
    path = knowledge / "entries.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    original = ORIGINAL.setdefault(knowledge, data["entries"][0]["answer"])
    data["entries"][0]["answer"] = f"{answer} {original}"
    aside = path.with_suffix(".saving")
    aside.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100), encoding="utf-8")
    aside.replace(path)
    return data["entries"][0]["question"]


def ask(url: str, message: str) -> str:
    request = urllib.request.Request(url + "/api/ask", data=json.dumps({"message": message}).encode(),
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=5) as response:
        return json.loads(response.read())["text"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--edits", type=int, default=10)
    parser.add_argument("--server", choices=("run", "gunicorn"), default="run")
    parser.add_argument("--interval", type=float, default=None, help="FAQBOT_RELOAD_SECONDS (default: faqbot's)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="faqbot-reload-") as tmp:
        knowledge = Path(tmp) / "knowledge"
        shutil.copytree(PROJECT / "knowledge", knowledge)
        os.environ["FAQBOT_KNOWLEDGE"] = str(knowledge)
        if args.interval:
            os.environ["FAQBOT_RELOAD_SECONDS"] = str(args.interval)
        question = set_first_answer(knowledge, "Answer number 0.")
        took: list[float] = []
        with server("faqbot", how=args.server, queue=None, core=None, data_dir=Path(tmp)) as (url, _):
            for number in range(1, args.edits + 1):
                time.sleep(0.7)  # apart from the last edit, as a person saves
                answer = f"Answer number {number}."
                edited = time.monotonic()
                set_first_answer(knowledge, answer)
                while not ask(url, question).startswith(answer):
                    if time.monotonic() - edited > GIVE_UP_SECONDS:
                        raise SystemExit(f"edit {number} was not live after {GIVE_UP_SECONDS:.0f} s")
                    time.sleep(POLL_SECONDS)
                took.append(time.monotonic() - edited)
            (knowledge / "entries.yaml").write_text("entries: [\n", encoding="utf-8")
            time.sleep(2.0)
            unchanged = ask(url, question).startswith(answer)
    took.sort()
    p95 = took[min(len(took) - 1, int(0.95 * len(took)))]
    print(f"server={args.server} edits={len(took)} interval={os.environ.get('FAQBOT_RELOAD_SECONDS', 'default')}")
    print(f"edit to live: median {statistics.median(took):.2f} s, p95 {p95:.2f} s, max {took[-1]:.2f} s")
    print(f"broken edit afterwards: {'last good version kept' if unchanged else 'ANSWER CHANGED'}")
    return 0 if unchanged else 1


if __name__ == "__main__":
    sys.exit(main())
