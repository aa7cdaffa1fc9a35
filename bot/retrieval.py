"""Hybrid retrieval: TF-IDF on words and character n-grams fused with a classifier, into a confidence in [0, 1]."""
from __future__ import annotations

import math
import re
import warnings
from bisect import bisect_left, bisect_right
from collections import Counter
from dataclasses import dataclass
from typing import Iterable, Sequence

import numpy as np
import scipy.sparse as sp
from sklearn.linear_model import LogisticRegression
from rapidfuzz import fuzz, process
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS, TfidfVectorizer

try:  # the C kernels behind scipy's row indexing and products, called without its checks and conversions
    from scipy.sparse._sparsetools import csc_matvec as _csc_matvec, csr_matvec as _csr_matvec, \
        csr_row_index as _csr_row_index
except ImportError:  # pragma: no cover - a scipy that moved them: its public (slower) operations instead
    _csc_matvec = _csr_matvec = _csr_row_index = None

from bot.text import normalize

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

# Thresholds, chosen on the shipped knowledge base's regression questions (run.py eval), 85 in scope and
# 39 off topic:
# - FALLBACK_BELOW: in-scope questions score 0.066-1.0, all but four above 0.11; off-topic ones 0-0.056, save
#   one at 0.15 ("side effects of ibuprofen", which shares "side effects" with an entry). 0.063 sits between,
#   nearer the in-scope side. Missing a real question (a fallback with suggestions) costs less than a confident
#   wrong answer: when in doubt, raise it. (The entry-coverage and domain factors below multiply every score by
#   up to 1, hence a lower scale than before; on the public benchmark, bench/README.md, 0.063 sends 99.8% of its
#   off-topic questions to the fallback closed book, 97.3% with alternates.)
# - CLARIFY_MARGIN: when the second entry is within this distance of the first, neither clearly wins and
#   the patient is asked which one they meant.
FALLBACK_BELOW = 0.063
CLARIFY_MARGIN = 0.02

# Fusion weights (sum to 1), chosen on the public benchmark (bench/README.md): the classifier's probability,
# character n-grams against each phrasing of an entry (typos, word forms), words and character n-grams against
# the whole entry (question + answer: the answer holds words a patient uses that the question lacks).
CLASSIFIER_WEIGHT = 0.5
QUESTION_WEIGHT = 0.17
ENTRY_WORD_WEIGHT = 0.17
ENTRY_CHAR_WEIGHT = 0.16
# Confidence factors (each at most 1), chosen on the benchmark's train questions only (bench/README.md):
# - a question whose words the knowledge base has never seen is about something else: the score is scaled by
#   the share of the query's words the knowledge base knows (typos allowed), to COVERAGE_POWER, and by
#   UNKNOWN_WORD_FACTOR once more for each unknown word (one unknown word in a two-word question is a worse
#   sign than one in ten, and each is a sign of its own);
# - ENTRY_COVERAGE_POWER: an entry's score is scaled by the share of the query's words that the entry itself
#   holds (in a phrasing, its question or its answer), to this power;
# - DOMAIN_POWER: the question's character-n-gram similarity to the mean of the knowledge base's phrasings,
#   relative to the median of the knowledge base's own questions (capped at 1), to this power: a question
#   that looks like none of the knowledge base as a whole, but matches one entry on a word or two, is likely
#   about something else.
COVERAGE_POWER = 1.0
UNKNOWN_WORD_FACTOR = 0.7
ENTRY_COVERAGE_POWER = 0.5
DOMAIN_POWER = 1.0
# An unknown word of four letters or more is a typo of the knowledge-base word with its first letter that it is
# nearest, if rapidfuzz's ratio between them reaches this ("remision": remission); it then counts as known.
KNOWN_WORD_RATIO = 85
# A logistic regression trained on each entry's own phrasings (question + alternates), stop words kept ("can I"
# asks something else than "how"), learns which words tell close entries apart. Skipped for knowledge bases
# bigger than CLASSIFIER_MAX_ENTRIES, where training costs more than it brings; its weight then goes to the rest.
CLASSIFIER_C = 20.0
CLASSIFIER_MAX_ENTRIES = 2000
# Exact scores are computed only for the entries that a cheap first pass ranks best: words, and the character
# n-grams rare enough (in at most SELECTIVE_ROWS rows) that their postings are short.
SHORTLIST = 100
SELECTIVE_ROWS = 2000
# How many words' n-gram features and knowledge-base mappings are remembered (words recur; a typo scan is costly).
WORD_CACHE = 20_000
# What reading one stored value costs, in values of a whole sparse product, walking postings; and the fixed cost
# of copying rows out (_rows_dot): measured on the public benchmark and the synthetic 10,000-entry base. (Since the
# copies call scipy's C kernels directly, a fixed cost of 5,000 to 300,000 times the same; bench/README.md.)
POSTINGS_COST = 4
PICK_COST = 300_000
# From this many stored values on, _gather hands the walk to scipy's C kernels (below it numpy's few calls cost
# less than setting them up).
SCIPY_GATHER = 2_000
# The first pass scores every phrasing with all the query's n-grams when that reads at most this many times the
# values its rarer n-grams alone would (then the exact pass reuses it); else the rarer ones only.
FUSE_COST = 4


@dataclass(frozen=True)
class Document:
    """What retrieval indexes for one entry: its id, the ways it is asked, and its answer."""

    id: str
    questions: tuple[str, ...]
    answer: str = ""


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


def _root(word: str) -> str:
    """Cut common English endings, for mapping a query's unseen word form to the knowledge base's ('graduating',
    'graduate'; 'properties', 'property'). Only used for words the knowledge base does not hold as they are."""
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    for ending in ("ing", "ed", "es", "er", "ly", "ment", "s", "e", "y"):
        if word.endswith(ending) and len(word) - len(ending) >= 4:
            return word[: -len(ending)]
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
        # Character n-grams within word boundaries come word by word, so a word's known n-grams are worked out
        # once and remembered: patients' questions reuse a small stock of words.
        self.by_word = vectorizer.analyzer == "char_wb"
        self._word_features: dict[str, tuple[int, ...]] = {}

    def _features_of(self, word: str) -> tuple[int, ...]:
        features = self._word_features.get(word)
        if features is None:
            if len(self._word_features) >= WORD_CACHE:  # bounded like the word-fix cache
                self._word_features.clear()
            found = map(self.vocabulary.get, self.analyze(word))
            features = self._word_features[word] = tuple(f for f in found if f is not None)
        return features

    def __call__(self, text: str) -> tuple[np.ndarray, np.ndarray]:
        if self.by_word:
            found: list[int] = []
            for word in text.split():
                found.extend(self._features_of(word))
        else:
            found = [f for f in map(self.vocabulary.get, self.analyze(text)) if f is not None]
        if not found:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        counts = Counter(found)
        features = np.fromiter(counts, dtype=np.int64, count=len(counts))
        weights = (1.0 + np.log(np.fromiter(counts.values(), dtype=np.float32, count=len(counts))))
        weights *= self.idf[features]
        weights /= np.sqrt(weights @ weights)
        return features, weights


def _spans(starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """Return the positions start..end-1 of every span, one after the other, without a Python loop."""
    lengths = ends - starts
    total = int(lengths.sum())
    if not total:
        return np.zeros(0, dtype=np.int64)
    before = np.cumsum(lengths) - lengths  # where each span begins in the output
    return np.repeat(starts - before, lengths) + np.arange(total)


def _copy_rows(matrix: sp.csr_matrix, chosen: np.ndarray, lengths: np.ndarray) -> tuple[np.ndarray, ...]:
    """Return (indptr, indices, data) of the chosen rows of a CSR matrix (lengths: their stored values)."""
    kind = matrix.indices.dtype
    indptr = np.zeros(len(chosen) + 1, dtype=kind)
    np.cumsum(lengths, out=indptr[1:])
    indices = np.empty(int(indptr[-1]), dtype=kind)
    data = np.empty(int(indptr[-1]), dtype=matrix.data.dtype)
    _csr_row_index(len(chosen), chosen.astype(kind, copy=False), matrix.indptr.astype(kind, copy=False),
                   matrix.indices, matrix.data, indices, data)
    return indptr, indices, data


def _gather(postings: sp.csr_matrix, features: np.ndarray, weights: np.ndarray, size: int) -> np.ndarray:
    """Return the dot product of a query (features, weights) with every column of a features x columns matrix."""
    if not len(features):
        return np.zeros(size, dtype=np.float64)
    starts, ends = postings.indptr[features], postings.indptr[features + 1]
    if int((ends - starts).sum()) < SCIPY_GATHER:  # short postings: numpy, no C call to set up
        spans = _spans(starts, ends)
        values = postings.data[spans] * np.repeat(weights, ends - starts)
        return np.bincount(postings.indices[spans], values, minlength=size)
    if _csr_row_index is None:
        return postings[features].T @ weights.astype(np.float64)
    # Long ones: the query's postings copied out in C, then read as the columns of a matrix and multiplied.
    indptr, indices, data = _copy_rows(postings, features, ends - starts)
    out = np.zeros(size, dtype=data.dtype)
    _csc_matvec(size, len(features), indptr, indices, data, weights.astype(data.dtype, copy=False), out)
    return out


def _touched(postings: sp.csr_matrix, features: np.ndarray) -> int:
    """Return how many stored values a walk of these features' postings reads."""
    return int((postings.indptr[features + 1] - postings.indptr[features]).sum())


def _rows_dot(rows: sp.csr_matrix, postings: sp.csr_matrix, chosen: np.ndarray | None, features: np.ndarray,
              weights: np.ndarray, dense_query: np.ndarray) -> np.ndarray:
    """Return the dot product of a query with the chosen rows (None: every row) of a rows x features matrix
    (postings: its transpose).

    Three ways, priced in stored values read (costs measured on the public benchmark): a product with the whole
    matrix; a walk of the query's postings (every row, but only the query's n-grams); or copying out the chosen
    rows (scipy builds a new matrix: a fixed cost, then twice their values). The cheapest is taken.
    """
    whole = rows.nnz
    walk = POSTINGS_COST * _touched(postings, features)
    pick = float("inf") if chosen is None else PICK_COST + 2 * _touched(rows, chosen)
    if whole <= walk and whole <= pick:
        every = rows @ dense_query
    elif walk <= pick:
        every = _gather(postings, features, weights, rows.shape[0])
    elif _csr_row_index is None:
        return rows[chosen] @ dense_query
    else:
        indptr, indices, data = _copy_rows(rows, chosen, rows.indptr[chosen + 1] - rows.indptr[chosen])
        out = np.zeros(len(chosen), dtype=data.dtype)
        query = dense_query.astype(data.dtype, copy=False)
        _csr_matvec(len(chosen), rows.shape[1], indptr, indices, data, query, out)
        return out
    return every if chosen is None else every[chosen]


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


class Index:
    """A retrieval index built once from the knowledge base; searching it fits nothing."""

    def __init__(self, documents: Iterable[Document], synonyms: Iterable[Sequence[str]] = ()):
        self.rewrite = Rewriter(synonyms)
        phrasings: list[str] = []  # content words of each question and alternate
        plain: list[str] = []  # the same with stop words kept, for the classifier
        self.originals: list[str] = []
        owners: list[int] = []
        entries: list[str] = []  # content words of each entry's question and answer together
        self.ids: list[str] = []
        for number, doc in enumerate(documents):
            if not doc.questions:  # search() relies on every entry owning at least one phrasing row
                raise ValueError(f"document {doc.id!r} has no question to index")
            self.ids.append(doc.id)
            for question in doc.questions:
                norm = normalize(question)
                phrasings.append(_content(self.rewrite(norm)) or norm)
                plain.append(_plain(self.rewrite(norm)))
                self.originals.append(question)
                owners.append(number)
            whole = normalize(" ".join(doc.questions[:1] + (doc.answer,)))
            entries.append(_content(self.rewrite(whole)) or whole)
        if not phrasings:
            raise ValueError("nothing to index: no documents with questions")
        self.owners = np.asarray(owners)
        count = len(self.ids)
        # Each entry's phrasings are consecutive rows: entry e owns rows first[e] to first[e + 1].
        self.first = np.searchsorted(self.owners, np.arange(count + 1))
        # Words: unigrams over whole entries. Characters: n-grams within words, over phrasings and entries.
        words = _Vectors(TfidfVectorizer(analyzer="word", sublinear_tf=True, token_pattern=r"(?u)\b\w+\b",
                                         dtype=np.float32), entries)
        chars = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 4), sublinear_tf=True, dtype=np.float32)
        self.chars = _Vectors(chars, phrasings + entries)
        self.words = words
        self.entry_words = words.matrix.T.tocsr()  # features x entries: postings
        self.phrasing_chars = self.chars.matrix[: len(phrasings)]  # rows x features
        self.entry_chars = self.chars.matrix[len(phrasings):]
        self.entry_char_postings = self.entry_chars.T.tocsr()
        # Postings of the rarer character n-grams only: a cheap first pass that finds typo'd and reworded
        # matches without walking the n-grams that every row holds.
        postings = self.chars.matrix[: len(phrasings)].T.tocsr()
        self.phrasing_char_postings = postings
        frequent = np.diff(postings.indptr) > SELECTIVE_ROWS
        keep = np.repeat(~frequent, np.diff(postings.indptr))
        # Copies of the structure: eliminate_zeros() compacts it in place, and the full postings above share it.
        self.selective_chars = sp.csr_matrix((postings.data * keep, postings.indices.copy(), postings.indptr.copy()),
                                             shape=postings.shape)
        self.selective_chars.eliminate_zeros()
        self.vocabulary = sorted({w for text in phrasings + entries for w in text.split()})
        # Which entries hold each word (in a phrasing, the question or the answer): the share of a query's words
        # that an entry holds scales its score.
        term_ids = {w: n for n, w in enumerate(self.vocabulary)}
        pairs = {(term_ids[w], e) for e, text in enumerate(entries) for w in text.split()}
        pairs |= {(term_ids[w], e) for text, e in zip(phrasings, owners) for w in text.split()}
        terms, holders = zip(*sorted(pairs)) if pairs else ((), ())
        self.term_ids = term_ids
        self.entry_terms = sp.csr_matrix((np.ones(len(terms), dtype=np.float32), (terms, holders)),
                                         shape=(len(self.vocabulary), count))
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
            self._roots.setdefault(_root(word), word)
        self._fix_cache: dict[str, str] = {}
        self.classifier = None
        if CLASSIFIER_WEIGHT > 0 and 2 <= count <= CLASSIFIER_MAX_ENTRIES:
            self.classifier = self._train(plain)

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
        """Return up to limit entries best matching the query, best first, each scoring at least cutoff."""
        # A question made only of common words ("can you get it now") is matched on all its words, as it
        # was indexed.
        raw, content, plain = self.forms(query)
        if not content:
            return []
        count = len(self.ids)
        word_features, word_weights = self.words(content)
        char_features, char_weights = self.chars(content)
        if not len(word_features) and not len(char_features):
            return []
        word = _gather(self.entry_words, word_features, word_weights, count)
        dense = np.zeros(self.chars.matrix.shape[1], dtype=np.float32)
        dense[char_features] = char_weights
        # The first pass needs a character score per phrasing. Where scoring every phrasing with all the query's
        # n-grams costs little more than with its rarer ones only, it is done once and serves the exact pass too.
        every_phrasing = None
        cheapest = min(self.phrasing_chars.nnz, POSTINGS_COST * _touched(self.phrasing_char_postings, char_features))
        if cheapest <= FUSE_COST * POSTINGS_COST * _touched(self.selective_chars, char_features):
            every_phrasing = _rows_dot(self.phrasing_chars, self.phrasing_char_postings, None, char_features,
                                       char_weights, dense)
            rough_chars = every_phrasing
        else:
            rough_chars = _gather(self.selective_chars, char_features, char_weights, len(self.owners))
        rough = word + np.bincount(self.owners, rough_chars, minlength=count)
        probability = None
        if self.classifier is not None:
            probability = self._probabilities(plain)
            rough = rough + probability
        shortlist = np.flatnonzero(rough > 0)
        if len(shortlist) > SHORTLIST:
            shortlist = shortlist[np.argpartition(-rough[shortlist], SHORTLIST)[:SHORTLIST]]
        if not len(shortlist):
            return []
        # Every entry has at least one phrasing, so each shortlisted entry owns a non-empty run of rows.
        starts, ends = self.first[shortlist], self.first[shortlist + 1]
        rows = _spans(starts, ends)
        if every_phrasing is not None:
            phrasing = every_phrasing[rows]
        else:
            phrasing = _rows_dot(self.phrasing_chars, self.phrasing_char_postings, rows, char_features,
                                 char_weights, dense)
        offsets = np.cumsum(ends - starts) - (ends - starts)  # where each shortlisted entry's rows begin in rows
        best_phrasing = np.maximum.reduceat(phrasing, offsets)
        entry_char = _rows_dot(self.entry_chars, self.entry_char_postings, shortlist, char_features,
                               char_weights, dense)
        score = (QUESTION_WEIGHT * best_phrasing + ENTRY_WORD_WEIGHT * word[shortlist]
                 + ENTRY_CHAR_WEIGHT * entry_char)
        if probability is not None:
            score += CLASSIFIER_WEIGHT * probability[shortlist]
        else:
            score /= 1.0 - CLASSIFIER_WEIGHT
        score *= self.confidence_factor(raw)
        if ENTRY_COVERAGE_POWER:
            ids = [self.term_ids[w] for w in content.split() if w in self.term_ids]
            held = _gather(self.entry_terms, np.asarray(ids, dtype=np.int64), np.ones(len(ids), dtype=np.float32),
                           count)[shortlist] / len(content.split())
            score *= np.maximum(held, 1e-3) ** ENTRY_COVERAGE_POWER
        if DOMAIN_POWER and len(char_features):
            score *= min(1.0, float(char_weights @ self.centre[char_features]) / self.typical) ** DOMAIN_POWER
        order = np.argsort(-score, kind="stable")[:limit]
        hits = []
        for position in order:
            entry = shortlist[position]
            if score[position] <= 0 or score[position] < cutoff:
                break
            mine = slice(offsets[position], offsets[position] + ends[position] - starts[position])
            matched = rows[mine][int(np.argmax(phrasing[mine]))]
            hits.append(Hit(self.ids[entry], float(min(1.0, score[position])), self.originals[matched]))
        return hits

    def forms(self, query: str) -> tuple[str, str, str]:
        """Return a query's content words as typed, the same mapped onto the knowledge base's words, and its
        plain form (stop words kept, mapped too) for the classifier."""
        norm = normalize(query)
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

    def confidence_factor(self, content: str) -> float:
        """Scale a score by how much of the query the knowledge base knows: the share of known words to
        COVERAGE_POWER, and UNKNOWN_WORD_FACTOR more for each unknown word (one unknown word in two is a worse
        sign than one in ten, but each unknown word is a sign on its own)."""
        words = content.split()
        if not words:
            return 0.0
        known = self.coverage(content) * len(words)
        return (known / len(words)) ** COVERAGE_POWER * UNKNOWN_WORD_FACTOR ** (len(words) - known)

    def coverage(self, content: str) -> float:
        """Return the share of a query's content words that the knowledge base knows, typos allowed."""
        words = content.split()
        if not words:
            return 0.0
        known = 0
        for word in words:
            # held as it is, with another common ending, or mapped onto a knowledge-base word: the same root
            # or a typo of it (the mapping the query's words get anyway)
            if word in self._known or self._stem(word) in self._stems or self._fix(word) != word or "_" in word:
                known += 1
        return known / len(words)

    def _fix(self, word: str) -> str:
        """Map a word the knowledge base does not hold to one it does: same root, or a typo of it; else keep it."""
        if word in self._known or "_" in word:
            return word
        fixed = self._fix_cache.get(word)
        if fixed is None:
            if len(self._fix_cache) >= WORD_CACHE:  # bounded: a stream of gibberish cannot grow it
                self._fix_cache.clear()
            fixed = self._roots.get(_root(word))
            if fixed is None and len(word) >= 4:
                fixed = self._scan_nearest(word)
            fixed = self._fix_cache[word] = fixed or word
        return fixed

    def _scan_nearest(self, word: str) -> str | None:
        """Return the knowledge-base word nearest this one (same first letter, ratio at least KNOWN_WORD_RATIO)."""
        lengths = self._lengths_by_letter.get(word[0])
        found = lengths.nearest(word) if lengths else None
        return found[0] if found else None
