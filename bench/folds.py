"""Leave one development split out: how a knowledge base's own calibration generalises to patient questions it
was not fitted on.

    python bench/folds.py [--knowledge DIR] [--labels FILE] [--dev FILE ...] [--whole]

For each development file in turn, `run.py eval --tune`'s own fit (bot/evaluation.py tune) runs on a copy of the
knowledge base with the regression questions and the other files, and the held-out file is answered through the
chat's Responder with what it chose. Scored strictly, as the project's blind splits are: an in-scope question is
right when it gets an `answer` from an entry its labels accept; an off-topic one when it gets a `fallback` (an
urgent, advice, clarify or smalltalk reply counts as wrong; `not answered` prints the looser figure that `eval
--dev` shows). --whole adds each file answered with the knowledge base's settings as they are (fitted on them all,
so development figures, not test figures).
"""
from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script from anywhere, without installing faqbot
    sys.path.insert(0, str(ROOT))

from bot.devquestions import DevQuestion, dev_questions  # noqa: E402
from bot.engine import build_engine  # noqa: E402
from bot.evaluation import tune, write_settings  # noqa: E402
from bot.replies import Responder  # noqa: E402

DEV = sorted((ROOT / "tests" / "data" / "retrieval").glob("dev-blind-*.jsonl"))
LABELS = ROOT / "tests" / "data" / "retrieval" / "labels.yaml"


@dataclass(frozen=True)
class Strict:
    """A file's figures, judged strictly."""

    in_scope: int
    right: int
    off_topic: int
    fallback: int
    not_answered: int

    def row(self) -> str:
        return (f"in scope {self.right}/{self.in_scope} {self.right / self.in_scope:6.1%}   off topic fallback "
                f"{self.fallback}/{self.off_topic} {self.fallback / self.off_topic:6.1%}   (not answered "
                f"{self.not_answered / self.off_topic:.1%})")


def strict(responder: Responder, questions: tuple[DevQuestion, ...]) -> Strict:
    """Answer each question once; count it as the blind splits are counted."""
    in_scope = right = off_topic = fallback = not_answered = 0
    for question in questions:
        reply = responder.reply(question.text)
        if question.in_scope:
            if question.entries is None:
                continue
            in_scope += 1
            right += reply.type == "answer" and reply.entry_id in question.entries
        else:
            off_topic += 1
            fallback += reply.type == "fallback"
            not_answered += reply.type != "answer"
    return Strict(in_scope, right, off_topic, fallback, not_answered)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--knowledge", default=str(ROOT / "knowledge"))
    parser.add_argument("--labels", default=str(LABELS))
    parser.add_argument("--dev", nargs="+", default=[str(p) for p in DEV])
    parser.add_argument("--whole", action="store_true", help="also each file with the settings as they are")
    args = parser.parse_args(argv)
    files = [Path(f) for f in args.dev]
    questions = {f: dev_questions([f], Path(args.labels)) for f in files}
    rows = []
    with tempfile.TemporaryDirectory() as temp:
        for held in files:
            started = time.perf_counter()
            copy = Path(temp) / "knowledge"
            shutil.rmtree(copy, ignore_errors=True)
            shutil.copytree(args.knowledge, copy)
            (copy / "settings.yaml").unlink(missing_ok=True)  # fitted afresh: nothing of the held file in it
            engine = build_engine(copy)
            fitted = tuple(q for f in files if f != held for q in questions[f])
            chosen, _ = tune(engine, fitted)
            write_settings(copy, chosen)
            figures = strict(build_engine(copy).responder, questions[held])
            rows.append(figures)
            print(f"held out {held.name}: fallback_below {chosen.fallback_below}, clarify {chosen.clarify_margin}: "
                  f"{figures.row()}  [{time.perf_counter() - started:.0f} s]", flush=True)
    mean_in = sum(r.right / r.in_scope for r in rows) / len(rows)
    mean_off = sum(r.fallback / r.off_topic for r in rows) / len(rows)
    print(f"mean of the folds: in scope {mean_in:.1%}, off topic fallback {mean_off:.1%}")
    if args.whole:
        responder = build_engine(args.knowledge).responder
        for f in files:
            print(f"whole, shipped settings, {f.name}: {strict(responder, questions[f]).row()}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
