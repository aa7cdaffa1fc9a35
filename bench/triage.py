"""Measure safety triage: recall and precision per kind of message, the misses, and the time per message.

    python bench/triage.py [--knowledge DIR] [--test PATH] [--dev PATH ...] [--leave-out PATH ...] [--misses N]

Each file is JSON Lines of {"kind": KIND, "text": ...}, KIND one of emergency, crisis, warning, sign_question,
advice, article, smalltalk, off_topic. What counts as right for each kind:
  emergency, warning -> an urgent reply;  crisis -> the crisis reply;
  sign_question      -> not urgent, and the reply carries the call-now line;
  advice             -> an advice reply;  article, off_topic -> never urgent;  smalltalk -> a smalltalk reply.

Development splits (default: the shipped corpus bot/defaults/triage-corpus.jsonl, its hard cases, and
tests/data/triage/dev-article.jsonl and every dev-blind-N.jsonl there, the blind splits once they had been read,
and the retrieval splits' patient questions tests/data/retrieval/dev-blind-*.jsonl as article and off_topic hard
negatives) are measured whole, and on their held-out fifth (bot.safetynet.held_out) with a safety net
trained without it: that fifth is what the net's threshold is chosen on and what shows whether the lexicon
generalises. The test split (default tests/data/triage/test.jsonl when it exists) is measured as it is, with its
misses printed. Time is triage alone (lexicon, vital signs and safety net), per message, against normalize() of
the same message as the baseline in the same run.
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script from anywhere, without installing faqbot
    sys.path.insert(0, str(ROOT))

from bot.config import load_settings  # noqa: E402
from bot.engine import build_engine, own_corpus, questions  # noqa: E402
from bot.replies import Responder  # noqa: E402
from bot.safety import triage  # noqa: E402
from bot.safetynet import CORPUS, HARD_CASES, Message, default_corpus, held_out, net_for, read_corpus  # noqa: E402
from bot.text import normalize  # noqa: E402

# The blind splits once they had been read, in the order they were written (dev-blind-1.jsonl, -2, ...).
BLIND = tuple(sorted((ROOT / "tests" / "data" / "triage").glob("dev-blind-*.jsonl"),
                     key=lambda path: int(path.stem.rsplit("-", 1)[1])))
DEV = (CORPUS, ROOT / "tests" / "data" / "triage" / "dev-article.jsonl", HARD_CASES) + BLIND
# The retrieval splits' patient questions (in scope and off topic, none of them urgent): hard negatives that must
# never get an urgent reply, in the words people ask the article about.
QUESTIONS = tuple(sorted((ROOT / "tests" / "data" / "retrieval").glob("dev-blind-*.jsonl")))
QUESTION_KINDS = {"in_scope": "article", "off_topic": "off_topic"}
TEST = ROOT / "tests" / "data" / "triage" / "test.jsonl"
KIND_ORDER = ("emergency", "warning", "crisis", "sign_question", "advice", "article", "smalltalk", "off_topic")
URGENT_KINDS = ("emergency", "warning", "crisis")
# The share of each kind that must come out right (issue #11's bar on a test split); article is "never urgent".
BAR = {"emergency": 0.995, "warning": 0.995, "crisis": 0.995, "sign_question": 0.90, "advice": 0.90,
       "article": 1.0}


def read_questions(path: Path) -> list[Message]:
    """Read a retrieval split ({"kind": "in_scope" | "off_topic", "text", ...}) as article / off_topic messages."""
    messages = []
    with path.open(encoding="utf-8") as lines:
        for number, line in enumerate(lines, 1):
            if line.strip():
                row = json.loads(line)
                messages.append(Message(QUESTION_KINDS[row["kind"]], row["text"], number))
    return messages


def read_split(path: str | Path) -> list[Message]:
    """Read a triage split, or a retrieval split's questions (by where the file is)."""
    path = Path(path).resolve()
    return read_questions(path) if path in QUESTIONS else read_corpus(path)


def outcome(responder: Responder, message: str) -> tuple[str, str]:
    """Return (what the bot did, how) for one message. What: urgent, crisis, advice (+call_now when the advice
    carries the call-now line), call_now (another reply with the line), smalltalk, or other."""
    verdict = triage(message, responder.lexicon)
    if verdict.urgent:
        return ("crisis" if verdict.category == "crisis" else "urgent"), verdict.source
    reply = responder.reply(message)
    line = reply.text.startswith(responder.profile.say("mention"))
    if reply.type == "advice":
        return ("advice+call_now" if line else "advice"), reply.type
    if reply.type == "smalltalk" and not line:  # the way to a person (a smalltalk reply) may carry the line
        return "smalltalk", reply.type
    return ("call_now" if line else "other"), reply.type


def right(kind: str, did: str) -> bool:
    """True when what the bot did is what this kind of message needs."""
    if kind in ("emergency", "warning"):
        return did in ("urgent", "crisis")
    if kind == "crisis":
        return did == "crisis"
    if kind == "sign_question":
        return did in ("call_now", "advice+call_now")
    if kind == "advice":
        return did.startswith("advice")
    if kind == "smalltalk":
        return did == "smalltalk"
    return did not in ("urgent", "crisis")  # article, off_topic


def measure(responder: Responder, messages: list[Message]) -> list[tuple[Message, str, str]]:
    return [(m, *outcome(responder, m.text)) for m in messages]


def report(title: str, results: list[tuple[Message, str, str]], *, misses: int = 0) -> None:
    print(f"\n## {title}: {len(results)} messages")
    by_kind: dict[str, list[bool]] = {}
    for message, did, _ in results:
        by_kind.setdefault(message.kind, []).append(right(message.kind, did))
    print(f"{'kind':<15} {'right':>9} {'recall':>8} {'bar':>6}")
    for kind in KIND_ORDER:
        if kind in by_kind:
            oks = by_kind[kind]
            bar = f"{BAR[kind]:.1%}" if kind in BAR else ""
            flag = "" if kind not in BAR or sum(oks) / len(oks) >= BAR[kind] else "  BELOW BAR"
            print(f"{kind:<15} {sum(oks):>4}/{len(oks):<4} {sum(oks) / len(oks):>8.1%} {bar:>6}{flag}")
    # Precision: of the messages the bot treated one way, the share whose kind needed it.
    wanted = {"urgent": URGENT_KINDS, "crisis": ("crisis",), "call_now": ("sign_question",),
              "advice": ("advice", "sign_question"),
              "smalltalk": ("smalltalk",)}
    print(f"{'bot did':<15} {'of kind':>9} {'precision':>9}")
    for did, kinds in wanted.items():
        got = [m for m, d, _ in results if (d in ("urgent", "crisis") if did == "urgent" else
                                             d.startswith("advice") if did == "advice" else
                                             d in ("call_now", "advice+call_now") if did == "call_now" else d == did)]
        if got:
            ok = sum(m.kind in kinds for m in got)
            print(f"{did:<15} {ok:>4}/{len(got):<4} {ok / len(got):>9.1%}")
    sign_urgent = [m for m, d, _ in results if m.kind == "sign_question" and d in ("urgent", "crisis")]
    signs = by_kind.get("sign_question", [])
    if signs:
        print(f"sign_question made urgent: {len(sign_urgent)}/{len(signs)} = {len(sign_urgent) / len(signs):.1%} "
              f"(bar: at most 5%)")
    net_only = sum(1 for _, d, source in results if source == "safety net")
    print(f"urgent by the safety net alone: {net_only}")
    wrong = [(m, d, s) for m, d, s in results if not right(m.kind, d)]
    if misses and wrong:
        print(f"misses ({len(wrong)}):")
        for message, did, source in wrong[:misses]:
            print(f"  [{message.kind} -> {did} ({source})] {message.text}")


def timing(responder: Responder, texts: list[str]) -> None:
    lexicon = responder.lexicon
    for text in texts[:200]:  # warm the word memo the way a running bot has it warm
        triage(text, lexicon)
    if not texts:
        print("\n## time per message: no messages (give --test FILE, or leave --dev out for the development splits)")
        return
    rounds: list[list[float]] = []
    base = []
    for _ in range(3):
        spent = []
        for text in texts:
            start = time.perf_counter()
            triage(text, lexicon)
            spent.append(time.perf_counter() - start)
            start = time.perf_counter()
            normalize(text)
            base.append(time.perf_counter() - start)
        rounds.append(spent)
    first = sorted(rounds[0])
    # Each message's best of three rounds: what the code costs, without the pauses of a machine shared by others.
    best = sorted(min(times) for times in zip(*rounds))
    baseline = statistics.median(base)
    print(f"\n## time per message (triage only, {len(texts)} messages)")
    for name, spent in (("one round", first), ("best of 3", best)):
        median, p99 = statistics.median(spent), spent[int(len(spent) * 0.99)]
        print(f"{name}: median {median * 1000:.3f} ms, p99 {p99 * 1000:.3f} ms; normalize() alone "
              f"{baseline * 1000:.4f} ms (triage median = {median / baseline:.0f}x normalize)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--knowledge", default=str(ROOT / "knowledge"))
    parser.add_argument("--test", help=f"the test split (default {TEST.relative_to(ROOT)} when it exists)")
    parser.add_argument("--dev", nargs="*", help="development splits (default: the shipped corpus, its hard "
                                                 "cases, tests/data/triage/dev-*.jsonl and the retrieval "
                                                 "questions)")
    parser.add_argument("--leave-out", nargs="*", help="splits to measure whole with the net retrained without them")
    parser.add_argument("--misses", type=int, default=40, help="how many misses of each split to print")
    parser.add_argument("--test-misses", type=int, default=10_000,
                        help="how many misses of the test split to print (0 for a held-out split: totals only)")
    args = parser.parse_args(argv)
    settings = load_settings({"knowledge": args.knowledge}, environ={})
    engine = build_engine(args.knowledge, settings)
    responder = Responder(engine.knowledge, engine.index, engine.lexicon, engine.profile, cache_size=0)
    dev_paths = ([Path(p).resolve() for p in args.dev] if args.dev is not None
                 else [p for p in DEV + QUESTIONS if p.exists()])
    dev = {path: read_split(path) for path in dev_paths}
    everything: list[Message] = []
    for path, messages in dev.items():
        print(f"\n# development split {path.parent.name}/{path.name}: {dict(Counter(m.kind for m in messages))}")
        # The retrieval questions are never trained on: their misses (questions made urgent) are worth reading.
        report(f"dev {path.parent.name}/{path.name} (whole, with the net as shipped: trained on the shipped corpus "
               f"and on the knowledge base's triage-corpus.jsonl, the four fifths of the development data outside "
               f"the held-out fifth)",
               measure(responder, messages), misses=args.misses if path in QUESTIONS else 0)
        everything += messages
    if dev:
        # The net retrained without the held-out fifth: what it (and the lexicon) do on messages not tuned on.
        trained = default_corpus() + (own_corpus(engine.knowledge, []) or [])
        kept = [m for m in trained if not held_out(m.text)]
        lexicon = engine.lexicon.replace(net=net_for(engine.lexicon.replace(net=None), kept,
                                                     questions(engine.knowledge)))
        held = Responder(engine.knowledge, engine.index, lexicon, engine.profile, cache_size=0)
        part = [m for m in everything if held_out(m.text)]
        report("dev held-out fifth (net trained without it)", measure(held, part), misses=args.misses)
        words_only = Responder(engine.knowledge, engine.index, engine.lexicon.replace(net=None), engine.profile,
                               cache_size=0)
        report("dev held-out fifth, lexicon alone (no net)", measure(words_only, part))
        for path, messages in dev.items():
            results = measure(held, [m for m in messages if held_out(m.text)])
            by_kind: dict[str, list[bool]] = {}
            for message, did, _ in results:
                by_kind.setdefault(message.kind, []).append(right(message.kind, did))
            print(f"held-out fifth of {path.parent.name}/{path.name}: " + ", ".join(
                f"{kind} {sum(by_kind[kind])}/{len(by_kind[kind])}" for kind in KIND_ORDER if kind in by_kind))
    for path in args.leave_out or ():
        # The net trained without any message of one split, which is then measured whole: the nearest a
        # development split comes to a fresh blind one.
        split = read_split(path)
        texts = {normalize(m.text) for m in split}
        trained = default_corpus() + (own_corpus(engine.knowledge, []) or [])
        lexicon = engine.lexicon.replace(net=net_for(engine.lexicon.replace(net=None),
                                                     [m for m in trained if normalize(m.text) not in texts],
                                                     questions(engine.knowledge)))
        without = Responder(engine.knowledge, engine.index, lexicon, engine.profile, cache_size=0)
        report(f"{path} whole, the net trained without any of it", measure(without, split), misses=args.misses)
    test_path = Path(args.test) if args.test else (TEST if TEST.exists() else None)
    if test_path is not None:
        test = read_corpus(test_path)
        print(f"\n# test split {test_path}: {dict(Counter(m.kind for m in test))}")
        report(f"test {test_path.name}", measure(responder, test), misses=args.test_misses)
        everything += test
    timing(responder, [m.text for m in everything])
    return 0


if __name__ == "__main__":
    sys.exit(main())
