"""Hybrid retrieval: TF-IDF on words and character n-grams, a classifier, rapidfuzz and a static semantic
channel, ranked and calibrated into a confidence in [0, 1]."""
from __future__ import annotations

import math
import re
import warnings
from bisect import bisect_left, bisect_right
from dataclasses import dataclass
from typing import Iterable, Mapping, Sequence

import numpy as np
import scipy.sparse as sp
from sklearn.linear_model import LogisticRegression
from rapidfuzz import fuzz, process
from rapidfuzz.distance import OSA, Indel
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS, TfidfVectorizer

from bot.knowledge import KB_CALIBRATION_INPUTS
from bot.lexicon import english_words
from bot.semantic import Cosines, Embedder, shipped_embedder
from bot.text import normalize, root

# Number words carry meaning here ("nine in deep remission", "eleven patients"); keep them.
# Contractions lose their apostrophe in normalize() ("what's" -> "whats"); they carry no topic either.
_CONTRACTIONS = {"whats", "hows", "whos", "wheres", "whens", "whys", "thats", "theres", "its", "im", "ive",
                 "youre", "youve", "dont", "doesnt", "didnt", "isnt", "arent", "wasnt", "cant", "wont",
                 "shouldnt", "couldnt", "wouldnt", "hes", "shes", "theyre", "weve", "lets", "u", "ur", "pls",
                 "please"}
_NUMBER_WORDS = {"one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven",
                 "twelve", "fifteen", "twenty", "forty", "fifty", "sixty", "hundred", "first", "second", "third"}
# scikit-learn's list also drops words that carry a topic in health questions ("side" effects, "serious").
_MEANINGFUL = {"side", "after", "afterwards", "before", "last", "found", "full", "fire", "bill", "system", "serious",
               "never", "less", "more", "most", "move", "keep", "take", "show", "give", "find", "describe",
               "detail", "part", "same", "interest", "empty", "thick", "thin", "back", "front", "bottom", "still",
               "alone", "together", "name", "call", "made", "done", "cannot", "without", "against", "long",
               # question words tell what is asked: "how many" is the study's size, "when" its availability
               "when", "why", "how", "many", "who", "where", "much"}
# The classifier keeps stop words ("can I" asks something else than "how"), so a contraction and its long form
# must meet: "whats" (normalize() drops the apostrophe) is "what is".
_LONG_FORMS = {"whats": "what is", "hows": "how is", "whos": "who is", "wheres": "where is", "whens": "when is",
               "thats": "that is", "theres": "there is", "im": "i am", "ive": "i have", "youre": "you are",
               "youve": "you have", "dont": "do not", "doesnt": "does not", "didnt": "did not", "isnt": "is not",
               "arent": "are not", "wasnt": "was not", "cant": "can not", "cannot": "can not", "wont": "will not",
               "shouldnt": "should not", "couldnt": "could not", "wouldnt": "would not", "theyre": "they are",
               "u": "you", "ur": "your", "r": "are"}


def _plain(norm: str) -> str:
    """Return a normalised text with contractions written out, for the classifier."""
    return " ".join(_LONG_FORMS.get(w, w) for w in norm.split())


STOP_WORDS = frozenset((ENGLISH_STOP_WORDS | _CONTRACTIONS) - _NUMBER_WORDS - _MEANINGFUL)

# The channels, each a score per (query, entry) in [0, 1] (cosines, a probability, shares), in the order of
# RANKING's weights:
FEATURES = (
    "classifier",       # a logistic regression over the knowledge base's own phrasings: P(entry | words)
    "phrasing_chars",   # TF-IDF cosine of character n-grams with the entry's best phrasing (typos, word forms)
    "entry_words",      # TF-IDF cosine of words with the whole entry (question + answer)
    "entry_chars",      # TF-IDF cosine of character n-grams with the whole entry
    "semantic",         # static-embedding cosine with the entry's best phrasing (paraphrases in other words)
    "semantic_entry",   # static-embedding cosine with the whole entry
    "fuzzy",            # rapidfuzz token ratio with the entry's best phrasing, for short queries (0 for long ones)
    "entry_coverage",   # share of the query's content words that the entry holds
    "coverage",         # share of the query's content words the knowledge base knows (chatter aside)
    "domain",           # the query's character likeness to the knowledge base as a whole (capped at 1)
    "unknown_words",    # how many of the query's content words the knowledge base does not know (chatter aside)
)
# Two logistic models, fitted by tools/fit_confidence.py on the public benchmark's *train* questions and the
# shipped knowledge base's regression questions (bench/README.md), one set per kind of index (with or without the
# classifier, with or without the vectors):
# - RANKING: weights over RANKING_INPUTS plus a bias; its logit ranks the shortlisted entries (trained on every
#   (question, shortlisted entry) pair: is this entry a right answer?);
# - CONFIDENCE: weights over CONFIDENCE_INPUTS plus a bias; its probability is the confidence: the chance that
#   the question is one the knowledge base answers (trained on each question's first entry: in scope or off topic),
#   so a threshold means the same on any knowledge base.
RANKING = {
    "with_classifier": (-0.228, 0.661, 0.938, 1.146, 0.933, 0.875, -1.899, 2.09, 2.21, -3.104, -0.045, 1.187,
        0.104, -0.052, 1.078, -0.109, 0.035, 0.157, 1.541, 0.986, 1.536),
    "lexical_only": (-0.367, 1.194, 1.339, 1.742, 0.0, 0.0, -2.007, 2.552, 3.732, -3.837, -0.084, 1.551,
        0.41, 0.161, 1.178, 0.0, 0.0, 0.115, 0.0, 0.0, 2.553),
    "without_classifier": (0.0, 2.487, 1.346, 0.505, 1.624, -0.088, -1.085, 2.039, 0.104, -3.807, -0.234, 0.0,
        0.438, 0.255, 0.676, -0.315, 0.153, 0.111, 1.994, 1.603, 0.075),
    "without_either": (0.0, 3.813, 1.989, 1.128, 0.0, 0.0, -1.17, 2.239, 0.649, -4.354, 0.008, 0.0,
        1.119, 0.075, 0.987, 0.0, 0.0, 0.582, 0.0, 0.0, 0.489),
}
# The ranking reads FEATURES, the logarithms of the scores among them (a channel's first points count more than its
# last), and the better of the two semantic scores with its logarithm (bench/README.md: picked on train).
_LOGGED = [FEATURES.index(name) for name in ("classifier", "phrasing_chars", "entry_words", "entry_chars",
                                              "semantic", "semantic_entry", "entry_coverage")]
RANKING_INPUTS = FEATURES + tuple(f"log_{FEATURES[n]}" for n in _LOGGED) + ("semantic_best", "log_semantic_best")


def ranking_inputs(features: np.ndarray) -> np.ndarray:
    """Return RANKING_INPUTS for each row of FEATURES."""
    best = np.maximum(features[:, FEATURES.index("semantic")], features[:, FEATURES.index("semantic_entry")])
    return np.column_stack([features, np.log(features[:, _LOGGED] + 0.01), best, np.log(best + 0.01)])


# How sharply the ranking logits divide the confidence among the entries (1: the pairwise model's own odds).
RANKING_SHARPNESS = 1.0
# The confidence reads the first entry's ranking logit and what belongs to the query as a whole: how much of it the
# knowledge base knows, how like the knowledge base it is, and the best score of each channel among its entries.
CONFIDENCE_INPUTS = ("ranking", "coverage", "log_coverage", "unknown_words", "domain", "log_domain",
                     "best_entry_coverage", "best_semantic", "log_best_lexical", "best_classifier",
                     "best_phrasing_chars", "best_entry_words", "best_entry_chars", "best_semantic_entry")
# The lexical score of the rounds before the semantic channel (bench/README.md), whose logarithm the confidence
# reads: classifier, phrasing characters, entry words, entry characters, times the entry coverage to the 1/2.
LEXICAL_WEIGHTS = (0.5, 0.17, 0.17, 0.16)
CONFIDENCE = {
    "with_classifier": (0.14, 0.892, 0.348, -1.694, 2.743, 1.043, 2.99, 5.506, 2.131, -5.091, -1.652, -3.008,
        4.574, 1.69, 0.399),
    "lexical_only": (-0.521, 2.339, 1.537, -1.618, 1.753, 0.757, 2.469, 6.241, 4.008, -4.809, -1.526, -2.163,
        6.556, 2.128, 1.529),
    "without_classifier": (0.748, 1.15, 0.022, -1.593, 4.349, 1.04, 3.057, 2.889, 1.241, -4.218, -2.769, -3.779,
        3.377, -0.293, 1.33),
    "without_either": (0.044, 1.07, 0.531, -1.683, 2.6, 1.037, 2.776, 5.934, 2.375, -4.96, -1.634, -2.988,
        4.785, 1.964, 0.4),
}


# KB_CALIBRATION_INPUTS (bot/knowledge.py): the inputs of a knowledge base's own confidence model, which
# settings.yaml names and this module computes.
MARGIN_CAP = 10.0
CONTENT_WORDS_CAP = 8


def combine(in_scope: float, ranking: np.ndarray) -> np.ndarray:
    """Return each entry's confidence: the chance that the question is in scope, for the first entry; for the others
    the same scaled by their odds against the first (the ranking logits' difference), so that an entry that nearly
    ties the first scores nearly as high and the clarify margin sees it."""
    return in_scope * np.exp(RANKING_SHARPNESS * (ranking - ranking.max()))


_FEATURE_AT = {name: n for n, name in enumerate(FEATURES)}


def confidence_inputs(ranking: np.ndarray, features: np.ndarray) -> np.ndarray:
    """Return CONFIDENCE_INPUTS for each shortlisted entry of one query, from the ranking logits and FEATURES: all
    but the first are the same for every entry of the query."""
    query = _query_inputs(features)
    return np.column_stack(_entry_inputs(ranking, features) + [np.tile(np.asarray(query), (len(ranking), 1))])


def _first_confidence_inputs(ranking: np.ndarray, features: np.ndarray, first: int) -> np.ndarray:
    """Return confidence_inputs(ranking, features)[first] without building the other entries' rows (the confidence
    reads the first entry's alone)."""
    return np.asarray(_entry_inputs(ranking[first], features[first]) + _query_inputs(features))


def _entry_inputs(ranking, features: np.ndarray) -> list:
    """The inputs of CONFIDENCE_INPUTS that differ by entry: for every entry (ranking and features of all rows)
    or for one (its logit and its row)."""
    at = _FEATURE_AT
    coverage, domain = features[..., at["coverage"]], features[..., at["domain"]]
    return [ranking, coverage, np.log(coverage + 0.05), features[..., at["unknown_words"]], domain,
            np.log(domain + 0.05)]


def _query_inputs(features: np.ndarray) -> list[float]:
    """The inputs of CONFIDENCE_INPUTS that are the query's own, the same for each of its entries."""
    at = _FEATURE_AT
    lexical = features[:, :4] @ np.asarray(LEXICAL_WEIGHTS) * np.maximum(features[:, at["entry_coverage"]], 1e-3) ** 0.5
    best = features.max(axis=0, initial=0.0)
    return [best[at["entry_coverage"]], best[at["semantic"]], np.log(lexical.max(initial=0.0) + 1e-4)] + [
        best[at[name]] for name in ("classifier", "phrasing_chars", "entry_words", "entry_chars", "semantic_entry")]


# Words of conversation around a question (greetings, apologies, thanks, who is asking and where they read it):
# when the knowledge base does not hold them they do not count as unknown words against the question.
CHATTER = frozenset("""
hello hi hiya hey heya morning afternoon evening dear sorry apologies apologise apologize bother bothering disturb
thanks thank thankyou ta cheers pls plz wondering wonder wondered question questions quick ask asking asked tell
telling told know knows knew hoping hope hopefully really actually basically anyway ok okay yes yeah yep no nope
um uh hmm lol mum mom mother dad father son daughter husband wife partner brother sister boy girl baby friend
friends neighbour neighbor neighbours neighbors uncle aunt auntie cousin grandson granddaughter grandmother
grandfather nan nana grandma grandpa family relative colleague news saw seen read heard watched tv radio paper
newspaper online internet google facebook website site somewhere someone told says said thing things stuff
worried worry scared anxious confused curious interested bit little give show explain simply simple briefly
exactly anything something going gonna wanna lot lots nephew niece nephews nieces grandchild grandchildren
grandkids stepson stepdaughter stepmum stepdad boyfriend girlfriend fiance fiancee mate pal teacher student
""".split())
# A message whose words are all question words or conversation ("why?", "tell me more", "what does that mean")
# names no topic: whatever entry it matches, its confidence is scaled by this (a follow-up in context can still
# lean on the last answer, bot/replies.py).
NO_TOPIC_FACTOR = 0.5
OWN_PHRASING = 0.9  # character or fuzzy similarity from which a message counts as one of the phrasings
# Only queries of up to this many content words get the fuzzy channel: it compares whole phrasings, which pays
# when a short query is one phrasing with a typo or two (bench/README.md), and costs a scan per query.
FUZZY_MAX_WORDS = 4
# The semantic channel adds the entries it ranks best to the lexical shortlist: a paraphrase in other words
# shares no word with its entry.
SEMANTIC_SHORTLIST = 20
# Typos: an unknown word maps onto the knowledge-base word with its first letter that it is nearest, if
# rapidfuzz's ratio between them reaches KNOWN_WORD_RATIO ("remision": remission), or its optimal-string-alignment
# distance (a transposition counts one edit: "tarnsplant") is at most TYPO_EDITS for words of 6+ letters, 1 from
# 4 letters. It then counts as known.
KNOWN_WORD_RATIO = 85
TYPO_EDITS = 2
# A real English word (the shipped word list, bot/lexicon.py english_words: the whole words of the semantic
# channel's tokenizer) is no typo: "wine" is not "wife", "paint" not "point", "liver" not "live". It maps onto a
# knowledge-base word only of its own stem, the same first REAL_WORD_STEM letters ("significance": significant).
REAL_WORD_STEM = 6
# A logistic regression trained on each entry's own phrasings (question + alternates), stop words kept ("can I"
# asks something else than "how"), learns which words tell close entries apart. Skipped for knowledge bases
# bigger than CLASSIFIER_MAX_ENTRIES, where training costs more than it brings.
CLASSIFIER_C = 20.0
CLASSIFIER_MAX_ENTRIES = 2000
# Exact scores are computed only for the entries that a first pass ranks best: words, the character n-grams
# (summed over an entry's phrasings) and the classifier.
SHORTLIST = 30
# A query's character scores with every row come from a numpy walk of its n-grams' postings while they hold at
# most this many values, else from scipy slicing its columns out (bench/README.md: the measured crossover).
SLICE_FROM = 10_000
# How many words' n-gram features and knowledge-base mappings are remembered (words recur; a typo scan is costly).
WORD_CACHE = 20_000
# Capitals that the knowledge base itself writes as an acronym ("ALL", "T-ALL") are kept apart from the
# everyday word when a query writes them in capitals too (and is not shouted as a whole): this suffix marks them.
ACRONYM_MARK = "acr"
_CAPITALS = re.compile(r"(?<![A-Za-z])[A-Z]{2,}(?![a-z])")


@dataclass(frozen=True)
class Document:
    """What retrieval indexes for one entry: its id, the ways it is asked, and its answer."""

    id: str
    questions: tuple[str, ...]
    answer: str = ""


@dataclass(frozen=True)
class Scored:
    """The shortlisted entries of one query, each with its channels' scores (FEATURES) and best phrasing row."""

    entries: np.ndarray  # entry numbers
    features: np.ndarray  # len(entries) x len(FEATURES)
    rows: np.ndarray  # each entry's best-matching phrasing row (character n-grams)
    semantic_rows: np.ndarray  # each entry's best-matching phrasing row (static embedding)
    content: str  # the query's content words, mapped onto the knowledge base's words
    topical: bool = True  # whether one of them is more than a question word ("why", "how many", "more")
    terms: tuple[int, ...] = ()  # the query's content words the knowledge base holds (chatter aside): term ids
    unknown: int = 0  # how many of its content words (chatter aside) the knowledge base does not hold
    outside_semantic: float = 0.0  # its best semantic cosine with an outside question (0 without either)
    chars: tuple[np.ndarray, np.ndarray] | None = None  # its character n-grams: (feature ids, weights)


@dataclass(frozen=True)
class Hit:
    """One ranked match: the entry id, its confidence in [0, 1], and the phrasing that matched best."""

    entry_id: str
    score: float
    matched: str


class Rewriter:
    """Rewrite lay terms and spelling variants to one form, so 'leukaemia' and 'leukemia' meet."""

    def __init__(self, groups: Iterable[Sequence[str]] = ()):
        self.canonical: dict[str, str] = {}
        for group in groups:
            forms = [normalize(t) for t in group if normalize(t)]
            # A canonical form of several words becomes one token ("car t" -> "car_t"): its parts alone
            # ("car", "t") mean something else.
            canonical = forms[0].replace(" ", "_")
            for form in forms:
                if form != canonical:
                    self.canonical.setdefault(form, canonical)
        variants = sorted(self.canonical, key=len, reverse=True)
        self.pattern = re.compile(r"\b(" + "|".join(map(re.escape, variants)) + r")\b") if variants else None

    def __call__(self, norm: str) -> str:
        if self.pattern is None:
            return norm
        return self.pattern.sub(lambda m: self.canonical[m.group(1)], norm)


def _singular(word: str) -> str:
    """Strip a plain plural 's' so 'drugs' meets 'drug' (not 'ss', 'us', 'is' endings)."""
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


def _content(norm: str) -> str:
    """Return the words of a normalised (and rewritten) text that carry meaning, made singular."""
    kept = [_singular(w) for w in norm.split() if w not in STOP_WORDS and (len(w) > 1 or w.isdigit())]
    return " ".join(kept)


class _Vectors:
    """A fitted TF-IDF vectorizer that turns one query into (feature ids, weights) without building a matrix.

    scikit-learn's transform() validates, builds and normalises a sparse matrix for every call: a tenth of a
    millisecond each time, most of a query's cost. The analyzer, vocabulary and idf it learnt are enough.
    """

    def __init__(self, vectorizer: TfidfVectorizer, texts: list[str]):
        self.matrix = vectorizer.fit_transform(texts).tocsr()
        self.analyze = vectorizer.build_analyzer()
        self.vocabulary = vectorizer.vocabulary_
        self.idf = vectorizer.idf_.astype(np.float32)
        # Character n-grams within word boundaries, and single words, come word by word (none crosses a space), so
        # a word's known features are worked out once and remembered: patients' questions reuse a small stock of
        # words.
        self.by_word = vectorizer.analyzer == "char_wb" or (
            vectorizer.analyzer == "word" and vectorizer.ngram_range == (1, 1) and not vectorizer.stop_words)
        self._word_features: dict[str, np.ndarray] = {}

    def _features_of(self, word: str) -> np.ndarray:
        features = self._word_features.get(word)
        if features is None:
            if len(self._word_features) >= WORD_CACHE:  # bounded like the word-fix cache
                self._word_features.clear()
            found = [f for f in map(self.vocabulary.get, self.analyze(word)) if f is not None]
            features = self._word_features[word] = np.asarray(found, dtype=np.int64)
        return features

    def __call__(self, text: str) -> tuple[np.ndarray, np.ndarray]:
        if self.by_word:
            parts = [self._features_of(word) for word in text.split()]
            found = np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)
        else:
            found = np.asarray([f for f in map(self.vocabulary.get, self.analyze(text)) if f is not None],
                               dtype=np.int64)
        if not len(found):
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        features, counts = _counted(found)
        weights = 1.0 + np.log(counts.astype(np.float32))
        weights *= self.idf[features]
        weights /= np.sqrt(weights @ weights)
        return features, weights


def _counted(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return the distinct values of a fresh integer array (sorted in place) and how often each occurs: what
    np.unique(values, return_counts=True) returns, without its general-purpose checks (a few microseconds a call,
    four calls a query)."""
    values.sort()
    first = np.empty(len(values), dtype=bool)
    first[:1] = True
    np.not_equal(values[1:], values[:-1], out=first[1:])
    starts = np.flatnonzero(first)
    return values[starts], np.diff(starts, append=len(values))


def _spans(starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """Return the positions start..end-1 of every span, one after the other, without a Python loop."""
    lengths = ends - starts
    total = int(lengths.sum())
    if not total:
        return np.zeros(0, dtype=np.int64)
    before = np.cumsum(lengths) - lengths  # where each span begins in the output
    return np.repeat(starts - before, lengths) + np.arange(total)


def _gather(postings: sp.csr_matrix, features: np.ndarray, weights: np.ndarray, size: int) -> np.ndarray:
    """Return the dot product of a query (features, weights) with every column of a features x columns matrix,
    reading only the query's postings."""
    if not len(features):
        return np.zeros(size, dtype=np.float64)
    starts, ends = postings.indptr[features], postings.indptr[features + 1]
    spans = _spans(starts, ends)
    values = postings.data[spans] * np.repeat(weights, ends - starts)
    return np.bincount(postings.indices[spans], values, minlength=size)


class _Lengths:
    """Words sorted by length, for finding the nearest to a typo among those of a length it could reach."""

    def __init__(self, words: Iterable[str]):
        self.words = sorted(words, key=len)  # stable: the given order within each length

    def nearest(self, word: str) -> tuple[str, float, int] | None:
        """Return rapidfuzz's best match at ratio KNOWN_WORD_RATIO or more, or None."""
        # ratio = 200 * matches / (len(a) + len(b)) and matches <= the shorter length, so a word of length n can
        # only reach the bar against lengths from n * r / (200 - r) to n * (200 - r) / r (r = the bar).
        bar, size = KNOWN_WORD_RATIO, len(word)
        shortest = math.ceil(size * bar / (200 - bar) - 1e-9)
        longest = math.floor(size * (200 - bar) / bar + 1e-9)
        first = bisect_left(self.words, shortest, key=len)
        last = bisect_right(self.words, longest, key=len)
        if first >= last:
            return None
        return process.extractOne(word, self.words[first:last], scorer=fuzz.ratio, score_cutoff=KNOWN_WORD_RATIO)

    def within_edits(self, word: str) -> str | None:
        """Return the word nearest this one by optimal string alignment (a swap of two letters is one edit), if
        within TYPO_EDITS edits (one for words under six letters), or None."""
        edits = TYPO_EDITS if len(word) >= 6 else 1
        first = bisect_left(self.words, len(word) - edits, key=len)
        last = bisect_right(self.words, len(word) + edits, key=len)
        if first >= last:
            return None
        found = process.extractOne(word, self.words[first:last], scorer=OSA.distance, score_cutoff=edits)
        return found[0] if found else None


_SHIPPED = object()  # Index(embedder=...) default: the vectors shipped in bot/vectors/


class Index:
    """A retrieval index built once from the knowledge base; searching it fits nothing."""

    def __init__(self, documents: Iterable[Document], synonyms: Iterable[Sequence[str]] = (), *,
                 embedder: Embedder | None | object = _SHIPPED, calibration: Mapping[str, float] | None = None,
                 outside: Sequence[str] = ()):
        """calibration: the knowledge base's own confidence model (weights by KB_CALIBRATION_INPUTS name, and
        "bias"); None: the shared confidence. outside: questions the knowledge base knows it does not answer
        (outside.yaml), which compete with the entries' phrasings in that model."""
        self.rewrite = Rewriter(synonyms)
        documents = list(documents)
        # Acronyms the knowledge base writes in capitals that would otherwise be stop words ("ALL", "US").
        self.acronyms = frozenset(m.lower() for doc in documents for text in doc.questions + (doc.answer,)
                                  for m in _CAPITALS.findall(text) if m.lower() in STOP_WORDS)
        phrasings: list[str] = []  # content words of each question and alternate
        plain: list[str] = []  # the same with stop words kept, for the classifier
        self.originals: list[str] = []
        self.fuzzy_texts: list[str] = []  # each phrasing normalised, stop words kept, for the fuzzy channel
        owners: list[int] = []
        entries: list[str] = []  # content words of each entry's question and answer together
        wholes: list[str] = []
        self.ids: list[str] = []
        for number, doc in enumerate(documents):
            if not doc.questions:  # search() relies on every entry owning at least one phrasing row
                raise ValueError(f"document {doc.id!r} has no question to index")
            self.ids.append(doc.id)
            for question in doc.questions:
                norm = normalize(self._mark(question, force=True))
                phrasings.append(_content(self.rewrite(norm)) or norm)
                plain.append(_plain(self.rewrite(norm)))
                self.originals.append(question)
                self.fuzzy_texts.append(normalize(question))
                owners.append(number)
            wholes.append(" ".join(doc.questions[:1] + (doc.answer,)))
            whole = normalize(self._mark(wholes[-1], force=True))
            entries.append(_content(self.rewrite(whole)) or whole)
        if not phrasings:
            raise ValueError("nothing to index: no documents with questions")
        self.owners = np.asarray(owners)
        self._fuzzy_array = np.asarray(self.fuzzy_texts, dtype=object)  # picks a shortlist's texts in one call
        self._fuzzy_lengths = np.asarray([len(t) for t in self.fuzzy_texts], dtype=np.float64)
        count = len(self.ids)
        # Each entry's phrasings are consecutive rows: entry e owns rows first[e] to first[e + 1].
        self.first = np.searchsorted(self.owners, np.arange(count + 1))
        self._every_row = np.arange(len(self.owners))
        # Words: unigrams over whole entries. Characters: n-grams within words, over phrasings and entries.
        words = _Vectors(TfidfVectorizer(analyzer="word", sublinear_tf=True, token_pattern=r"(?u)\b\w+\b",
                                         dtype=np.float32), entries)
        chars = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 4), sublinear_tf=True, dtype=np.float32)
        self.chars = _Vectors(chars, phrasings + entries)
        self.words = words
        self.entry_words = words.matrix.T.tocsr()  # features x entries: postings
        self.phrasing_chars = self.chars.matrix[: len(phrasings)]  # rows x features
        self.entry_chars = self.chars.matrix[len(phrasings):]
        # Every row's character n-grams, phrasings first then entries, twice: by n-gram (postings, for a numpy
        # walk) and by column (for scipy to slice a long query's columns out and multiply them in C).
        self.char_postings = self.chars.matrix.T.tocsr()
        self.char_columns = self.chars.matrix.tocsc()
        self.char_values = np.diff(self.char_postings.indptr)  # how many rows hold each n-gram
        self.vocabulary = sorted({w for text in phrasings + entries for w in text.split()})
        # Which entries hold each word (in a phrasing, the question or the answer).
        term_ids = {w: n for n, w in enumerate(self.vocabulary)}
        pairs = {(term_ids[w], e) for e, text in enumerate(entries) for w in text.split()}
        pairs |= {(term_ids[w], e) for text, e in zip(phrasings, owners) for w in text.split()}
        terms, holders = zip(*sorted(pairs)) if pairs else ((), ())
        self.term_ids = term_ids
        self.entry_terms = sp.csr_matrix((np.ones(len(terms), dtype=np.float32), (terms, holders)),
                                         shape=(len(self.vocabulary), count))
        # How rare each word is among the entries (smoothed idf over entries, 1 for a word no entry holds): for the
        # knowledge base's own calibration, which also reads the words each entry holds (_entry_words, made on
        # first use: a knowledge base without a calibration never needs it).
        holding = np.diff(self.entry_terms.indptr)
        self.term_rarity = (np.log((1 + count) / (1 + holding)) + 1) / (math.log(1 + count) + 1)
        self._entry_words: sp.csr_matrix | None = None
        self._held: dict[int, frozenset[int]] = {}
        # The knowledge base's own centre: the mean of its phrasings' character vectors. A question far from it,
        # compared with how far the knowledge base's own questions are, is likely about something else.
        self.centre = np.asarray(self.phrasing_chars.mean(axis=0), dtype=np.float32).ravel()
        own = np.asarray(self.phrasing_chars[self.first[:-1]] @ self.centre).ravel()
        self.typical = float(np.median(own)) if len(own) and np.median(own) > 0 else 1.0
        self._known = set(self.vocabulary)
        self._stems = {self._stem(w) for w in self.vocabulary}
        # Words by length (alphabetical within a length) per first letter, so a typo check reads one slice of the
        # lengths it could reach: _Lengths.
        by_letter: dict[str, list[str]] = {}
        for word in self.vocabulary:
            by_letter.setdefault(word[0], []).append(word)
        self._lengths_by_letter = {letter: _Lengths(words) for letter, words in by_letter.items()}
        self._roots: dict[str, str] = {}
        for word in self.vocabulary:
            self._roots.setdefault(root(word), word)
        self._fix_cache: dict[str, str] = {}
        self.real_words = english_words()
        self._last_normalised: tuple[str | None, tuple[str, str]] = (None, ("", ""))
        self.classifier = None
        if 2 <= count <= CLASSIFIER_MAX_ENTRIES:
            self.classifier = self._train(plain)
        self.embedder = shipped_embedder() if embedder is _SHIPPED else embedder
        self.semantic_rows = self.semantic_entries = None
        if self.embedder is not None:
            # Centred on the knowledge base's own mean phrasing: what every text shares (the question words, the
            # topic of the whole knowledge base) then tells no entry from another.
            # Texts in their normalised form, as queries are read (a reply cache keys on it).
            rows = self.embedder.encode(self.fuzzy_texts)
            self.semantic_centre = rows.mean(axis=0)
            self.semantic_rows = _unit(rows - self.semantic_centre)
            self.semantic_entries = _unit(self.embedder.encode([normalize(w) for w in wholes]) - self.semantic_centre)
        self._outside(list(outside))
        # A query's cosines with the phrasings, the entries and the outside questions, in that order (Cosines).
        self.cosines = None
        if self.embedder is not None:
            parts = [self.semantic_rows, self.semantic_entries] + (
                [self.outside_semantic] if self.outside_semantic is not None else [])
            self.cosines = Cosines(self.embedder, np.vstack(parts), self.semantic_centre)
        self.kind = ("with" if self.classifier is not None else "without") + "_classifier"
        if self.embedder is None:
            self.kind = "lexical_only" if self.classifier is not None else "without_either"
        self.ranking = np.asarray(RANKING[self.kind], dtype=np.float64)
        self.calibration = np.asarray(CONFIDENCE[self.kind], dtype=np.float64)
        self.kb_calibration = None
        if calibration:
            unknown = set(calibration) - set(KB_CALIBRATION_INPUTS) - {"bias"}
            if unknown:
                raise ValueError(f"calibration: unknown input(s) {', '.join(sorted(unknown))}; expected "
                                 f"{', '.join(KB_CALIBRATION_INPUTS)} and bias")
            self.kb_calibration = (np.asarray([float(calibration.get(n, 0.0)) for n in KB_CALIBRATION_INPUTS]),
                                   float(calibration.get("bias", 0.0)))

    def _outside(self, outside: list[str]) -> None:
        """Index the questions the knowledge base does not answer: their character n-grams (read as a query is)
        and their centred semantic vectors, compared with a query's in its own calibration (kb_inputs)."""
        self.outside_chars = self.outside_semantic = None
        if not outside:
            return
        rows, columns, values = [], [], []
        for number, text in enumerate(outside):
            features, weights = self.chars(self.forms(text)[1])
            rows += [number] * len(features)
            columns += features.tolist()
            values += weights.tolist()
        # n-grams x outside questions: postings, walked like the entries' (_gather)
        self.outside_chars = sp.csr_matrix((np.asarray(values, dtype=np.float32), (columns, rows)),
                                           shape=(len(self.chars.vocabulary), len(outside)))
        if self.embedder is not None:
            self.outside_semantic = _unit(self.embedder.encode([normalize(t) for t in outside]) - self.semantic_centre)

    def matching_form(self, text: str) -> str:
        """Return the form of a message that retrieval reads (normalised, acronyms in capitals marked): two
        messages with the same form get the same hits, so a reply cache may key on it."""
        return self._normalised(text)[0]

    def _normalised(self, text: str) -> tuple[str, str]:
        """Return a message's matching form and its plain normalised text (the same unless an acronym is marked),
        remembered for the last message: the reply, its cache key and every channel read them."""
        last = self._last_normalised
        if last[0] == text:
            return last[1]
        marked = self._mark(text)
        form = normalize(marked)
        found = (form, form if marked == text else normalize(text))
        self._last_normalised = (text, found)
        return found

    def _mark(self, text: str, *, force: bool = False) -> str:
        """Mark the knowledge base's acronyms where a text writes them in capitals ("is ALL curable"), unless the
        whole text is in capitals (shouting says nothing about acronyms). force: a knowledge-base text."""
        if not self.acronyms or not _CAPITALS.search(text):  # no run of capitals: nothing to mark, nor shouted
            return text
        letters = [c for c in text if c.isalpha()]
        if not force and sum(c.isupper() for c in letters) > 0.6 * len(letters) and any(
                len(m) > 2 and m.lower() not in self.acronyms for m in _CAPITALS.findall(text)):
            return text  # shouted: mostly capitals, and words in capitals that are no acronym
        return _CAPITALS.sub(lambda m: m.group(0) + ACRONYM_MARK if m.group(0).lower() in self.acronyms
                             else m.group(0), text)

    def _train(self, plain: list[str]) -> tuple[_Vectors, _Vectors, np.ndarray, np.ndarray] | None:
        """Fit the classifier on every phrasing; keep its weights as features x entries for one-query scoring."""
        words = _Vectors(TfidfVectorizer(analyzer="word", sublinear_tf=True, token_pattern=r"(?u)\b\w+\b",
                                         dtype=np.float32), plain)
        chars = _Vectors(TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 4), sublinear_tf=True,
                                         dtype=np.float32), plain)
        features = sp.hstack([words.matrix, chars.matrix]).tocsr()
        model = LogisticRegression(C=CLASSIFIER_C, max_iter=300, tol=1e-3)
        with warnings.catch_warnings():
            # One phrasing per entry is a valid, if thin, training set: not the regression sklearn suspects.
            warnings.simplefilter("ignore", UserWarning)
            model.fit(features, self.owners)
        coefficients = np.zeros((features.shape[1], len(self.ids)), dtype=np.float32)
        coefficients[:, model.classes_] = model.coef_.T
        intercepts = np.full(len(self.ids), -np.inf, dtype=np.float32)
        intercepts[model.classes_] = model.intercept_
        if len(model.classes_) == 2:  # a binary model keeps one row of weights: the second class's
            coefficients[:, model.classes_[0]] = 0.0
            intercepts[model.classes_[0]] = 0.0
        return words, chars, coefficients, intercepts

    def __len__(self) -> int:
        return len(self.ids)

    def _probabilities(self, text: str) -> np.ndarray:
        words, chars, coefficients, intercepts = self.classifier
        word_features, word_weights = words(text)
        char_features, char_weights = chars(text)
        logits = intercepts.copy()
        if len(word_features):
            logits += word_weights @ coefficients[word_features]
        if len(char_features):
            logits += char_weights @ coefficients[len(words.vocabulary) + char_features]
        logits -= logits.max()
        odds = np.exp(logits)
        return odds / odds.sum()

    def search(self, query: str, *, limit: int = 5, cutoff: float = 0.0) -> list[Hit]:
        """Return up to limit entries best matching the query, best first, each with its confidence (the
        calibrated probability that it is the right answer) at least cutoff."""
        scored = self.score(query)
        if scored is None:
            return []
        confidence, ranking = self.confidence(scored.features, scored)
        if not scored.topical:
            confidence = confidence * NO_TOPIC_FACTOR
        hits = []
        for position in np.argsort(-ranking, kind="stable")[:limit]:
            if confidence[position] < cutoff:
                break
            entry = scored.entries[position]
            hits.append(Hit(self.ids[entry], float(confidence[position]), self.originals[scored.rows[position]]))
        return hits

    def confidence(self, features: np.ndarray, scored: Scored | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Return the calibrated confidence and the ranking logit of each shortlisted entry of one query (rows of
        FEATURES): the first entry's chance of being in scope, the others' scaled by their odds against it, so both
        order alike. With the knowledge base's own calibration (and the query's Scored), that model decides the
        first entry's chance."""
        logit, ranking = self._shared(features)
        if self.kb_calibration is not None and scored is not None:
            weights, bias = self.kb_calibration
            logit = float(self.kb_inputs(logit, ranking, features, scored) @ weights + bias)
        return combine(1.0 / (1.0 + np.exp(-logit)), ranking), ranking

    def _shared(self, features: np.ndarray) -> tuple[float, np.ndarray]:
        """Return the shared confidence's logit for the first entry, and every entry's ranking logit."""
        ranking = ranking_inputs(features) @ self.ranking[:-1] + self.ranking[-1]
        first = int(np.argmax(ranking))
        logit = _first_confidence_inputs(ranking, features, first) @ self.calibration[:-1] + self.calibration[-1]
        return float(logit), ranking

    def calibration_inputs(self, query: str) -> np.ndarray | None:
        """Return KB_CALIBRATION_INPUTS of a query's first entry, from the shared confidence (what the knowledge
        base's own calibration is fitted on), or None when nothing matches."""
        scored = self.score(query)
        if scored is None:
            return None
        logit, ranking = self._shared(scored.features)
        return self.kb_inputs(logit, ranking, scored.features, scored)

    def kb_inputs(self, logit: float, ranking: np.ndarray, features: np.ndarray, scored: Scored) -> np.ndarray:
        """Return KB_CALIBRATION_INPUTS for a query's first entry (logit: the shared confidence's)."""
        first = int(np.argmax(ranking))
        runner_up = np.partition(ranking, -2)[-2] if len(ranking) > 1 else -np.inf
        held = self._held_terms(int(scored.entries[first]))
        unheld = self.term_rarity[[term for term in scored.terms if term not in held]]
        rarity = max(float(unheld.max(initial=0.0)), 1.0 if scored.unknown else 0.0)
        column = {name: features[first, n] for name, n in _FEATURE_AT.items()}
        semantic_lead = chars_lead = outside_semantic = outside_chars = 0.0
        if self.outside_chars is not None:
            outside_semantic, outside_chars = self.outside_scores(scored)
            if self.outside_semantic is not None:
                semantic_lead = outside_semantic - column["semantic"]
            chars_lead = outside_chars - column["phrasing_chars"]
            if max(column["phrasing_chars"], column["fuzzy"]) >= OWN_PHRASING:
                # one of the entry's own phrasings, near enough: how like an outside question it also is says
                # nothing ("what about myeloma" is an alternate, beside the outside "myeloma, what kind of cancer")
                outside_semantic = outside_chars = 0.0
        return np.asarray([logit, min(MARGIN_CAP, ranking[first] - runner_up), rarity,
                           min(CONTENT_WORDS_CAP, len(scored.terms) + scored.unknown),
                           column["classifier"], column["semantic"], column["semantic_entry"], column["domain"],
                           semantic_lead, chars_lead, outside_semantic, outside_chars])

    def _held_terms(self, entry: int) -> frozenset[int]:
        """Return the term ids an entry holds, remembered per entry (a set: a query's few words are looked up in it
        faster than np.isin sorts them together)."""
        held = self._held.get(entry)
        if held is None:
            if self._entry_words is None:
                self._entry_words = self.entry_terms.T.tocsr()  # entries x words
            start, end = self._entry_words.indptr[entry], self._entry_words.indptr[entry + 1]
            held = self._held[entry] = frozenset(self._entry_words.indices[start:end].tolist())
        return held

    def outside_scores(self, scored: Scored) -> tuple[float, float]:
        """Return a query's best similarity with the questions the knowledge base does not answer: by meaning
        (semantic cosine) and by characters; 0 for a channel without them."""
        semantic = chars = 0.0
        if self.outside_semantic is not None:
            semantic = scored.outside_semantic
        if self.outside_chars is not None and scored.chars is not None and len(scored.chars[0]):
            features, weights = scored.chars
            chars = float(_gather(self.outside_chars, features, weights, self.outside_chars.shape[1]).max())
        return semantic, chars

    def score(self, query: str) -> Scored | None:
        """Return the shortlisted entries of a query with every channel's score, or None when nothing matches."""
        raw, content, plain = self.forms(query)
        known, asked = self._known_words(raw)
        if not content or not known and not _content(raw):  # nothing but common words the knowledge base lacks
            return None
        count = len(self.ids)
        word_features, word_weights = self.words(content)
        char_features, char_weights = self.chars(content)
        semantic = None
        outside_semantic = 0.0
        typed = self._normalised(query)[1]  # as the semantic rows and the fuzzy texts were read
        cosines = self.cosines(typed) if self.cosines is not None else None
        if cosines is not None:
            rows_count = len(self.owners)
            semantic, entry_cosines = cosines[:rows_count], cosines[rows_count:rows_count + count]
            if len(cosines) > rows_count + count:
                outside_semantic = max(0.0, float(cosines[rows_count + count:].max()))
        if not len(word_features) and not len(char_features) and semantic is None:
            return None
        word = _gather(self.entry_words, word_features, word_weights, count)
        every, entry_chars = self._char_scores(char_features, char_weights)
        rough = word + np.bincount(self.owners, every, minlength=count)
        probability = None
        if self.classifier is not None:
            probability = self._probabilities(plain)
            rough = rough + probability
        shortlist = np.flatnonzero(rough > 0)
        if len(shortlist) > SHORTLIST:
            shortlist = shortlist[np.argpartition(-rough[shortlist], SHORTLIST)[:SHORTLIST]]
        best_semantic = None
        if semantic is not None:
            best_semantic = np.maximum.reduceat(semantic, self.first[:-1])
            near = min(SEMANTIC_SHORTLIST, count)
            nearest = np.argpartition(-best_semantic, near - 1)[:near]
            shortlist = _counted(np.concatenate((shortlist, nearest)))[0]  # np.union1d
        if not len(shortlist):
            return None
        # Every entry has at least one phrasing, so each shortlisted entry owns a non-empty run of rows.
        every_entry = len(shortlist) == count  # then in order (sorted): a small knowledge base's every row
        if every_entry:
            rows, offsets = self._every_row, self.first[:-1]
        else:
            starts, ends = self.first[shortlist], self.first[shortlist + 1]
            rows = _spans(starts, ends)
            offsets = np.cumsum(ends - starts) - (ends - starts)  # where each shortlisted entry's rows begin in rows
        phrasing = every if every_entry else every[rows]
        features = np.zeros((len(shortlist), len(FEATURES)), dtype=np.float64)
        features[:, 0] = probability[shortlist] if probability is not None else 0.0
        features[:, 1] = np.maximum.reduceat(phrasing, offsets)
        features[:, 2] = word[shortlist]
        features[:, 3] = entry_chars[shortlist]
        best_rows = rows[offsets + _argmax_runs(phrasing, offsets)]
        semantic_best = best_rows
        if semantic is not None:
            features[:, 4] = np.maximum(best_semantic[shortlist], 0.0)
            features[:, 5] = np.maximum(entry_cosines[shortlist], 0.0)
            semantic_best = rows[offsets + _argmax_runs(semantic if every_entry else semantic[rows], offsets)]
        words = [w for w in content.split() if not (w in CHATTER and w not in self._known)]
        if 0 < len(words) <= FUZZY_MAX_WORDS:
            texts = self.fuzzy_texts if every_entry else self._fuzzy_array[rows].tolist()
            # fuzz.ratio / 100, from the integer Indel distances rapidfuzz returns faster than the ratios
            lengths = len(typed) + (self._fuzzy_lengths if every_entry else self._fuzzy_lengths[rows])
            distances = process.cdist([typed], texts, scorer=Indel.distance, dtype=np.int32)[0]
            similarity = (1.0 - distances / lengths).astype(np.float32)
            features[:, 6] = np.maximum.reduceat(similarity, offsets)
        ids = [self.term_ids[w] for w in words if w in self.term_ids]
        held = _gather(self.entry_terms, np.asarray(ids, dtype=np.int64), np.ones(len(ids), dtype=np.float32),
                       count)[shortlist]
        features[:, 7] = held / len(words) if words else 0.0
        features[:, 8] = known / asked if asked else 0.0
        features[:, 10] = asked - known
        if len(char_features):
            features[:, 9] = min(1.0, float(char_weights @ self.centre[char_features]) / self.typical)
        # (A message that is one of the knowledge base's own phrasings, near enough, names its topic anyway.)
        topical = any(w not in _MEANINGFUL and w not in CHATTER for w in content.split()) or \
            max(features[:, 1].max(), features[:, 6].max()) >= OWN_PHRASING
        return Scored(shortlist, features, best_rows, semantic_best, content, topical, tuple(ids),
                      len(words) - len(ids), outside_semantic, (char_features, char_weights))

    def _char_scores(self, features: np.ndarray, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Return a query's character cosine with every phrasing and with every entry."""
        phrasings = len(self.owners)
        if int(self.char_values[features].sum()) <= SLICE_FROM:
            # A short walk in numpy costs less than scipy's fixed cost per slice.
            scores = _gather(self.char_postings, features, weights, self.char_postings.shape[1])
        else:
            scores = np.asarray(self.char_columns[:, features] @ weights, dtype=np.float64).ravel()
        return scores[:phrasings], scores[phrasings:]

    def explain(self, query: str, *, limit: int = 3) -> list[dict]:
        """Return, for the best entries, each channel's score, the confidence, the phrasings that matched best
        (by characters and by meaning) and the query's words the entry holds. For `ask --why`; not used to answer."""
        scored = self.score(query)
        if scored is None:
            return []
        confidence, ranking = self.confidence(scored.features, scored)
        query_words = scored.content.split()
        out = []
        for position in np.argsort(-ranking, kind="stable")[:limit]:
            entry = int(scored.entries[position])
            held = [w for w in query_words if w in self.term_ids
                    and self.entry_terms[self.term_ids[w], entry]]
            out.append({
                "entry_id": self.ids[entry], "confidence": float(confidence[position]),
                "channels": {name: float(v) for name, v in zip(FEATURES, scored.features[position])},
                "ranking_terms": {name: float(v * w) for name, v, w in
                                  zip(RANKING_INPUTS, ranking_inputs(scored.features[position:position + 1])[0],
                                      self.ranking[:-1])},
                "matched_phrasing": self.originals[scored.rows[position]],
                "semantic_phrasing": self.originals[scored.semantic_rows[position]],
                "shared_words": held, "query_words": query_words,
            })
        return out

    def forms(self, query: str) -> tuple[str, str, str]:
        """Return a query's content words as typed, the same mapped onto the knowledge base's words, and its
        plain form (stop words kept, mapped too) for the classifier."""
        norm = self._normalised(query)[0]
        rewritten = self.rewrite(norm)
        raw = _content(rewritten) or " ".join(w for w in norm.split() if len(w) > 1)
        content = " ".join(self._fix(w) for w in raw.split())
        plain = " ".join(w if w in STOP_WORDS or _singular(w) in self._known else self._fix(_singular(w))
                         for w in _plain(rewritten).split())
        return raw, content, plain

    @staticmethod
    def _stem(word: str) -> str:
        """Cut common English endings so 'worked', 'working' and 'work' count as one known word."""
        for ending in ("ing", "ed", "er", "ly", "ment"):
            if word.endswith(ending) and len(word) - len(ending) >= 4:
                return word[: -len(ending)]
        return word

    def coverage(self, content: str) -> float:
        """Return the share of a query's content words that the knowledge base knows, typos allowed; words of
        conversation around the question (CHATTER) do not count against it."""
        known, asked = self._known_words(content)
        return known / asked if asked else 0.0

    def _known_words(self, content: str) -> tuple[int, int]:
        """Return how many of a query's content words the knowledge base knows, and how many count (CHATTER
        that it does not know is left out)."""
        known = asked = 0
        for word in content.split():
            # held as it is, with another common ending, or mapped onto a knowledge-base word: the same root
            # or a typo of it (the mapping the query's words get anyway)
            if word in self._known or self._stem(word) in self._stems or self._fix(word) != word or "_" in word:
                known += 1
                asked += 1
            elif word not in CHATTER:
                asked += 1
        return known, asked

    def _fix(self, word: str) -> str:
        """Map a word the knowledge base does not hold to one it does: same root, or a typo of it; else keep it."""
        if word in self._known or "_" in word:
            return word
        fixed = self._fix_cache.get(word)
        if fixed is None:
            if len(self._fix_cache) >= WORD_CACHE:  # bounded: a stream of gibberish cannot grow it
                self._fix_cache.clear()
            fixed = self._roots.get(root(word))
            if fixed is None and len(word) >= 4:
                fixed = self._scan_nearest(word)
                if fixed and fixed[:REAL_WORD_STEM] != word[:REAL_WORD_STEM] and self._real_word(word):
                    fixed = None
            fixed = self._fix_cache[word] = fixed or word
        return fixed

    def _real_word(self, word: str) -> bool:
        """Whether a word (made singular by _content) is a real English word of the shipped word list."""
        real = self.real_words
        return word in real or word + "s" in real or word + "es" in real

    def _scan_nearest(self, word: str) -> str | None:
        """Return the knowledge-base word nearest this one (same first letter): rapidfuzz's ratio at least
        KNOWN_WORD_RATIO, else within TYPO_EDITS edits counting a swap of two letters as one."""
        lengths = self._lengths_by_letter.get(word[0])
        if not lengths:
            return None
        found = lengths.nearest(word)
        return found[0] if found else lengths.within_edits(word)


def _unit(vectors: np.ndarray) -> np.ndarray:
    """Return vectors (one, or one per row) scaled to length 1 (zero vectors stay zero)."""
    norms = np.linalg.norm(vectors, axis=-1, keepdims=True)
    return np.divide(vectors, norms, out=np.zeros_like(vectors), where=norms > 0)


def _argmax_runs(values: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """Return the position of the largest value within each run (runs start at offsets), relative to its start."""
    lengths = np.diff(np.append(offsets, len(values)))
    best = np.repeat(np.maximum.reduceat(values, offsets), lengths)
    where = np.where(values >= best, np.arange(len(values)), len(values))
    return np.minimum.reduceat(where, offsets) - offsets
