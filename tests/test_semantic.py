"""The static semantic channel reads a text's tokens word by word exactly as the tokenizer reads the whole text."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.semantic import Cosines, Embedder, load_embedder


@pytest.fixture(scope="module")
def embedder() -> Embedder:
    found = load_embedder()
    assert found is not None, "the shipped vectors (bot/vectors/) are part of the package"
    return found


def test_the_shipped_tokenizer_is_read_word_by_word(embedder):
    assert embedder.by_word


@given(text=st.one_of(st.text(max_size=60), st.sampled_from([
    "what is car-t", "T-ALL  in teens", "remision of leukaemia?", "38,6 fever", "\u6f22\u5b57 cells", "a\x1cb c\td",
    "caf\u00e9  d\u00e9j\u00e0 vu", "   ", ""])))
@settings(max_examples=300, deadline=None)
def test_property_word_by_word_ids_are_the_whole_texts(embedder, text):
    whole = embedder._encoded(text)
    assert embedder.ids(text) == whole
    assert embedder.ids(text) == whole  # the second time from the per-word memory


PHRASINGS = ["how does the treatment work", "what are the side effects", "who can take part in the trial",
             "is it safe for children", "how long does it last", "where was it first tried", "what did it cost"]


@pytest.fixture(scope="module")
def centred_rows(embedder):
    rows = embedder.encode(PHRASINGS)
    centre = rows.mean(axis=0)
    shifted = rows - centre
    return shifted / np.linalg.norm(shifted, axis=1, keepdims=True), centre


def _direct(embedder, rows, centre, text):
    vector = embedder.encode_one(text)
    if not vector.any():
        return None
    centred = vector - centre
    length = np.linalg.norm(centred)
    return rows @ (centred / length) if length > 0 else np.zeros(len(rows), dtype=np.float32)


@pytest.mark.parametrize("budget", [10 ** 8, 4 * len(PHRASINGS) * 3])  # room for every piece; for three at a time
@given(texts=st.lists(st.one_of(st.text(max_size=40), st.sampled_from([
    "how does it work", "side effects", "the the the", "trial for kids?", "zzqx", "", "   ", "\u6f22\u5b57",
    "how long does the effect last in children who took part"])), min_size=1, max_size=6))
@settings(max_examples=150, deadline=None)
def test_property_remembered_cosines_are_the_direct_product(embedder, centred_rows, budget, texts):
    rows, centre = centred_rows
    cosines = Cosines(embedder, rows, centre, budget=budget)
    for text in texts + texts:  # the second time from what the first remembered (or after forgetting it)
        direct = _direct(embedder, rows, centre, text)
        found = cosines(text)
        if direct is None:
            assert found is None
        else:
            np.testing.assert_allclose(found, direct, atol=1e-5)


def test_the_remembered_products_stay_within_their_budget(embedder, centred_rows):
    rows, centre = centred_rows
    cosines = Cosines(embedder, rows, centre, budget=4 * len(PHRASINGS) * 5)
    assert cosines.capacity == 5
    for text in PHRASINGS:
        cosines(text)
        assert len(cosines._slots) <= 5


def test_cosines_shared_by_threads_stay_the_direct_product(embedder):
    # A reload's regression run (a real thread) and the chats (the server's loop) read one index's Cosines at once.
    import threading
    rng = np.random.default_rng(7)
    rows = rng.standard_normal((6000, embedder.vectors.shape[1])).astype(np.float32)
    rows /= np.linalg.norm(rows, axis=1, keepdims=True)
    centre = np.zeros(rows.shape[1], dtype=np.float32)
    cosines = Cosines(embedder, rows, centre, budget=4 * len(rows) * 40)  # room for 40 pieces: it keeps forgetting
    words = sorted({w for text in PHRASINGS for w in text.split()})
    texts = [" ".join(rng.choice(words, size=4)) for _ in range(300)]
    wrong: list[str] = []

    def read(part: list[str]) -> None:
        for text in part:
            found, direct = cosines(text), _direct(embedder, rows, centre, text)
            if direct is not None and not np.allclose(found, direct, atol=1e-5):
                wrong.append(text)

    threads = [threading.Thread(target=read, args=(texts[n::3],)) for n in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not wrong, wrong[:3]
