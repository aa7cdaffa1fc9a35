"""Read the stack samples `bench/load.py --profile DIR` took with py-spy: where a server's time went.

    python bench/samples.py DIR/faqbot-redis-x2-paced-0.txt [more files of one target] [--top 40]

Prints the share of samples under each stage of a message (inclusive: a stage's callees count towards it), then
the functions with the most samples of their own. Samples are of the whole process, every thread, so a share is
of the time the process was sampled busy; py-spy counts the staff log writer's sleeps and its commits' waits on
the disk as busy too, so read that thread's CPU from `bench/load.py`'s CPU column rather than from here. Garbage
collection runs inside whatever Python line allocated, so it has no stage of its own (measure it with
`gc.callbacks`).
"""
from __future__ import annotations

import argparse
import re
import sys
from collections import Counter
from pathlib import Path

# What each stage of a message is, by a function on its stack (the first stage, in this order, that matches wins,
# so a stage nested in another is listed before it).
STAGES = (
    ("triage", r"^triage \(bot/safety\.py"),
    ("retrieval", r"\(bot/retrieval\.py"),
    ("reply building", r"^Responder\._decide \("),
    ("conversation memory (Redis)", r"\(bot/conversations\.py"),
    ("reply cache lookup and reply", r"^Responder\.reply \("),
    ("rate limit (limits)", r"^RateLimiter\.allow \("),
    ("record queueing", r"^Recorder\.(record|vote) \("),
    ("low-confidence check", r"^low_confidence \("),
    ("reply to dict", r"^Reply\.to_dict \("),
    ("emit (encode and send)", r"^(_send|emit) \("),
    ("ask handler (rest)", r"^register_events\.<locals>\.ask \("),
    ("staff log writer thread", r"^Recorder\._run \("),
    ("knowledge reloader", r"\(bot/reloader\.py"),
    ("Socket.IO event dispatch", r"^Server\._handle_event_internal \("),
    ("websocket read and framing", r"\(geventwebsocket/|\(engineio/"),
    ("gevent hub and other", r""),
)
IDLE = re.compile(r"(Hub\.run|_queue\.SimpleQueue\.get|waiter|\.wait \(|select|poll|epoll|sleep)")


def samples(paths: list[Path]):
    """Yield (frames, count) from py-spy raw files, frames outermost first."""
    for path in paths:
        for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
            stack, _, count = line.rpartition(" ")
            if stack and count.isdigit():
                yield stack.split(";"), int(count)


def stage_of(frames: list[str]) -> str:
    for name, pattern in STAGES:
        if pattern and any(re.search(pattern, frame) for frame in frames):
            return name
    return STAGES[-1][0]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("files", nargs="+", type=Path)
    parser.add_argument("--top", type=int, default=30)
    parser.add_argument("--grep", default="", help="only samples with a frame matching this regular expression")
    args = parser.parse_args(argv)
    stages: Counter[str] = Counter()
    own: Counter[str] = Counter()
    total = idle = 0
    for frames, count in samples(args.files):
        if args.grep and not any(re.search(args.grep, f) for f in frames):
            continue
        # The writer thread waiting on its queue, the hub waiting on sockets: not work.
        if frames and IDLE.search(frames[-1]) and "Recorder" not in frames[-1]:
            idle += count
            continue
        total += count
        stages[stage_of(frames)] += count
        own[frames[-1]] += count
    print(f"{total} busy samples ({idle} idle left out) in {len(args.files)} file(s)")
    for name, count in stages.most_common():
        print(f"  {count / total:6.1%}  {name}")
    print(f"functions with the most samples of their own (top {args.top}):")
    for frame, count in own.most_common(args.top):
        print(f"  {count / total:6.1%}  {frame}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
