"""faqbot's command line: serve, check, ask, eval, report, announce, init (`faqbot`, `python -m bot`, `python run.py`)."""
from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

CHANNEL = "flask-socketio"  # Flask-SocketIO's message-queue channel


def _parser(prog: str = "faqbot") -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=prog, description="faqbot: a patient-education chat assistant")
    commands = parser.add_subparsers(dest="command")
    serve = commands.add_parser("serve", help="start the chat server")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=5000)
    serve.add_argument("--knowledge", help="the knowledge directory (default: FAQBOT_KNOWLEDGE, else the shipped one)")
    check = commands.add_parser("check", help="validate the knowledge base and report every problem")
    check.add_argument("--knowledge")
    check.add_argument("--against", metavar="DIR",
                       help="compare the regression replies with this knowledge directory (default: the version "
                            "the server last served, kept in the data directory)")
    ask = commands.add_parser("ask", help="answer one question in the terminal")
    ask.add_argument("question")
    ask.add_argument("--json", action="store_true", help="print the reply object as JSON")
    ask.add_argument("--why", action="store_true",
                     help="explain the reply: triage, the entry chosen and the runner-up, what matched")
    ask.add_argument("--knowledge")
    evaluate = commands.add_parser("eval", help="run the knowledge base's regression questions and conversations")
    evaluate.add_argument("--knowledge")
    evaluate.add_argument("--tune", action="store_true",
                          help="fit the knowledge base's own confidence and choose the fallback threshold and "
                               "clarify margin on the regression questions (and --dev), and write them to the "
                               "knowledge base's settings.yaml")
    evaluate.add_argument("--dev", action="extend", nargs="+", default=[], metavar="FILE",
                          help="patient questions as development data (JSON Lines: kind in_scope with text and "
                               "quote, or off_topic with text); one or more, repeatable. Measured, and with --tune "
                               "learnt from")
    evaluate.add_argument("--labels", metavar="FILE",
                          help="for --dev: which entries answer each quoted passage (YAML list of passage, entries); "
                               "without it only the off-topic side is measured")
    report = commands.add_parser("report", help="what patients asked that the bot could not answer, and usage")
    report.add_argument("--csv", action="store_true", help="print the report as CSV")
    report.add_argument("--knowledge")
    init = commands.add_parser("init", help="write a starter knowledge base for a new clinic's leaflet")
    init.add_argument("directory", help="a new (or empty) folder for the knowledge base")
    init.add_argument("--title", required=True, help="the leaflet's title, as patients see it")
    announce = commands.add_parser("announce", help="show a notice in every connected chat, on every process")
    announce.add_argument("text")
    return parser


def _overrides(args: argparse.Namespace) -> dict:
    return {"knowledge": args.knowledge} if getattr(args, "knowledge", None) else {}


def _engine(args: argparse.Namespace):
    from bot.config import load_settings
    from bot.engine import build_engine
    settings = load_settings(_overrides(args))
    return build_engine(settings.knowledge, settings)


def cmd_serve(args: argparse.Namespace) -> int:
    from bot import create_app
    app = create_app(_overrides(args))
    socketio = app.extensions["socketio"]
    print(f"faqbot on http://{args.host}:{args.port}/ (Ctrl+C to stop)", flush=True)
    socketio.run(app, host=args.host, port=args.port, allow_unsafe_werkzeug=True)
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    from bot.knowledge import KnowledgeError
    from bot.readability import readability_report
    try:
        engine = _engine(args)
    except KnowledgeError as exc:
        for problem in exc.problems:
            print(problem)
        print(f"{len(exc.problems)} problem(s); the knowledge base was not loaded.", file=sys.stderr)
        return 1
    knowledge = engine.knowledge
    from bot.evaluation import confusions, evaluate, misplaced_alternates
    report = readability_report(engine)
    entries_file = knowledge.files["entries.yaml"]
    for owner, phrasing, other, closest in misplaced_alternates(engine):
        line = knowledge.entry(owner).line
        report.append((f"{entries_file}:{line}: {owner}: warning: alternate {phrasing!r} is closer to entry "
                       f"{other} ({closest!r}) than to its own entry", True))
    evaluation = evaluate(engine)
    for miss in confusions(evaluation):
        report.append((f"{knowledge.files['regression.yaml']}:{miss.line}: {miss.expected_entry}: warning: "
                       f"{miss.message!r} was answered with {miss.got_entry} (entries confused)", True))
    from bot.engine import own_corpus, questions
    from bot.safetynet import default_corpus, measure
    corpus = default_corpus() + (own_corpus(knowledge, []) or [])
    net = measure(engine.lexicon.replace(net=None), corpus, questions=questions(knowledge))
    if net is not None:
        # The net alone, trained without a fixed fifth of its corpus and measured on that fifth.
        report.append((f"safety net: trained on {net.trained_on} messages; on {net.measured_on} held out, at threshold "
                       f"{net.threshold:g} it flags {net.flagged}: precision {net.precision:.1%}, recall "
                       f"{net.recall:.1%} (a message is urgent when the lexicon or the net says so)", False))
    for line, _ in report:
        print(line)
    warnings = [line for line, warn in report if warn]
    broken = _regression_diff(args, engine, evaluation)
    if broken:
        print(f"{len(broken)} regression check(s) broken: a running bot holds this edit back and keeps serving "
              "the last good version.", file=sys.stderr)
        return 1
    print(f"ok: {len(knowledge.entries)} entries, {len(knowledge.regression)} regression questions, "
          f"{len(knowledge.dialogues)} dialogues, version {knowledge.version}, {len(warnings)} warning(s)")
    return 0


def _regression_diff(args: argparse.Namespace, engine, evaluation) -> list:
    """Print what the edit changes in the regression replies against the last good version; return the breaks."""
    from bot.config import load_settings
    from bot.engine import build_engine
    from bot.evaluation import evaluate, load_baseline, regressions, save_baseline
    settings = load_settings(_overrides(args))
    if args.against:
        baseline = evaluate(build_engine(args.against, settings)).baseline()
        print(f"regression replies compared with {args.against}")
    else:
        baseline = load_baseline(settings.data_dir, settings.knowledge)
        if baseline is None:
            print(f"regression replies compared with their bars only: no last good version is kept in "
                  f"{settings.data_dir} yet (the running bot keeps one there)")
        elif baseline.get("version") == engine.knowledge.version:
            print(f"regression replies: this is version {engine.knowledge.version}, the one the bot serves")
        else:
            print(f"regression replies compared with version {baseline.get('version')}, the one the bot serves")
    broken = regressions(baseline, evaluation, engine.knowledge.files["regression.yaml"])
    for problem in broken:
        print(problem)
    if (not args.against and not broken and (baseline or {}).get("version") != engine.knowledge.version
            and Path(settings.data_dir).is_dir()):
        # A running bot takes the same files live now; without one, later checks compare with this version. Only
        # into a data directory already in use: a check in a fresh folder keeps nothing.
        save_baseline(settings.data_dir, settings.knowledge, engine.knowledge.version, evaluation)
        print(f"kept these replies in {settings.data_dir} as the last good version: the next check compares "
              "with them")
    return broken


def cmd_ask(args: argparse.Namespace) -> int:
    engine = _engine(args)
    if args.why:
        from bot.explain import explain
        print("\n".join(explain(engine, args.question).lines()))
        return 0
    reply = engine.responder.reply(args.question).to_dict()
    if args.json:
        print(json.dumps(reply, ensure_ascii=False, indent=2))
        return 0
    print(f"[{reply['type']}]")
    print(reply["text"])
    for cite in reply["citations"]:
        print(f'\n  "{cite["quote"]}"\n    {cite["title"]}, {cite["section"]} ({cite["url"]})')
    if reply["suggestions"]:
        print("\nYou could ask:")
        for suggestion in reply["suggestions"]:
            print(f"  - {suggestion}")
    if reply["disclaimer"]:
        print(f"\n{reply['disclaimer']}")
    return 0


def cmd_eval(args: argparse.Namespace) -> int:
    from bot.devquestions import DevDataError, dev_questions
    from bot.evaluation import evaluate, evaluate_dev, evaluate_dialogues, tune, write_settings
    engine = _engine(args)
    if not engine.knowledge.regression:
        print(f"no regression questions: add them to {engine.knowledge.files['regression.yaml']} (each a message "
              "typed the way patients type, and the reply type and entry it must get)", file=sys.stderr)
        return 1
    try:
        dev = dev_questions([Path(f) for f in args.dev], Path(args.labels) if args.labels else None)
    except DevDataError as exc:
        print(exc, file=sys.stderr)
        return 2
    if args.tune:
        before = engine.knowledge.thresholds
        chosen, result = tune(engine, dev)
        path = write_settings(engine.knowledge.directory, chosen)
        calibrated = (f"own calibration fitted on {len(dev)} development and the regression questions"
                      if chosen.calibration else "shared calibration (too few questions to fit one)")
        print(f"fallback_below {before.fallback_below} -> {chosen.fallback_below}, "
              f"clarify_margin {before.clarify_margin} -> {chosen.clarify_margin}, {calibrated}: written to {path}")
        engine = _engine(args)  # the dialogues below are played with the thresholds just written
    else:
        result = evaluate(engine)
    print(result.table())
    if dev:
        print()
        print(evaluate_dev(engine.responder, dev).table())
    dialogues = evaluate_dialogues(engine)
    if dialogues is not None:
        print()
        print(dialogues.table())
    return 0 if result.passes and (dialogues is None or dialogues.passes) else 1


def cmd_report(args: argparse.Namespace) -> int:
    from sqlalchemy.exc import SQLAlchemyError

    from bot.config import load_settings
    from bot.records import Records
    from bot.report import build_report
    settings = load_settings(_overrides(args))
    records = Records(settings.data_dir, url=settings.database_url, retention_days=settings.retention_days)
    try:
        print(build_report(records, _engine(args), as_csv=args.csv), end="" if args.csv else "\n")
    except (OSError, SQLAlchemyError) as exc:
        print(f"cannot read the staff log at {records.where()}: {exc}", file=sys.stderr)
        return 1
    finally:
        records.close()
    return 0


def cmd_init(args: argparse.Namespace) -> int:
    from bot.starter import StarterError, write_starter
    try:
        written = write_starter(args.directory, args.title)
    except StarterError as exc:
        print(exc, file=sys.stderr)
        return 2
    print(f"wrote a starter knowledge base in {args.directory}: {', '.join(p.name for p in written)}")
    print("next: paste the leaflet into sources.yaml (one section per heading), write entries.yaml from it, add "
          "its warning signs to triage.yaml, set the numbers in locales.yaml; then run")
    command = f"python {args.prog}" if args.prog.endswith(".py") else args.prog
    print(f"  {command} check --knowledge {args.directory}")
    print(f"  {command} eval --knowledge {args.directory}")
    return 0


def cmd_announce(args: argparse.Namespace) -> int:
    from bot.config import load_settings
    settings = load_settings()
    text = " ".join(args.text.split())
    if not text:
        print("the notice is empty", file=sys.stderr)
        return 2
    if len(text) > settings.max_message_chars:
        print(f"the notice is {len(text):,} characters; the limit is {settings.max_message_chars:,}", file=sys.stderr)
        return 2
    url = settings.message_queue
    if not url.startswith(("redis://", "rediss://")):
        print("announce reaches the running servers through their queue: set FAQBOT_MESSAGE_QUEUE to the same "
              "redis://... URL they use", file=sys.stderr)
        return 2
    import redis
    from flask_socketio import SocketIO
    try:
        # Each faqbot process subscribes to Flask-SocketIO's channel; count them so nobody announces into a void.
        listening = redis.Redis.from_url(url, socket_timeout=5).pubsub_numsub(CHANNEL)[0][1]
    except redis.RedisError as exc:
        print(f"cannot reach the queue at {url}: {exc}", file=sys.stderr)
        return 1
    # An emitter outside the servers: it must name Flask-SocketIO's channel, or the servers never hear it.
    SocketIO(message_queue=url, channel=CHANNEL, async_mode="threading").emit("notice", {"text": text})
    print(f"notice sent to {listening} faqbot process(es)")
    return 0 if listening else 1


def main(argv: list[str] | None = None, *, prog: str = "faqbot") -> int:
    """Run one command of the command line; return its exit status."""
    args = _parser(prog).parse_args(argv)
    args.prog = prog
    command = args.command or "serve"
    if command == "serve":
        if not hasattr(args, "host"):
            args = _parser(prog).parse_args(["serve"])
        if os.environ.get("FAQBOT_ASYNC_MODE", "gevent") == "gevent":
            from gevent import monkey  # must patch before anything else opens sockets or threads
            monkey.patch_all()
    from bot.config import ConfigError
    from bot.knowledge import KnowledgeError
    try:
        return {"serve": cmd_serve, "check": cmd_check, "ask": cmd_ask, "eval": cmd_eval,
                "report": cmd_report, "announce": cmd_announce, "init": cmd_init}[command](args)
    except KnowledgeError as exc:
        print(exc, file=sys.stderr)
        print(f"The knowledge base has problems: run `{prog} check` to see them all.", file=sys.stderr)
        return 1
    except ConfigError as exc:
        print(f"setting error: {exc}", file=sys.stderr)
        return 2
