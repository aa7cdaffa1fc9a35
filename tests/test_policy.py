"""Clinical policy comes from YAML a clinician reviews: banned claims (negations and the source's own sentences
allowed), dosing amounts in digits or words, and length limits that are errors."""
from __future__ import annotations

import pytest
import yaml

from bot.knowledge import KnowledgeError, load_knowledge


def _entries(kb_dir):
    return yaml.safe_load((kb_dir / "entries.yaml").read_text(encoding="utf-8"))["entries"]


def _with_answer(kb_dir, answer: str, **fields) -> None:
    entries = _entries(kb_dir)
    entries[0].update(answer=answer, **fields)
    (kb_dir / "entries.yaml").write_text(yaml.safe_dump({"entries": entries}, sort_keys=False, allow_unicode=True,
                                                        width=100), encoding="utf-8")


def _problems(kb_dir) -> list[str]:
    try:
        load_knowledge(kb_dir)
    except KnowledgeError as exc:
        return [str(p) for p in exc.problems]
    return []


@pytest.mark.parametrize("answer", [
    "The article does not say it is a cure.",
    "It is not a cure. Doctors call it a treatment.",
    "Nobody can promise it will work. Results are not guaranteed.",
    "It is not a miracle, and it has risks.",
    "Your team cannot say there will be no side effects.",
])
def test_negated_claims_are_allowed(kb_copy, answer):
    _with_answer(kb_copy, answer)
    assert _problems(kb_copy) == []


@pytest.mark.parametrize("answer, claim", [
    ("This will cure your cancer.", '"cure" as a promise'),
    ("It is not painful, and it will cure you.", '"cure" as a promise'),
    ("It is guaranteed to work.", '"guaranteed"'),
    ("The treatment is 100% effective.", '"100% effective"'),
    ("It has no side effects at all.", '"no side effects"'),
    ("A miracle treatment.", '"miracle"'),
])
def test_banned_claims_are_refused(kb_copy, answer, claim):
    _with_answer(kb_copy, answer)
    problems = _problems(kb_copy)
    assert len(problems) == 1 and f"banned claim: {claim}" in problems[0], problems


def test_a_sentence_from_the_source_is_never_refused(kb_copy):
    sources = kb_copy / "sources.yaml"
    data = yaml.safe_load(sources.read_text(encoding="utf-8"))
    data["sources"][0]["sections"][0]["text"] += " Many people have no side effects at all."
    sources.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100), encoding="utf-8")
    _with_answer(kb_copy, "Many people have no side effects at all. Ask your team what to expect.")
    assert _problems(kb_copy) == []
    _with_answer(kb_copy, "Most people have no side effects at all.")
    assert any('"no side effects"' in p for p in _problems(kb_copy))


@pytest.mark.parametrize("answer, dose", [
    ("Patients get 25 mg each day.", "25 mg"),
    ("Patients get 2.5mg each day.", "2.5 mg"),
    ("Take five milligrams each day.", "five milligrams"),
    ("Take twenty five millilitres at night.", "twenty five millilitres"),
    ("Take two tablets in the morning.", "two tablets"),
])
def test_doses_in_digits_and_words_are_refused_until_reviewed(kb_copy, answer, dose):
    _with_answer(kb_copy, answer)
    problems = _problems(kb_copy)
    assert len(problems) == 1 and f"a dosing amount ({dose!r})" in problems[0], problems
    _with_answer(kb_copy, answer, reviewed_dosing=True)
    assert _problems(kb_copy) == []


@pytest.mark.parametrize("answer", ["It takes one or two visits.", "Do not take iron tablets for five days.",
                                    "The visit takes between 15 and 30 minutes."])
def test_numbers_that_are_not_doses_pass(kb_copy, answer):
    _with_answer(kb_copy, answer)
    assert _problems(kb_copy) == []


def test_an_over_long_sentence_is_an_error(kb_copy):
    sentence = " ".join(["word"] * 30) + "."
    _with_answer(kb_copy, f"A short one. {sentence}")
    (problem,) = _problems(kb_copy)
    assert "a sentence has 30 words; the limit is 25" in problem


def test_a_whole_article_pasted_as_an_answer_is_an_error(kb_copy):
    _with_answer(kb_copy, " ".join(["Cells stay in the body."] * 30))
    (problem,) = _problems(kb_copy)
    assert "the answer has 150 words; the limit is 80" in problem


def test_a_knowledge_base_policy_extends_the_shipped_one(kb_copy):
    (kb_copy / "policy.yaml").write_text(
        "extends: default\n"
        "banned_claims:\n"
        "  - name: '\"painless\"'\n"
        "    phrases: [painless, pain free]\n"
        "dosing:\n"
        "  units: [vial*]\n"
        "limits:\n"
        "  max_sentence_words: 12\n", encoding="utf-8")
    _with_answer(kb_copy, "It is painless.")
    assert any('banned claim: "painless"' in p for p in _problems(kb_copy))
    _with_answer(kb_copy, "It is guaranteed.")
    assert any('banned claim: "guaranteed"' in p for p in _problems(kb_copy)), "the shipped claims still apply"
    _with_answer(kb_copy, "You get three vials.")
    assert any("dosing amount ('three vials')" in p for p in _problems(kb_copy))
    _with_answer(kb_copy, "This sentence has exactly thirteen words in it and so it is long.")
    assert any("the limit is 12" in p for p in _problems(kb_copy))


def test_a_broken_policy_file_is_named_and_answers_wait(kb_copy):
    (kb_copy / "policy.yaml").write_text("banned_claims:\n  - name: x\n    phrase: [y]\n", encoding="utf-8")
    _with_answer(kb_copy, "It is guaranteed.")
    problems = _problems(kb_copy)
    assert problems and all(p.startswith("knowledge/policy.yaml:") for p in problems), problems
    assert "unknown key 'phrase' in a banned claim (did you mean 'phrases'?)" in problems[0]


def test_the_shipped_policy_knows_no_article():
    from bot.policy import DEFAULT_POLICY
    text = DEFAULT_POLICY.read_text(encoding="utf-8").lower()
    for word in ("car-t", "car t", "leuk", "living drug", "t-all", "donor"):
        assert word not in text
