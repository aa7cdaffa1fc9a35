"""CPU time of each stage of a message on the shared path, measured inside one process as a gevent worker runs it.

    python bench/stages.py [--rounds 3]

Starts a throwaway redis-server, builds the app the way a gunicorn worker does (gevent's monkey patching first,
FAQBOT_MESSAGE_QUEUE on that Redis, so conversation memory and the rate limit are in Redis), then times each stage
alone over every message of the shipped regression file, as CPU time of this process (`time.process_time`), so
other work on the machine hardly moves the figures. What the socket layer costs (event dispatch, websocket
framing) is not here: `bench/load.py` gives the servers' CPU per message, echo's included.
"""
from __future__ import annotations

from gevent import monkey

monkey.patch_all()

import argparse  # noqa: E402 - after the patching, as in a worker
import gc  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Callable  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from load import redis_queue, regression_messages  # noqa: E402


def per_call(action: Callable[[int], object], calls: int) -> float:
    """CPU ms per call of action(i), i = 0..calls-1."""
    start = time.process_time()
    for i in range(calls):
        action(i)
    return (time.process_time() - start) * 1000 / calls


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3, help="passes over the regression messages per stage")
    args = parser.parse_args(argv)
    messages = regression_messages()
    n = len(messages) * args.rounds
    with redis_queue() as queue, tempfile.TemporaryDirectory(prefix="faqbot-stages-") as data:
        from bot import create_app
        from bot.records import Asked
        from bot.report import low_confidence
        from bot.safety import triage
        started = time.process_time()
        app = create_app({"message_queue": queue, "data_dir": data, "rate_per_minute": 10 ** 9,
                          "live_reload": False})
        built = time.process_time() - started
        bot = app.extensions["faqbot"]
        engine = bot.service.engine
        responder = engine.responder
        conversations = bot.service.conversations
        bot.recorder.flush()
        gc.collect()
        objects = len(gc.get_objects())
        start = time.perf_counter()
        gc.collect()
        full_gc = (time.perf_counter() - start) * 1000
        print(f"app built in {built:.1f} s CPU; {objects:,} objects tracked by the collector; "
              f"a full collection takes {full_gc:.1f} ms; gc thresholds {gc.get_threshold()}, "
              f"frozen {gc.get_freeze_count():,}")

        def msg(i: int) -> str:
            return messages[i % len(messages)]

        rows: list[tuple[str, float]] = []
        rows.append(("rate limit (limits, Redis)", per_call(lambda i: bot.limiter.allow(f"10.0.{i % 250}.{i}"), n)))
        for i in range(n):  # conversations that remember something, as after an answer
            conversations.remember(f"c{i}", entry_id=engine.knowledge.entries[i % len(engine.knowledge.entries)].id)
        rows.append(("conversation get (Redis)", per_call(lambda i: conversations.get(f"c{i}"), n)))
        rows.append(("conversation remember (Redis)",
                     per_call(lambda i: conversations.remember(f"c{i}", entry_id=engine.knowledge.entries[0].id), n)))
        # What a reply does now: decided on this process's memory (peek), read and written in one round trip.
        rows.append(("conversation peek + settle (Redis, one round trip)",
                     per_call(lambda i: conversations.settle(f"c{i}", conversations.peek(f"c{i}"),
                                                             entry_id=engine.knowledge.entries[0].id), n)))
        rows.append(("triage (triage3's)", per_call(lambda i: triage(msg(i), engine.lexicon), n)))
        rows.append(("retrieval (speed's)", per_call(lambda i: engine.index.search(msg(i), limit=4, cutoff=0.0), n)))
        cold = responder.__class__(engine.knowledge, engine.index, engine.lexicon, engine.profile,
                                   conversations, cache_size=0)
        rows.append(("reply, every message new, no conversation", per_call(lambda i: cold.reply(msg(i)), n)))
        for m in messages:
            responder.reply(m)
        rows.append(("reply from the cache, no conversation", per_call(lambda i: responder.reply(msg(i)), n)))
        rows.append(("reply from the cache, in a conversation (Redis)",
                     per_call(lambda i: responder.reply(msg(i), conversation=f"c{i}"), n)))
        replies = [responder.reply(m) for m in messages]
        rows.append(("low-confidence check",
                     per_call(lambda i: low_confidence(engine, replies[i % len(replies)].type,
                                                       replies[i % len(replies)].confidence), n)))
        rows.append(("Reply.to_dict", per_call(lambda i: replies[i % len(replies)].to_dict(), n)))
        dicts = [r.to_dict() for r in replies]
        rows.append(("JSON of the reply", per_call(lambda i: json.dumps(dicts[i % len(dicts)], separators=(",", ":")),
                                                   n)))
        bot.recorder.flush()
        rows.append(("record queued (answer side)",
                     per_call(lambda i: bot.recorder.record(msg(i), replies[i % len(replies)].type,
                                                            replies[i % len(replies)].entry_id,
                                                            knowledge_version=engine.knowledge.version), n)))
        bot.recorder.flush()
        for size in (1, 10, 100):
            batch = [Asked(msg(i), replies[i % len(replies)].type, replies[i % len(replies)].entry_id,
                           engine.knowledge.version) for i in range(size)]
            calls = max(3, 300 // size)
            rows.append((f"staff log write, batches of {size} (writer thread), per record",
                         per_call(lambda i: bot.records.write(batch), calls) / size))
        with app.test_request_context("/", environ_base={"REMOTE_ADDR": "10.1.1.1"}):
            rows.append(("Bot.answer from the cache, in a conversation",
                         per_call(lambda i: bot.answer(msg(i), conversation=f"c{i}"), n)))
        bot.recorder.flush()
        width = max(len(name) for name, _ in rows)
        print(f"{'stage':<{width}}  CPU ms per call")
        for name, ms in rows:
            print(f"{name:<{width}}  {ms:8.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
