"""The recall-first safety net: a character n-gram classifier that flags urgent messages the lexicon's words miss.

Trained on the lexicon's own examples and a corpus of urgent and non-urgent messages (bot/defaults/), it says
"urgent" or "crisis" with a score; its threshold (in the lexicon, so a clinic owns it) is set for recall. The
lexicon stays the explanation: a hit of the net alone is logged with the concept nearest to the message.

Beside the letters, a crisis score from meaning: a logistic regression on the message's static semantic vector
(bot/semantic.py), trained on the same messages, which knows a crisis said in words none of them used. Without
the vector file the net has letters only.
"""
from __future__ import annotations

import hashlib
import json
import math
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np

from bot.lexicon import DEFAULTS, URGENT, Lexicon
from bot.semantic import Embedder, shipped_embedder
from bot.text import normalize

CORPUS_FILE = "triage-corpus.jsonl"   # also the name of a knowledge base's own messages, next to its triage.yaml
CORPUS = DEFAULTS / CORPUS_FILE
HARD_CASES = DEFAULTS / "triage-hard-cases.jsonl"
KINDS = ("emergency", "crisis", "warning", "sign_question", "advice", "article", "smalltalk", "off_topic")
# The share of the corpus set aside (by a hash of each text, so always the same messages) to measure the net.
HELD_OUT_EVERY = 5
_CACHE: dict[str, "SafetyNet"] = {}
_CACHE_LIMIT = 4
# How many words' n-grams a net remembers (messages reuse a small stock of words).
WORD_CACHE = 20_000
# The semantic crisis model's inverse regularisation: 384 dense dimensions and a few hundred crisis messages; a
# looser fit ranked unseen crisis phrasings of the development splits better (bench/README.md).
SEMANTIC_C = 32.0
_SHIPPED = object()  # net_for(embedder=...) default: the vectors shipped in bot/vectors/


class CorpusError(ValueError):
    """A corpus line is not {"kind": ..., "text": ...}; the message names the file and line."""

    def __init__(self, shown: str, line: int, reason: str):
        super().__init__(f"{shown}:{line}: {reason}")
        self.line = line
        self.reason = reason


@dataclass(frozen=True)
class Message:
    kind: str
    text: str
    line: int = 0


def label_of(kind: str) -> str:
    """Return the net's label for a corpus kind."""
    return "crisis" if kind == "crisis" else "urgent" if kind in URGENT else "none"


def held_out(text: str) -> bool:
    """True for the fixed fifth of messages kept out of training when the net is measured."""
    return zlib.crc32(normalize(text).encode()) % HELD_OUT_EVERY == 0


def read_corpus(path: str | Path, *, shown: str = "") -> list[Message]:
    """Read a JSON Lines corpus of {"kind", "text"}; raise CorpusError naming file:line for a bad line."""
    path = Path(path)
    shown = shown or str(path)
    messages = []
    with path.open(encoding="utf-8") as lines:
        for number, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                raise CorpusError(shown, number, f"not a JSON object: {exc.msg}") from None
            if not isinstance(row, dict) or row.get("kind") not in KINDS or not isinstance(row.get("text"), str):
                raise CorpusError(shown, number, f"needs \"kind\" (one of {', '.join(KINDS)}) and \"text\"")
            messages.append(Message(row["kind"], row["text"], number))
    return messages


def _sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x)) if x > -500 else 0.0


class SafetyNet:
    """A trained classifier: score(message) -> (urgent, crisis) probabilities; nearest(message) -> concept."""

    def __init__(self, vectorizer, weights: np.ndarray, bias: np.ndarray, concepts: Sequence[tuple[str, str]],
                 size: int, semantic: tuple[Embedder, np.ndarray, float] | None = None):
        """semantic: the embedder, weights and bias of the crisis model on semantic vectors (None: letters only)."""
        self.vectorizer = vectorizer
        self.semantic = semantic
        self.weights = weights        # features x 2: urgent (crisis included), crisis
        self.bias = (float(bias[0]), float(bias[1]))
        self.concepts = tuple(name for name, _ in concepts)
        self._concept_texts = tuple(text for _, text in concepts)
        self._concept_matrix = None  # built on the first net-only hit: most processes never need it
        self.size = size
        # One message at a time, scikit-learn's transform costs more in checks than in arithmetic: score() does the
        # same sums (sublinear tf x idf, L2 norm, dot product) over a dict of each n-gram's idf and two weights.
        self.analyze = vectorizer.build_analyzer()
        # Character n-grams within word boundaries (train()'s analyzer) never cross a space: a message's are its
        # words' one after the other, and each word's are worked out once (_grams).
        self.by_word = vectorizer.analyzer == "char_wb"
        self._word_grams: dict[str, list[str]] = {}
        idf = vectorizer.idf_
        self.features = {gram: (float(idf[i]), float(weights[i, 0]), float(weights[i, 1]))
                         for gram, i in vectorizer.vocabulary_.items()}

    def score(self, norm: str) -> tuple[float, float]:
        """Return (urgent, crisis) for a normalised message: urgent counts crisis too."""
        return self.scores(norm)[:2]

    def scores(self, norm: str) -> tuple[float, float, float]:
        """Return (urgent, crisis, known): known is the share of the message's n-grams the net has seen."""
        counts: dict[str, int] = {}
        grams = (g for word in norm.split() for g in self._grams(word)) if self.by_word else self.analyze(norm)
        for gram in grams:
            counts[gram] = counts.get(gram, 0) + 1
        square = urgent = crisis = 0.0
        features = self.features
        seen = 0
        for gram, count in counts.items():
            found = features.get(gram)
            if found is None:
                continue
            seen += count
            value = (1.0 + math.log(count)) * found[0]
            square += value * value
            urgent += value * found[1]
            crisis += value * found[2]
        scale = 1.0 / math.sqrt(square) if square else 0.0
        known = seen / sum(counts.values()) if counts else 0.0
        return _sigmoid(urgent * scale + self.bias[0]), _sigmoid(crisis * scale + self.bias[1]), known

    def semantic_crisis(self, norm: str) -> float | None:
        """Return the semantic crisis score of a normalised message, or None for a net without the vectors."""
        if self.semantic is None:
            return None
        embedder, weights, bias = self.semantic
        return _sigmoid(float(embedder.encode_one(norm) @ weights) + bias)

    def _grams(self, word: str) -> list[str]:
        """Return the n-grams of one word as the analyzer makes them, remembered."""
        grams = self._word_grams.get(word)
        if grams is None:
            if len(self._word_grams) >= WORD_CACHE:  # bounded: a stream of gibberish cannot grow it
                self._word_grams.clear()
            grams = self._word_grams[word] = self.analyze(word)
        return grams

    def nearest(self, norm: str) -> str:
        """Return the lexicon concept nearest to a message (category/concept), to show a clinician where it fits."""
        if not self.concepts:
            return "none"
        if self._concept_matrix is None:
            self._concept_matrix = self.vectorizer.transform(self._concept_texts)
        row = self.vectorizer.transform([norm])
        similarity = np.asarray((self._concept_matrix @ row.T).todense()).ravel()
        return self.concepts[int(similarity.argmax())]


def training_messages(lexicon: Lexicon, corpus: Iterable[Message], questions: Iterable[str] = ()) -> list[tuple[str, str]]:
    """Return (normalised text, label) pairs: the lexicon's examples, the corpus, and the knowledge base's own
    questions (its entries' phrasings: never urgent)."""
    from bot.safety import triage
    words_only = lexicon.replace(net=None) if lexicon.net is not None else lexicon
    rows = []
    for example in lexicon.examples:
        if example.positive:
            label = label_of(example.category)
        else:  # a negative of one category may be a positive of another: the lexicon says which
            label = label_of(triage(example.message, words_only).category or "")
        rows.append((normalize(example.message), label))
    rows += [(normalize(m.text), label_of(m.kind)) for m in corpus]
    rows += [(normalize(q), "none") for q in questions]
    return [(t, label) for t, label in rows if t]


def train(rows: Sequence[tuple[str, str]], lexicon: Lexicon, embedder: Embedder | None = None) -> SafetyNet:
    """Train the net on (text, label) rows (and its semantic crisis model, given an embedder); the same rows,
    concepts and embedder give the cached net back at once."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    concepts = [(f"{c}/{n}", " ".join(lexicon.concept_phrases(c, n))) for (c, n) in lexicon.concepts if c in URGENT]
    digest = hashlib.sha256(json.dumps([rows, concepts, id(embedder) if embedder else None]).encode()).hexdigest()
    cached = _CACHE.get(digest)
    if cached is not None:
        return cached
    texts = [t for t, _ in rows]
    vectorizer = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True, min_df=2,
                                 lowercase=False, dtype=np.float32)
    matrix = vectorizer.fit_transform(texts)
    weights = np.zeros((matrix.shape[1], 2))
    bias = np.full(2, -50.0)  # a label never seen in training is never predicted
    for column, wanted in enumerate((("urgent", "crisis"), ("crisis",))):
        target = np.array([label in wanted for _, label in rows])
        if target.all() or not target.any():
            continue
        # liblinear: a tenth of the time of the multinomial solvers on a corpus this size, so a reload stays quick.
        model = LogisticRegression(C=16.0, class_weight="balanced", solver="liblinear", max_iter=1000)
        model.fit(matrix, target)
        weights[:, column], bias[column] = model.coef_[0], model.intercept_[0]
    net = SafetyNet(vectorizer, weights, bias, concepts, len(rows), _semantic_model(rows, embedder))
    if len(_CACHE) >= _CACHE_LIMIT:
        _CACHE.clear()
    _CACHE[digest] = net
    return net


def _semantic_model(rows: Sequence[tuple[str, str]], embedder: Embedder | None
                    ) -> tuple[Embedder, np.ndarray, float] | None:
    """Fit the crisis model on the rows' semantic vectors; None without an embedder or without both classes."""
    from sklearn.linear_model import LogisticRegression
    target = np.array([label == "crisis" for _, label in rows])
    if embedder is None or target.all() or not target.any():
        return None
    vectors = np.stack([embedder.encode_one(text) for text, _ in rows])
    model = LogisticRegression(C=SEMANTIC_C, class_weight="balanced", max_iter=3000)
    model.fit(vectors, target)
    return embedder, model.coef_[0].astype(np.float32), float(model.intercept_[0])


def default_corpus() -> list[Message]:
    """Return the corpus shipped with faqbot: the development messages and the hand-written hard cases."""
    return [m for path in (CORPUS, HARD_CASES) if path.exists() for m in read_corpus(path)]


def net_for(lexicon: Lexicon, corpus: Iterable[Message] | None = None, questions: Iterable[str] = (), *,
            embedder: Embedder | None | object = _SHIPPED) -> SafetyNet | None:
    """Return the safety net of a lexicon (trained on its examples, the corpus and the knowledge base's questions),
    or None with nothing to learn. embedder: the semantic vectors (default: the shipped ones; None: letters only)."""
    rows = training_messages(lexicon, default_corpus() if corpus is None else corpus, questions)
    if len({label for _, label in rows}) < 2:
        return None
    return train(rows, lexicon, shipped_embedder() if embedder is _SHIPPED else embedder)


@dataclass(frozen=True)
class NetReport:
    trained_on: int
    measured_on: int
    flagged: int
    precision: float
    recall: float
    threshold: float


def measure(lexicon: Lexicon, corpus: Sequence[Message] | None = None, questions: Iterable[str] = ()
            ) -> NetReport | None:
    """Train on four fifths of the corpus and measure the net alone on the fifth held out (for `check`)."""
    corpus = default_corpus() if corpus is None else list(corpus)
    train_part = [m for m in corpus if not held_out(m.text)]
    test_part = [m for m in corpus if held_out(m.text)]
    rows = training_messages(lexicon, train_part, questions)
    if not test_part or len({label for _, label in rows}) < 2:
        return None
    net = train(rows, lexicon)
    flagged = right = urgent = caught = 0
    for message in test_part:
        score, _ = net.score(normalize(message.text))
        is_urgent = label_of(message.kind) != "none"
        urgent += is_urgent
        if score >= lexicon.net_threshold:
            flagged += 1
            right += is_urgent
        caught += is_urgent and score >= lexicon.net_threshold
    return NetReport(len(rows), len(test_part), flagged, right / flagged if flagged else 1.0,
                     caught / urgent if urgent else 1.0, lexicon.net_threshold)
