"""Retrieval finds each entry from its own phrasings, survives typos, and gives no match for nonsense."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.retrieval import Document, Index, Rewriter


@pytest.fixture(scope="module")
def threshold(engine):
    return engine.knowledge.thresholds.fallback_below


def test_every_question_and_alternate_finds_its_entry(engine, threshold):
    wrong = []
    for entry in engine.knowledge.entries:
        for phrasing in (entry.question,) + entry.alternates:
            hits = engine.index.search(phrasing, limit=1)
            if not hits or hits[0].entry_id != entry.id or hits[0].score < threshold:
                wrong.append((entry.id, phrasing, hits[:1]))
    assert wrong == []


@given(st.data())
@settings(max_examples=60, deadline=None)
def test_property_own_phrasings_retrieve_the_entry(engine, data):
    entry = data.draw(st.sampled_from(engine.knowledge.entries))
    phrasing = data.draw(st.sampled_from((entry.question,) + entry.alternates))
    shouting = data.draw(st.booleans())
    query = phrasing.upper() if shouting else phrasing
    assert engine.index.search(query, limit=1)[0].entry_id == entry.id


# Random strings of five or more consonants: gibberish, not the real abbreviations a synonym list holds
# ("bmt", "nhs"), which should match.
@given(letters=st.text(alphabet="bcdfghjklmnpqrstvwxz", min_size=5, max_size=40))
@settings(max_examples=80, deadline=None)
def test_property_random_letters_fall_back(engine, letters):
    hits = engine.index.search(letters, limit=1)
    assert not hits or hits[0].score < engine.knowledge.thresholds.fallback_below, (letters, hits[:1])


@pytest.mark.parametrize("letter", list("abcdefghijklmnopqrstuvwxyz"))
def test_single_letters_fall_back(engine, threshold, letter):
    hits = engine.index.search(letter, limit=1)
    assert not hits or hits[0].score < threshold


def test_scores_are_confidences_in_order(engine):
    hits = engine.index.search("how many patients went into remission", limit=5)
    assert hits and all(0.0 <= h.score <= 1.0 for h in hits)
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
    assert len({h.entry_id for h in hits}) == len(hits)


@pytest.mark.parametrize("query", ["", "   ", "the and of", "???", "\u200b"])
def test_no_content_no_match(engine, query):
    assert engine.index.search(query) == []


def test_cutoff_and_limit(engine):
    assert len(engine.index.search("living drugs cancer", limit=2)) <= 2
    assert engine.index.search("living drugs", cutoff=1.01) == []


@pytest.mark.parametrize("query, entry", [
    ("how many patints went in to remision", "remission-within-28-days"),
    ("stem cel transplnt", "stem-cell-transplant-afterwards"),
    ("tarnsplant after the cells", "stem-cell-transplant-afterwards"),  # a swap of two letters
])
def test_typos_still_match(engine, threshold, query, entry):
    hits = engine.index.search(query, limit=1)
    assert hits and hits[0].entry_id == entry and hits[0].score >= threshold


def test_synonyms_rewrite_variants_to_one_form():
    rewrite = Rewriter([["leukemia", "leukaemia"], ["stem cell transplant", "bone marrow transplant"]])
    assert rewrite("leukaemia and a bone marrow transplant") == "leukemia and a stem_cell_transplant"
    assert rewrite("stem cell transplant") == "stem_cell_transplant", "several words become one token"
    assert rewrite("leukaemias") == "leukaemias", "only whole words are rewritten"


def test_index_is_generic():
    index = Index([Document("tea", ("how do I brew tea", "making tea", "tea steeping time", "tea brewing")),
                   Document("coffee", ("how do I grind coffee", "coffee grinder", "grinding beans", "coffee"))])
    assert index.search("steeping tea")[0].entry_id == "tea"
    assert index.search("grind beans")[0].entry_id == "coffee"
    with pytest.raises(ValueError):
        Index([])


@given(text=st.one_of(st.sampled_from(["how many patients went into remission", "remision", "car_t cells", "zzz",
                                       "Remission  REMISSION\tremission"]), st.text(max_size=80)))
@settings(max_examples=120, deadline=None)
def test_property_one_query_vectors_match_scikit_learn(engine, text):
    import numpy as np
    from sklearn.feature_extraction.text import TfidfVectorizer
    for vectors, fitted in (
            (engine.index.chars, TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 4), sublinear_tf=True,
                                                 dtype=np.float32)),
            (engine.index.words, TfidfVectorizer(analyzer="word", sublinear_tf=True, token_pattern=r"(?u)\b\w+\b",
                                                 dtype=np.float32))):
        fitted.vocabulary_, fitted.idf_ = vectors.vocabulary, vectors.idf
        expected = fitted.transform([text]).toarray()[0]
        for _ in range(2):  # the second time from the per-word memory
            features, weights = vectors(text)
            dense = np.zeros(vectors.matrix.shape[1], dtype=np.float32)
            dense[features] = weights
            assert np.allclose(dense, expected, atol=1e-6)


def test_typo_check_is_cached_and_unchanged(engine):
    index = engine.index
    first = index.coverage("remision patints qwxzvb")
    assert index.coverage("remision patints qwxzvb") == first == 2 / 3
    assert index._fix_cache["remision"] == "remission" and index._fix_cache["qwxzvb"] == "qwxzvb"


def test_a_document_without_a_question_is_refused():
    with pytest.raises(ValueError, match="'silent' has no question"):
        Index([Document("a", ("what is a",), "A is a letter."), Document("silent", (), "No question.")])


def test_unseen_word_forms_and_typos_map_onto_the_knowledge_base(engine):
    index = engine.index
    assert index._fix("remision") == "remission", "a typo of a knowledge-base word"
    assert index._fix("zzzzzz") == "zzzzzz", "nothing near: kept as typed"
    raw, content, plain = index.forms("whats patints")
    assert raw == "patint" and content == "patient"
    assert plain == "what is patient", "contractions are written out for the classifier"


def test_unknown_words_lower_the_confidence_but_chatter_does_not(engine):
    index = engine.index
    assert index.coverage("remission patient") == 1.0
    assert 0.0 < index.coverage("remission qwxzv vbnmq") < index.coverage("remission qwxzv") < 1.0
    assert index.coverage("hello sorry remission thanks") == 1.0, "greetings and apologies are not unknown words"


@pytest.mark.parametrize("query, entry", [
    ("hello, sorry to bother you, my neighbour's boy has T-ALL and we saw this on the news, which cancer was it "
     "tested on?", "which-cancer-was-treated"),
    # (rejection: the universal cells' entry, which the article's "without triggering immune rejection" answers)
    ("hi there, thanks for this. my mum asked me: do the cells get rejected?", "base-editing-universal-cells"),
])
def test_greetings_and_personal_context_do_not_sink_a_question(engine, threshold, query, entry):
    hits = engine.index.search(query, limit=1)
    assert hits and hits[0].entry_id == entry and hits[0].score >= threshold, hits[:1]


def test_acronyms_in_capitals_are_not_stop_words(engine):
    index = engine.index
    assert "all" in index.acronyms
    assert index.forms("is ALL curable")[0] != index.forms("is all curable")[0]
    assert index.forms("IS ALL CURABLE")[0] == index.forms("is all curable")[0], "a shouted question has no acronyms"
    assert index.search("T-ALL in teens", limit=1), "T-ALL alone finds something"


def test_a_missing_vector_file_means_lexical_only_with_a_warning(tmp_path, caplog):
    from bot.semantic import load_embedder
    with caplog.at_level("WARNING"):
        assert load_embedder(tmp_path) is None
    assert "lexical matching only" in caplog.text
    index = Index([Document("tea", ("how do I brew tea", "making tea")), Document("cake", ("baking a cake",))],
                  embedder=None)
    assert index.kind == "lexical_only"
    assert index.search("brew tea")[0].entry_id == "tea"


def test_the_semantic_channel_finds_paraphrases_in_other_words():
    docs = [Document("cost", ("how much does it cost",), "The price is not known yet."),
            Document("where", ("where was it developed",), "In the UK.")]
    with_vectors = Index(docs)
    assert with_vectors.embedder is not None, "the shipped vectors load"
    hits = with_vectors.search("what is the price", limit=2)
    assert hits[0].entry_id == "cost"
    assert with_vectors.score("what is the price").features[:, 4].max() > 0


def test_explain_names_each_channel_and_what_matched(engine):
    from bot.retrieval import FEATURES
    explained = engine.index.explain("how many patints went into remision", limit=2)
    assert len(explained) == 2
    first = explained[0]
    assert first["entry_id"] == engine.index.search("how many patints went into remision", limit=1)[0].entry_id
    assert set(first["channels"]) == set(FEATURES)
    assert "remission" in first["shared_words"] and "patient" in first["query_words"]
    assert first["matched_phrasing"] and first["semantic_phrasing"]
    assert explained[0]["confidence"] >= explained[1]["confidence"]
    assert engine.index.explain("") == []


def test_a_question_unlike_the_knowledge_base_scores_lower_than_its_own():
    docs = [Document("tea", ("how do I brew green tea",), "Steep green tea leaves in hot water for three minutes."),
            Document("coffee", ("how do I grind coffee beans",), "Grind the coffee beans just before brewing.")]
    index = Index(docs)
    own = index.search("how do I brew green tea", limit=1)[0].score
    stray = index.search("green paint for the garden fence", limit=1)
    assert not stray or stray[0].score < own / 2


@given(word=st.text(alphabet="abcde", min_size=1, max_size=14),
       others=st.lists(st.text(alphabet="abcde", min_size=1, max_size=14), min_size=1, max_size=20))
@settings(max_examples=300, deadline=None)
def test_property_the_length_slice_loses_no_near_word(word, others):
    from rapidfuzz import fuzz

    from bot.retrieval import KNOWN_WORD_RATIO, _Lengths
    near = [w for w in others if fuzz.ratio(word, w) >= KNOWN_WORD_RATIO]
    found = _Lengths(others).nearest(word)
    assert (found is not None) == bool(near)
    if found:
        assert found[1] == max(fuzz.ratio(word, w) for w in near)


@given(seed=st.integers(0, 2**32 - 1), density=st.floats(0.0, 0.5))
@settings(max_examples=60, deadline=None)
def test_property_reading_postings_gives_the_dot_product(seed, density):
    import scipy.sparse as sp

    from bot.retrieval import _gather
    rng = np.random.default_rng(seed)
    matrix = sp.random(40, 30, density=density, format="csr", dtype=np.float32, random_state=rng)
    features = np.unique(rng.integers(0, 40, size=rng.integers(1, 12)))
    weights = rng.random(len(features), dtype=np.float32)
    dense = np.zeros(40, dtype=np.float32)
    dense[features] = weights
    assert np.allclose(_gather(matrix, features, weights, 30), matrix.T.toarray() @ dense, atol=1e-5)


def test_each_hit_names_its_entrys_nearest_phrasing(engine):
    index = engine.index
    wrong = []
    for entry in engine.knowledge.entries:
        for phrasing in (entry.question,) + entry.alternates:
            features, weights = index.chars(index.forms(phrasing)[1])
            query = np.zeros(index.chars.matrix.shape[1], dtype=np.float32)
            query[features] = weights
            for hit in index.search(phrasing, limit=4):
                number = index.ids.index(hit.entry_id)
                first, last = index.first[number], index.first[number + 1]
                scores = index.phrasing_chars[first:last] @ query
                nearest = {index.originals[first + n] for n in np.flatnonzero(scores >= scores.max() - 1e-6)}
                if hit.matched not in nearest:
                    wrong.append((phrasing, hit.entry_id, hit.matched, nearest))
    assert wrong == []


@pytest.mark.parametrize("slice_from", [0, 10**9])  # scipy's column slice; the numpy walk
def test_character_scores_are_the_dot_products_either_way(monkeypatch, slice_from):
    import bot.retrieval
    monkeypatch.setattr(bot.retrieval, "SLICE_FROM", slice_from)
    index = Index([Document("tea", ("how do I brew green tea", "green tea brewing"), "Steep the leaves."),
                   Document("coffee", ("how do I grind coffee beans", "grinding beans"), "Grind them.")],
                  embedder=None)
    phrasings = len(index.owners)
    matrix = index.chars.matrix.toarray()
    for text in ("brew green tea", "grinding coffe", "tea", "zzz qqq"):
        features, weights = index.chars(text)
        query = np.zeros(matrix.shape[1], dtype=np.float32)
        query[features] = weights
        every, entries = index._char_scores(features, weights)
        assert np.allclose(every, matrix[:phrasings] @ query, atol=1e-6)
        assert np.allclose(entries, matrix[phrasings:] @ query, atol=1e-6)


# How scores are computed cheaply must not change them: each shortcut against the general computation it replaces.
@given(values=st.lists(st.integers(0, 60), max_size=80))
@settings(max_examples=80, deadline=None)
def test_counting_feature_ids_is_numpys_unique(values):
    from bot.retrieval import _counted
    distinct, counts = _counted(np.asarray(values, dtype=np.int64))
    expected, expected_counts = np.unique(np.asarray(values, dtype=np.int64), return_counts=True)
    assert distinct.tolist() == expected.tolist()
    assert counts.tolist() == expected_counts.tolist()


@given(seed=st.integers(0, 2**32 - 1), entries=st.integers(1, 12))
@settings(max_examples=60, deadline=None)
def test_first_entrys_confidence_inputs_are_its_row_of_all(seed, entries):
    from bot.retrieval import FEATURES, _first_confidence_inputs, confidence_inputs
    random = np.random.default_rng(seed)
    features = random.random((entries, len(FEATURES)))
    ranking = random.normal(size=entries)
    first = int(np.argmax(ranking))
    assert np.allclose(_first_confidence_inputs(ranking, features, first),
                       confidence_inputs(ranking, features)[first], rtol=0, atol=1e-12)


def test_acronym_marking_skips_texts_without_capitals_and_keeps_them_otherwise():
    index = Index([Document("all", ("what is T-ALL",), "T-ALL is a leukaemia; ALL for short.")], embedder=None)
    assert index.acronyms == {"all"}
    assert index._mark("is all of it curable") == "is all of it curable"
    assert index._mark("is ALL curable") == "is ALLacr curable"
    assert index._mark("IS ALL OF IT CURABLE TODAY") == "IS ALL OF IT CURABLE TODAY"  # shouted
