"""Hybrid retrieval: TF-IDF on words and character n-grams, fused with rapidfuzz, into a confidence in [0, 1]."""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterable, Sequence

import numpy as np
import scipy.sparse as sp
from sklearn.linear_model import LogisticRegression
from rapidfuzz import fuzz, process
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS, TfidfVectorizer

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
STOP_WORDS = frozenset((ENGLISH_STOP_WORDS | _CONTRACTIONS) - _NUMBER_WORDS - _MEANINGFUL)

# Thresholds, chosen on the shipped knowledge base's regression questions (run.py eval), 85 in scope and
# 39 off topic when they were set:
# - FALLBACK_BELOW: in-scope questions scored 0.15-1.0 (median 0.69), all but one above 0.20; off-topic ones
#   0-0.19, save one at 0.24 ("side effects of ibuprofen", which shares "side effects" with an entry). 0.20 is
#   the point that gets both right most often. Missing a real question (a fallback with suggestions) costs
#   less than a confident wrong answer: when in doubt, raise it.
# - CLARIFY_MARGIN: when the second entry is within this distance of the first, neither clearly wins and
#   the patient is asked which one they meant.
FALLBACK_BELOW = 0.2
CLARIFY_MARGIN = 0.02

# Fusion weights (sum to 1): words find the topic, character n-grams survive typos and word forms,
# the fuzzy score (token_sort_ratio: order-free, length-aware, unlike WRatio) rewards close phrasings.
WORD_WEIGHT = 0.3
CHAR_WEIGHT = 0.6
FUZZY_WEIGHT = 0.1
# An answer matches a question less reliably than another question does: its rows count for less.
ANSWER_WEIGHT = 0.8
# A question whose words the knowledge base has never seen is about something else: the confidence is
# scaled by the share of the query's words found in the knowledge base (allowing typos), to this power.
COVERAGE_POWER = 2.0
# A word counts as known when rapidfuzz's ratio to a knowledge-base word reaches this (typos: "remision").
KNOWN_WORD_RATIO = 85
# A small classifier trained on each entry's own phrasings (question + alternates) learns which words tell
# close entries apart; its probability is blended into the score with this weight. Skipped for knowledge bases
# bigger than CLASSIFIER_MAX_ENTRIES, where training would cost more than it brings.
CLASSIFIER_WEIGHT = 0.2
CLASSIFIER_C = 20.0
CLASSIFIER_MAX_ENTRIES = 2000
# Fuzzy scoring runs only on the best rows by TF-IDF, so a large knowledge base costs no more per query.
SHORTLIST = 50


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


def _content(text: str, rewrite: Rewriter) -> str:
    """Return the words of a text that carry meaning, normalised, rewritten and made singular."""
    kept = [_singular(w) for w in rewrite(normalize(text)).split()
            if w not in STOP_WORDS and (len(w) > 1 or w.isdigit())]
    return " ".join(kept)


class Index:
    """A retrieval index built once from the knowledge base; searching it fits nothing."""

    def __init__(self, documents: Iterable[Document], synonyms: Iterable[Sequence[str]] = ()):
        self.rewrite = Rewriter(synonyms)
        rows: list[str] = []
        originals: list[str] = []
        owners: list[int] = []
        weights: list[float] = []
        fuzzy_rows: list[bool] = []
        self.ids: list[str] = []
        for number, doc in enumerate(documents):
            self.ids.append(doc.id)
            for question in doc.questions:
                rows.append(_content(question, self.rewrite) or normalize(question))
                originals.append(question)
                owners.append(number)
                weights.append(1.0)
                fuzzy_rows.append(True)
            if doc.answer:
                rows.append(_content(doc.answer, self.rewrite))
                originals.append(doc.answer)
                owners.append(number)
                weights.append(ANSWER_WEIGHT)
                fuzzy_rows.append(False)
        if not rows:
            raise ValueError("nothing to index: no documents with questions")
        self.rows = rows
        self.originals = originals
        self.owners = np.asarray(owners)
        self.weights = np.asarray(weights)
        self.fuzzy_rows = np.asarray(fuzzy_rows)
        self.words = TfidfVectorizer(analyzer="word", ngram_range=(1, 2), sublinear_tf=True,
                                     token_pattern=r"(?u)\b\w+\b", dtype=np.float32)
        self.chars = TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 5), sublinear_tf=True, dtype=np.float32)
        self.vocabulary = sorted({w for row in rows for w in row.split()})
        self._known = set(self.vocabulary)
        self._stems = {self._stem(w) for w in self.vocabulary}
        self.word_matrix = self.words.fit_transform(rows).T.tocsr()
        self.char_matrix = self.chars.fit_transform(rows).T.tocsr()
        self.classifier = None
        question_rows = np.flatnonzero(self.fuzzy_rows)
        if CLASSIFIER_WEIGHT > 0 and 2 <= len(self.ids) <= CLASSIFIER_MAX_ENTRIES:
            features = sp.hstack([self.word_matrix.T, self.char_matrix.T]).tocsr()[question_rows]
            self.classifier = LogisticRegression(C=CLASSIFIER_C, max_iter=2000)
            self.classifier.fit(features, self.owners[question_rows])

    def __len__(self) -> int:
        return len(self.ids)

    def search(self, query: str, *, limit: int = 5, cutoff: float = 0.0) -> list[Hit]:
        """Return up to limit entries best matching the query, best first, each scoring at least cutoff."""
        # A question made only of common words ("can you get it now") is matched on all its words, as it
        # was indexed.
        content = _content(query, self.rewrite) or " ".join(w for w in normalize(query).split() if len(w) > 1)
        if not content:
            return []
        word_vector = self.words.transform([content])
        char_vector = self.chars.transform([content])
        word = np.asarray((word_vector @ self.word_matrix).todense()).ravel()
        char = np.asarray((char_vector @ self.char_matrix).todense()).ravel()
        tfidf = (WORD_WEIGHT * word + CHAR_WEIGHT * char) / (WORD_WEIGHT + CHAR_WEIGHT)
        fused = (WORD_WEIGHT + CHAR_WEIGHT) * tfidf
        coverage = self.coverage(content)
        shortlist = np.argsort(-tfidf)[:SHORTLIST]
        shortlist = shortlist[self.fuzzy_rows[shortlist] & (tfidf[shortlist] > 0)]
        if len(shortlist):
            scores = process.cdist([content], [self.rows[i] for i in shortlist], scorer=fuzz.token_sort_ratio,
                                   dtype=np.float32)[0] / 100.0
            fused[shortlist] += FUZZY_WEIGHT * scores
        answer_rows = ~self.fuzzy_rows
        fused[answer_rows] = tfidf[answer_rows]
        fused *= self.weights * coverage ** COVERAGE_POWER
        best = np.zeros(len(self.ids), dtype=np.float64)
        np.maximum.at(best, self.owners, fused)
        if self.classifier is not None:
            probability = np.zeros(len(self.ids))
            probability[self.classifier.classes_] = self.classifier.predict_proba(
                sp.hstack([word_vector, char_vector]).tocsr())[0]
            best = (1 - CLASSIFIER_WEIGHT) * best + CLASSIFIER_WEIGHT * probability * coverage ** COVERAGE_POWER
        best_row = {}
        for row in np.argsort(-fused):
            owner = self.owners[row]
            if owner not in best_row:
                best_row[owner] = row
            if len(best_row) >= limit:
                break
        order = sorted(best_row, key=lambda o: -best[o])
        return [Hit(self.ids[o], float(min(1.0, best[o])), self.originals[best_row[o]])
                for o in order if best[o] >= cutoff and best[o] > 0][:limit]

    @staticmethod
    def _stem(word: str) -> str:
        """Cut common English endings so 'worked', 'working' and 'work' count as one known word."""
        for ending in ("ing", "ed", "er", "ly", "ment"):
            if word.endswith(ending) and len(word) - len(ending) >= 4:
                return word[: -len(ending)]
        return word

    def coverage(self, content: str) -> float:
        """Return the share of a query's content words that the knowledge base knows, typos allowed."""
        words = content.split()
        if not words:
            return 0.0
        known = 0
        for word in words:
            if word in self._known or self._stem(word) in self._stems or "_" in word:
                known += 1
            elif len(word) >= 4 and process.extractOne(word, self.vocabulary, scorer=fuzz.ratio,
                                                       score_cutoff=KNOWN_WORD_RATIO):
                known += 1
        return known / len(words)
