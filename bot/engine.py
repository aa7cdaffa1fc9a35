"""The whole answering engine for one knowledge base: records, index, lexicon, profile, responder."""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Mapping

from bot.config import Settings
from bot.knowledge import Knowledge, KnowledgeError, Problem, checker_for, load_knowledge, make_checker
from bot.locales import Profile, compile_profile
from bot.conversations import Conversations, conversations_for
from bot.replies import REPLY_CACHE, Responder
from bot.retrieval import Document, Index
from bot.safety import Lexicon, compile_lexicon, example_failures, with_vocabulary
from bot.safetynet import CORPUS_FILE, CorpusError, Message, default_corpus, net_for, read_corpus


@dataclass(frozen=True)
class Engine:
    """Everything built from one knowledge base, swapped as a whole on reload."""

    knowledge: Knowledge
    index: Index
    lexicon: Lexicon
    profile: Profile
    responder: Responder
    responders: Mapping[str, Responder] = field(default_factory=dict)

    def responder_for(self, locale: str | None) -> Responder:
        """Return the responder of a locale profile (a widget's data-locale), or the default one."""
        return self.responders.get(locale or "", self.responder)


def documents(knowledge: Knowledge) -> list[Document]:
    """Return what retrieval indexes for each entry."""
    return [Document(e.id, (e.question,) + e.alternates, e.answer) for e in knowledge.entries]


def own_corpus(knowledge: Knowledge, problems: list[Problem]) -> list[Message] | None:
    """Return the knowledge base's own safety-net messages (its optional triage-corpus.jsonl); None when broken."""
    path = Path(knowledge.directory) / CORPUS_FILE
    if not path.exists():
        return []
    try:
        return read_corpus(path, shown=f"{Path(knowledge.directory).name}/{CORPUS_FILE}")
    except CorpusError as exc:
        problems.append(Problem(f"{Path(knowledge.directory).name}/{CORPUS_FILE}", exc.line, "", exc.reason))
    except (OSError, UnicodeDecodeError) as exc:
        problems.append(Problem(f"{Path(knowledge.directory).name}/{CORPUS_FILE}", 0, "",
                                f"cannot read the file: {exc}"))
    return None


# Phrasings of each entry the safety net learns from: the net weighs its two classes alike, so a knowledge base
# with many alternates per entry (the shipped one has 50) tilted it towards urgent for plain messages ("what is
# the weather like on day 39", "football scores in spain number 3 tonight ..."); this many keeps each entry in.
NET_PHRASINGS = 25


def questions(knowledge: Knowledge) -> list[str]:
    """Return what the safety net learns is never urgent from the knowledge base itself: every phrasing of its
    entries, and its regression questions and conversation turns that expect a reply other than urgent (short
    follow-ups such as "and in the US?" are a style of their own)."""
    cases = list(knowledge.regression) + [turn for d in knowledge.dialogues for turn in d.turns]
    return ([p for e in knowledge.entries for p in ((e.question,) + e.alternates)[:NET_PHRASINGS]]
            + [c.message for c in cases if c.type != "urgent"])


def build_engine(directory: str | Path, settings: Settings | None = None,
                 conversations: Conversations | None = None) -> Engine:
    """Load, validate and index a knowledge base; raise KnowledgeError listing every problem."""
    knowledge = load_knowledge(directory)
    problems: list[Problem] = []
    lexicon = compile_lexicon(knowledge.triage, checker_for(knowledge, "triage.yaml", problems))
    clinic = {"clinic_name": settings.clinic_name, "team_number": settings.team_number} if settings else {}
    profile = compile_profile(knowledge.locales, checker_for(knowledge, "locales.yaml", problems),
                              locale=settings.locale if settings else "", **clinic)
    if lexicon is not None:
        texts = [e.question for e in knowledge.entries] + [a for e in knowledge.entries for a in e.alternates]
        texts += [e.answer for e in knowledge.entries]
        texts += [s.text for src in knowledge.sources.values() for s in src.sections]
        lexicon = with_vocabulary(lexicon, texts)
        for example, verdict in example_failures(lexicon):
            expected = f"is {example.category}" if example.positive else f"is not {example.category}"
            # An example of the default lexicon is reported against that file.
            make_checker(example.file, problems).add(
                example.line, example.category,
                f"example {example.message!r} {expected}, but triage says {verdict.category or 'none'}")
        corpus = own_corpus(knowledge, problems)
        if corpus is not None:
            # Trained once per content (a reload with the same lexicon and corpus reuses the net).
            lexicon = lexicon.replace(net=net_for(lexicon, default_corpus() + corpus, questions(knowledge)))
    if problems:
        raise KnowledgeError(problems)
    index = Index(documents(knowledge), knowledge.synonyms, calibration=dict(knowledge.thresholds.calibration) or None,
                  outside=knowledge.outside)
    cache = settings.reply_cache if settings else REPLY_CACHE
    responder = Responder(knowledge, index, lexicon, profile, conversations, cache_size=cache)
    responders = {profile.locale: responder}
    for name in knowledge.locales.get("profiles", {}):
        if name not in responders:
            # Already validated above: only the numbers of another profile are compiled here.
            other = compile_profile(knowledge.locales, checker_for(knowledge, "locales.yaml", []), locale=name,
                                    **clinic)
            if other is not None:
                responders[name] = Responder(knowledge, index, lexicon, other, responder.conversations,
                                             cache_size=cache)
    return Engine(knowledge, index, lexicon, profile, responder, responders)


def with_conversations(engine: Engine, conversations: Conversations) -> Engine:
    """Return the engine (the same knowledge, index and lexicon) remembering its conversations in another store."""
    responders = {name: Responder(engine.knowledge, engine.index, engine.lexicon, r.profile, conversations,
                                  cache_size=r.cache_size) for name, r in engine.responders.items()}
    return replace(engine, responder=responders[engine.profile.locale], responders=responders)


class Service:
    """The engine in force, swapped whole when an edit loads cleanly and keeps its regression questions right;
    any other edit is held back and the last good version keeps serving."""

    def __init__(self, settings: Settings, engine: Engine | None = None):
        self.settings = settings
        self.conversations = conversations_for(settings.message_queue, ttl=settings.conversation_hours * 3600)
        if engine is None:
            engine = build_engine(settings.knowledge, settings, self.conversations)
        else:  # built already from the same knowledge and settings (tests share one): its own conversations
            engine = with_conversations(engine, self.conversations)
        self.engine = engine
        self.pending: tuple[Problem, ...] = ()
        # True when the pending problems are regression questions an otherwise valid edit breaks.
        self.held_back = False
        self._baseline: dict | None = None

    def baseline(self) -> dict:
        """Return what the version in force gives its regression questions (worked out once, when first needed),
        and keep it in the data directory for `run.py check`."""
        if self._baseline is None:
            from bot.evaluation import evaluate, save_baseline
            evaluation = evaluate(self.engine)
            self._baseline = evaluation.baseline()
            save_baseline(self.settings.data_dir, self.settings.knowledge, self.engine.knowledge.version, evaluation)
        return self._baseline

    def reload(self) -> tuple[Problem, ...]:
        """Rebuild from the knowledge directory; return the problems that stopped it (empty when it went live)."""
        from bot.evaluation import evaluate, regressions, save_baseline
        try:
            engine = build_engine(self.settings.knowledge, self.settings, self.conversations)
        except KnowledgeError as exc:
            self.pending, self.held_back = exc.problems, False
            return self.pending
        before = self.baseline()
        evaluation = evaluate(engine)
        broken = regressions(before, evaluation, engine.knowledge.files["regression.yaml"])
        if broken:
            self.pending, self.held_back = tuple(broken), True
            return self.pending
        self.engine = engine
        self._baseline = evaluation.baseline()
        save_baseline(self.settings.data_dir, self.settings.knowledge, engine.knowledge.version, evaluation)
        self.pending, self.held_back = (), False
        return ()

    def reasons(self) -> list[str]:
        """Return why the bot needs staff (for /api/health "degraded"), empty when all is well."""
        if not self.pending:
            return []
        version = self.engine.knowledge.version
        if self.held_back:
            head = (f"knowledge: an edit is held back: it breaks {len(self.pending)} regression check(s); the last "
                    f"good version {version} is serving")
        else:
            head = (f"knowledge: an edit is held back by {len(self.pending)} problem(s); the last good version "
                    f"{version} is serving")
        return [head] + [str(p) for p in self.pending]
