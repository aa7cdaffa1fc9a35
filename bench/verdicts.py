"""Write what triage does with every development message, or compare that with an earlier dump.

    python bench/verdicts.py dump OUT.json [--knowledge DIR] [--extra PATH ...]
    python bench/verdicts.py compare OLD.json NEW.json

A lexicon or engine change is checked by dumping before and after it: `compare` lists every message whose outcome
changed, grouped as better (now right for its kind), worse (now wrong) or same (as right or as wrong as before, in
another way),
and exits 1 when any message got worse. The development messages are bench/triage.py's (the shipped corpus, its
hard cases, tests/data/triage/dev-*.jsonl and the retrieval questions), plus any --extra split.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from triage import DEV, QUESTIONS, ROOT, outcome, read_split, right  # noqa: E402

from bot.config import load_settings  # noqa: E402
from bot.engine import build_engine  # noqa: E402
from bot.replies import Responder  # noqa: E402


def dump(out: str, knowledge: str, extra: list[str]) -> int:
    settings = load_settings({"knowledge": knowledge}, environ={})
    engine = build_engine(knowledge, settings)
    responder = Responder(engine.knowledge, engine.index, engine.lexicon, engine.profile, cache_size=0)
    rows = []
    for path in [p for p in DEV + QUESTIONS if p.exists()] + [Path(p) for p in extra]:
        for message in read_split(path):
            did, how = outcome(responder, message.text)
            rows.append({"split": path.name, "kind": message.kind, "text": message.text, "did": did, "how": how})
    Path(out).write_text(json.dumps(rows, ensure_ascii=False), encoding="utf-8")
    print(f"{len(rows)} verdicts -> {out}")
    return 0


def compare(old_path: str, new_path: str) -> int:
    old = {(r["split"], r["kind"], r["text"]): r for r in json.loads(Path(old_path).read_text(encoding="utf-8"))}
    new = json.loads(Path(new_path).read_text(encoding="utf-8"))
    groups: dict[str, list[str]] = {"better": [], "worse": [], "same": []}
    for row in new:
        before = old.get((row["split"], row["kind"], row["text"]))
        if before is None or before["did"] == row["did"]:
            continue
        was, now = right(row["kind"], before["did"]), right(row["kind"], row["did"])
        group = "better" if now and not was else "worse" if was and not now else "same"
        groups[group].append(f"  [{row['kind']}: {before['did']} ({before['how']}) -> {row['did']} ({row['how']})]"
                             f" {row['split']}: {row['text']}")
    print(f"{len(new)} messages: {len(groups['better'])} better, {len(groups['worse'])} worse, "
          f"{len(groups['same'])} changed but as right (or as wrong) as before")
    for name, lines in groups.items():
        if lines:
            print(f"{name}:")
            print("\n".join(lines))
    return 1 if groups["worse"] else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    dumping = sub.add_parser("dump")
    dumping.add_argument("out")
    dumping.add_argument("--knowledge", default=str(ROOT / "knowledge"))
    dumping.add_argument("--extra", nargs="*", default=[])
    comparing = sub.add_parser("compare")
    comparing.add_argument("old")
    comparing.add_argument("new")
    args = parser.parse_args(argv)
    if args.command == "dump":
        return dump(args.out, args.knowledge, args.extra)
    return compare(args.old, args.new)


if __name__ == "__main__":
    raise SystemExit(main())
