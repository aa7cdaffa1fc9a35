"""A static semantic channel: word-piece vectors distilled offline from a sentence model, averaged per text.

The vectors (bot/vectors/, written by tools/distill_vectors.py in model2vec's layout) are read with numpy,
safetensors and tokenizers only: no torch, no network. A text's vector is the mean of its tokens' vectors,
normalised, so the cosine of two texts is a dot product.
"""
from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import Sequence

import numpy as np

log = logging.getLogger(__name__)
VECTORS = Path(__file__).resolve().parent / "vectors"
# Pre-tokenizers (tokenizers' names) whose pieces never cross whitespace.
WORD_SPLITTING = frozenset({"BertPreTokenizer", "Whitespace", "WhitespaceSplit"})
# How many words' token ids are remembered (patients' questions reuse a small stock of words).
WORD_CACHE = 20_000
# Memory for the word pieces' products with a knowledge base's rows (Cosines): ~4,000 pieces at the shipped
# knowledge base's ~3,100 rows, more than the 3,026 that its 6,449 development questions use (at 32 MB the forgetting
# cost a third of the gain: bench/README.md). Taken only as pieces are seen.
COSINE_CACHE_BYTES = 48 * 2 ** 20


class Embedder:
    """Encode texts with the static vectors in a directory (model.safetensors + tokenizer.json)."""

    def __init__(self, directory: str | Path = VECTORS):
        from safetensors.numpy import load_file
        from tokenizers import Tokenizer
        directory = Path(directory)
        self.tokenizer = Tokenizer.from_file(str(directory / "tokenizer.json"))
        self.tokenizer.no_padding()
        self.tokenizer.no_truncation()
        table = load_file(str(directory / "model.safetensors"))["embeddings"]
        # int8 or float16 on disk; float32 rows to average (the table is a few MB either way)
        self.vectors = table.astype(np.float32)
        self.dim = int(self.vectors.shape[1])
        self.unknown = self.tokenizer.token_to_id("[UNK]")
        # A pre-tokenizer that splits at whitespace (and punctuation) never lets a token cross a space, so a text's
        # tokens are those of its space-separated words one after the other: each word is tokenized once and
        # remembered.
        self.by_word = type(self.tokenizer.pre_tokenizer).__name__ in WORD_SPLITTING
        self._word_ids: dict[str, tuple[int, ...]] = {}

    def ids(self, text: str) -> list[int]:
        """Return the token ids of a text (special and unknown tokens left out)."""
        if not self.by_word:
            return self._encoded(text)
        out: list[int] = []
        for word in text.split(" "):
            found = self._word_ids.get(word)
            if found is None:
                if len(self._word_ids) >= WORD_CACHE:  # bounded: a stream of gibberish cannot grow it
                    self._word_ids.clear()
                found = self._word_ids[word] = tuple(self._encoded(word))
            out.extend(found)
        return out

    def _encoded(self, text: str) -> list[int]:
        return [i for i in self.tokenizer.encode(text, add_special_tokens=False).ids if i != self.unknown]

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Return one normalised vector per text (zeros for a text with no known token)."""
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, encoding in enumerate(self.tokenizer.encode_batch(list(texts), add_special_tokens=False)):
            ids = [i for i in encoding.ids if i != self.unknown]
            if ids:
                out[row] = self.vectors[ids].mean(axis=0)
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        np.divide(out, norms, out=out, where=norms > 0)
        return out

    def encode_one(self, text: str) -> np.ndarray:
        """Return the normalised vector of one text (cheaper than encode() for a single query)."""
        ids = self.ids(text)
        if not ids:
            return np.zeros(self.dim, dtype=np.float32)
        vector = self.vectors[ids].mean(axis=0)
        norm = float(np.sqrt(vector @ vector))
        return vector / norm if norm > 0 else vector


class Cosines:
    """A query's cosines with fixed rows (unit vectors centred on `centre`, as Index keeps its phrasings'), summed
    from each of its word pieces' remembered products with the rows.

    A text's vector is the mean of its pieces' vectors, so its product with the rows is the mean of theirs: a few
    kilobytes a piece, read from cache, instead of one pass over every row (4.8 MB at ~3,100 rows, mostly read from
    memory again by every query). A piece seen for the first time costs that pass once (all of a query's new pieces
    together). The products are bounded by COSINE_CACHE_BYTES; when full, the less used half is forgotten, so the
    common pieces stay and one-off ones (typos, rare words) come and go.
    """

    def __init__(self, embedder: Embedder, rows: np.ndarray, centre: np.ndarray, *,
                 budget: int = COSINE_CACHE_BYTES):
        self.embedder = embedder
        self.rows = np.ascontiguousarray(rows, dtype=np.float32)
        self.centre = np.asarray(centre, dtype=np.float32)
        self.centre_products = self.rows @ self.centre
        self.capacity = max(1, min(len(embedder.vectors), budget // max(1, 4 * len(self.rows))))
        self._store = np.empty((self.capacity, len(self.rows)), dtype=np.float32)  # pages taken as filled
        self._uses = np.zeros(self.capacity, dtype=np.int64)
        self._slots: dict[int, int] = {}  # piece id -> its row of _store
        # A reload's regression run (a real thread) and the chats read one index at once: the store is changed and
        # read under one lock, a real OS lock also where gevent has patched threading (held for a few products).
        self._lock = _native_lock()

    def __call__(self, text: str) -> np.ndarray | None:
        """Return the cosines of a (normalised) text's centred unit vector with every row, or None when the text
        has no known word piece."""
        ids = self.embedder.ids(text)
        if not ids:
            return None
        mean = self.embedder.vectors[ids].mean(axis=0)
        norm = float(np.sqrt(mean @ mean))
        if norm == 0:
            return None
        centred = mean / norm - self.centre
        length = float(np.sqrt(centred @ centred))
        if length == 0:  # the text is the centre itself: no direction
            return np.zeros(len(self.rows), dtype=np.float32)
        return (self._summed(ids) / (len(ids) * norm) - self.centre_products) / length

    def _summed(self, ids: list[int]) -> np.ndarray:
        """Return the rows' products with the sum of these pieces' vectors."""
        distinct = list(dict.fromkeys(ids))
        if len(distinct) > self.capacity:  # more distinct pieces than can be remembered
            return self.rows @ self.embedder.vectors[ids].sum(axis=0)
        with self._lock:
            return self._remembered(ids, distinct)

    def _remembered(self, ids: list[int], distinct: list[int]) -> np.ndarray:
        """Return the sum of these pieces' remembered products, working out the missing ones (under the lock)."""
        missing = [piece for piece in distinct if piece not in self._slots]
        if missing:
            if len(self._slots) + len(missing) > self.capacity:
                self._forget(len(distinct))
                missing = [piece for piece in distinct if piece not in self._slots]
            start, end = len(self._slots), len(self._slots) + len(missing)
            self._store[start:end] = self.embedder.vectors[missing] @ self.rows.T
            self._uses[start:end] = 0
            self._slots.update(zip(missing, range(start, end)))
        slots = [self._slots[piece] for piece in ids]
        self._uses[slots] += 1
        return self._store[slots].sum(axis=0)

    def _forget(self, room: int) -> None:
        """Keep the more used half of the remembered pieces (none, if that would leave less than `room` free),
        their use counts halved so that what was common long ago can give way."""
        keep = self.capacity // 2 if self.capacity - self.capacity // 2 >= room else 0
        pieces = list(self._slots)
        slots = np.fromiter(self._slots.values(), dtype=np.int64, count=len(pieces))
        order = np.argsort(-self._uses[slots], kind="stable")[:keep]
        kept = slots[order]
        self._store[:keep] = self._store[kept]
        self._uses[:keep] = self._uses[kept] // 2
        self._slots = {pieces[n]: slot for slot, n in enumerate(order.tolist())}


def load_embedder(directory: str | Path = VECTORS) -> Embedder | None:
    """Return the shipped embedder, or None (with a warning) when its files are missing or unreadable: retrieval
    then runs on its lexical channels only, and the safety net on letters only."""
    try:
        return Embedder(directory)
    except Exception as exc:  # noqa: BLE001 - a missing or broken vector file must not stop the bot
        log.warning("semantic vectors not loaded from %s (%s): answering with lexical matching only, and the "
                    "safety net scores letters only", directory, exc)
        return None


def _native_lock():
    """Return a lock of the operating system's: gevent's patched one cannot be shared with a real thread."""
    try:
        from gevent import monkey
    except ImportError:  # served without gevent
        return threading.Lock()
    return monkey.get_original("threading", "Lock")()


_shipped: list[Embedder | None] = []


def shipped_embedder() -> Embedder | None:
    """Return the shipped static embedder, loaded once per process (None, with a warning, when it is missing): both
    retrieval and the safety net's semantic crisis score read it, so its table is held once."""
    if not _shipped:
        _shipped.append(load_embedder())
    return _shipped[0]
