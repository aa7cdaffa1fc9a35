"""Measure what one question costs the chat's Responder in CPU time, stage by stage, and check its replies.

    python bench/cost.py [--knowledge DIR] [--rounds N] [--save PATH] [--against PATH]

Questions: the knowledge base's regression messages and, for the shipped one, the patient questions of
tests/data/retrieval/dev-blind-*.jsonl. Each is answered by a Responder with its reply cache off (what the serving
bench's saturation point pays), one at a time, timed with time.process_time(): the whole reply, and apart triage
alone and retrieval alone (Index.search as the reply calls it), with normalize() of the same message as the
baseline in the same run. Pin it to one core (`taskset -c 1`) on a shared machine.

It also prints the process's memory after importing and its peak (VmHWM) once the engine is built and every
question answered: the shipped bot's peak memory.

--save writes every reply (its public JSON and its unrounded confidence) to PATH; --against compares them with a
file saved before a change and exits 1 when any differs, so a change meant to cost less can show that it answers
the same.
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script from anywhere, without installing faqbot
    sys.path.insert(0, str(ROOT))

from bot import one_numeric_thread  # noqa: E402
from bot.engine import build_engine  # noqa: E402
from bot.replies import MAX_SUGGESTIONS  # noqa: E402
from bot.safety import triage  # noqa: E402
from bot.text import normalize  # noqa: E402

DEV = sorted((ROOT / "tests" / "data" / "retrieval").glob("dev-blind-*.jsonl"))


def questions(knowledge, shipped: bool) -> list[str]:
    """Return the messages to answer: regression cases, and the shipped knowledge base's patient questions."""
    texts = [case.message for case in knowledge.regression]
    if shipped:
        for path in DEV:
            texts += [json.loads(line)["text"] for line in path.read_text(encoding="utf-8").splitlines() if line]
    return texts


def cpu_ms(function, texts: list[str], rounds: int) -> list[float]:
    """Return each text's CPU time through function, the smallest of rounds runs (the least disturbed)."""
    best = [float("inf")] * len(texts)
    for _ in range(rounds):
        for n, text in enumerate(texts):
            started = time.process_time()
            function(text)
            best[n] = min(best[n], (time.process_time() - started) * 1000)
    return best


def summary(values: list[float]) -> str:
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return f"median {statistics.median(values):.3f}  mean {statistics.mean(values):.3f}  p95 {p95:.3f}"


def memory_mb(field: str) -> float | None:
    """Return a figure of this process's memory from /proc/self/status (VmRSS, VmHWM: its peak), in MB."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024  # kB
    except OSError:
        pass
    return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--knowledge", type=Path, default=ROOT / "knowledge")
    parser.add_argument("--rounds", type=int, default=3, help="times each question is asked (the least is kept)")
    parser.add_argument("--save", type=Path, help="write every reply to this JSON file")
    parser.add_argument("--against", type=Path, help="compare every reply with a file written by --save")
    args = parser.parse_args(argv)
    imported = memory_mb("VmRSS")
    one_numeric_thread()  # as a serving process runs (create_app)
    engine = build_engine(args.knowledge)
    responder = engine.responder
    responder.cache_size = 0  # every question decided afresh
    texts = questions(engine.knowledge, args.knowledge.resolve() == (ROOT / "knowledge").resolve())
    replies = []
    for text in texts:  # warms the per-word memories as a running bot's would be
        reply = responder.reply(text)
        replies.append({"message": text, **reply.to_dict(), "unrounded": reply.confidence})
    if imported is not None:
        print(f"memory: {imported:.0f} MB after importing, peak {memory_mb('VmHWM'):.0f} MB after building the "
              f"engine and answering every question once")
    stages = {
        "normalize (baseline)": normalize,
        "triage": lambda text: triage(text, responder.lexicon),
        "retrieval": lambda text: engine.index.search(text, limit=MAX_SUGGESTIONS + 1, cutoff=0.0),
        "whole reply": responder.reply,
    }
    print(f"{len(texts)} questions, CPU ms per question ({args.rounds} rounds, least kept):")
    for name, function in stages.items():
        print(f"  {name:22s} {summary(cpu_ms(function, texts, args.rounds))}")
    if args.save:
        args.save.write_text(json.dumps(replies, indent=1) + "\n", encoding="utf-8")
    if args.against:
        before = json.loads(args.against.read_text(encoding="utf-8"))
        shown = lambda reply: {k: v for k, v in reply.items() if k != "unrounded"}  # noqa: E731
        changed = [(old, new) for old, new in zip(before, replies) if shown(old) != shown(new)]
        if len(before) != len(replies):
            print(f"{len(before)} replies saved, {len(replies)} now: not the same questions")
            return 1
        drift = max((abs(old["unrounded"] - new["unrounded"]) for old, new in zip(before, replies)), default=0.0)
        print(f"replies against {args.against}: {len(changed)} of {len(replies)} differ; "
              f"largest change of an unrounded confidence {drift:.1e}")
        for old, new in changed[:10]:
            print(f"  {old['message']!r}: {old['type']} {old['entry_id']} {old['confidence']} -> "
                  f"{new['type']} {new['entry_id']} {new['confidence']}")
        return 1 if changed else 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
