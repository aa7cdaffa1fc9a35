"""The loader refuses every broken edit with all its problems at once, each located by file, line and entry."""
from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from bot.knowledge import KnowledgeError, find_quote, load_knowledge
from bot.engine import build_engine
from bot.text import collapse_space

PROBLEM_LINE = re.compile(r"^knowledge/[a-z]+\.yaml:\d+: .+?: .+$")


def _entries(kb_dir: Path) -> list[dict]:
    return yaml.safe_load((kb_dir / "entries.yaml").read_text(encoding="utf-8"))["entries"]


def _write_entries(kb_dir: Path, entries: list[dict]) -> None:
    text = yaml.safe_dump({"entries": entries}, sort_keys=False, allow_unicode=True, width=100)
    (kb_dir / "entries.yaml").write_text(text, encoding="utf-8")


def _problems(kb_dir: Path) -> list[str]:
    with pytest.raises(KnowledgeError) as caught:
        build_engine(kb_dir)
    lines = str(caught.value).splitlines()
    assert lines and all(PROBLEM_LINE.match(line) for line in lines), lines
    return lines


def _line_of(kb_dir: Path, name: str, needle: str) -> int:
    for number, line in enumerate((kb_dir / name).read_text(encoding="utf-8").splitlines(), 1):
        if needle in line:
            return number
    raise AssertionError(f"{needle!r} not in {name}")


def test_shipped_knowledge_loads(kb):
    assert len(kb.entries) >= 18
    assert len({e.id for e in kb.entries}) == len(kb.entries)
    assert all(len(e.alternates) >= 4 and e.quotes and e.answer for e in kb.entries)


def test_source_is_clean_and_attributed(kb):
    (source,) = kb.sources.values()
    text = "\n".join(s.text for s in source.sections)
    for leftover in ("Trusted Source", "Go to source", "TOP INSIGHT", "Did You Know", "â€", "\ufffd"):
        assert leftover not in text
    assert "patient\u2019s" in text
    assert source.title.startswith("Immune Cells Turned Into")
    assert source.author == "Dr. Nikitha Narayanan"
    assert source.reviewer == "Dr. Vasantha BDS"
    assert source.url == "https://pmc.ncbi.nlm.nih.gov/articles/PMC10913519/"
    assert "2025-12-27" in source.reviewed_on


def test_every_quote_is_verbatim(kb):
    for entry in kb.entries:
        for quote in entry.quotes:
            section = kb.sources[quote.source].section(quote.section)
            assert quote.text in collapse_space(section.text), (entry.id, quote.text)


def test_find_quote_tolerates_whitespace_and_quote_marks(kb):
    source = next(iter(kb.sources.values()))
    section = source.sections[0]
    words = collapse_space(section.text).split()[:6]
    assert find_quote(source, section.heading, "  \n ".join(words)) == " ".join(words)
    assert find_quote(source, section.heading, "words that are not there at all") is None


def test_tabs_are_reported_with_their_line(kb_copy):
    path = kb_copy / "entries.yaml"
    lines = path.read_text(encoding="utf-8").splitlines()
    target = next(i for i, line in enumerate(lines) if line.strip().startswith("question:"))
    lines[target] = "\t" + lines[target].lstrip()
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    (problem,) = _problems(kb_copy)
    assert problem.startswith("knowledge/entries.yaml:")
    assert "tabs" in problem


@pytest.mark.parametrize("name, mutate, expected", [
    ("duplicate id", lambda es: es[1].update(id=es[0]["id"]), "id: already used"),
    ("missing answer", lambda es: es[0].pop("answer"), "answer: missing"),
    ("wrong type", lambda es: es[0].update(alternates=5), "alternates: expected a list of texts"),
    ("number in a list", lambda es: es[0]["alternates"].append(42), "must be text"),
    ("too few alternates", lambda es: es[0].update(alternates=es[0]["alternates"][:2]), "at least 4"),
    ("quote not in source", lambda es: es[0]["quotes"][0].update(text="Doctors guarantee a cure."),
     "not found word for word"),
    ("unknown section", lambda es: es[0]["quotes"][0].update(section="Nowhere"), "no section 'Nowhere'"),
    ("unknown key", lambda es: es[0].update(alternate=["x"]), "unknown key 'alternate'"),
    ("same question twice", lambda es: es[1].update(question=es[0]["question"]), "is also a question of entry"),
    ("banned guarantee", lambda es: es[0].update(answer="It is guaranteed to work."), "banned claim"),
    ("banned cure promise", lambda es: es[0].update(answer="This will cure your cancer."), '"cure" as a promise'),
    ("banned no side effects", lambda es: es[0].update(answer="It has no side effects at all."), "banned claim"),
    ("banned miracle", lambda es: es[0].update(answer="A miracle treatment."), "banned claim"),
    ("dosing", lambda es: es[0].update(answer="Patients get 25 mg each day."), "dosing amount"),
    ("related to nothing", lambda es: es[0].update(related=["no-such-entry"]), "no entry has the id"),
    ("bad id", lambda es: es[0].update(id="Bad Id!"), "lowercase letters"),
])
def test_broken_entries_are_refused(kb_copy, name, mutate, expected):
    entries = _entries(kb_copy)
    mutate(entries)
    _write_entries(kb_copy, entries)
    problems = _problems(kb_copy)
    assert any(expected in p for p in problems), problems


def test_negated_cure_and_reviewed_dosing_are_allowed(kb_copy):
    entries = _entries(kb_copy)
    entries[0]["answer"] = "Doctors do not call it a cure. The trial used 10 ml of cells."
    entries[0]["reviewed_dosing"] = True
    _write_entries(kb_copy, entries)
    assert build_engine(kb_copy).knowledge.entries[0].answer.startswith("Doctors do not")


def test_problem_names_the_right_line_and_entry(kb_copy):
    entries = _entries(kb_copy)
    entries[2]["alternates"] = "just one"
    _write_entries(kb_copy, entries)
    (problem,) = _problems(kb_copy)
    line = _line_of(kb_copy, "entries.yaml", "alternates: just one")
    assert problem.startswith(f"knowledge/entries.yaml:{line}: {entries[2]['id']}: alternates:")


def test_all_problems_are_reported_at_once(kb_copy):
    entries = _entries(kb_copy)
    entries[0].pop("answer")
    entries[1]["quotes"][0]["text"] = "not in the article"
    _write_entries(kb_copy, entries)
    (kb_copy / "synonyms.yaml").write_text("synonyms:\n  - [lonely]\n", encoding="utf-8")
    problems = _problems(kb_copy)
    assert len(problems) == 3
    assert {p.split(":")[0] for p in problems} == {"knowledge/entries.yaml", "knowledge/synonyms.yaml"}


@pytest.mark.parametrize("name, content, expected", [
    ("empty", b"", "the file is empty"),
    ("blank", b"\n  \n", "the file is empty"),
    ("not utf-8", "entries:\n  - id: caf\u00e9\n".encode("latin-1"), "not UTF-8"),
    ("binary", b"\x00\x01\x02entries", "binary"),
    ("broken yaml", b"entries:\n  - id: [unclosed\n", "YAML syntax"),
    ("wrong top key", b"questions: []\n", "must start with 'entries:'"),
    ("a list, not a mapping", b"- one\n- two\n", "must start with 'entries:'"),
    ("alias bomb", b"a: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a]\n"
                   b"c: &c [*b, *b, *b, *b, *b, *b, *b, *b]\nentries: [*c, *c, *c, *c, *c, *c, *c, *c]\n",
     "aliases"),
    ("duplicate key", b"entries: []\nentries: []\n", "appears twice"),
])
def test_unreadable_files_are_refused(kb_copy, name, content, expected):
    (kb_copy / "entries.yaml").write_bytes(content)
    problems = _problems(kb_copy)
    assert any(p.startswith("knowledge/entries.yaml:") and expected in p for p in problems), problems


def test_missing_file_is_named(kb_copy):
    (kb_copy / "sources.yaml").unlink()
    problems = _problems(kb_copy)
    assert any("sources.yaml" in p and "missing" in p for p in problems)


def test_no_such_directory(tmp_path):
    with pytest.raises(KnowledgeError, match="no such knowledge directory"):
        load_knowledge(tmp_path / "absent")


def test_broken_triage_example_is_reported(kb_copy):
    path = kb_copy / "triage.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data["emergency"]["examples"]["positive"].append("what are living drugs")
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")
    problems = _problems(kb_copy)
    assert any("triage.yaml" in p and "what are living drugs" in p and "is emergency" in p for p in problems)


def test_bad_locale_message_placeholder(kb_copy):
    path = kb_copy / "locales.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("call {emergency} now.", "call {emergncy} now.", 1),
                    encoding="utf-8")
    problems = _problems(kb_copy)
    assert any("locales.yaml" in p and "emergncy" in p for p in problems)


def test_thresholds_come_from_the_knowledge_base(kb, kb_copy):
    from bot.knowledge import DEFAULT_CLARIFY_MARGIN, DEFAULT_FALLBACK_BELOW
    assert kb.thresholds.line > 0, "the shipped knowledge base sets its own"
    (kb_copy / "settings.yaml").unlink()
    defaults = load_knowledge(kb_copy).thresholds
    assert (defaults.fallback_below, defaults.clarify_margin) == (DEFAULT_FALLBACK_BELOW, DEFAULT_CLARIFY_MARGIN)
    (kb_copy / "settings.yaml").write_text("retrieval:\n  fallback_below: 0.7\n", encoding="utf-8")
    partial = load_knowledge(kb_copy).thresholds
    assert (partial.fallback_below, partial.clarify_margin) == (0.7, DEFAULT_CLARIFY_MARGIN)


@pytest.mark.parametrize("content, line, expected", [
    ("retrieval:\n  fallback_below: 1.5\n", 2, "fallback_below: 1.5 is not between 0 and 1"),
    ("retrieval:\n  clarify_margin: lots\n", 2, "clarify_margin: expected a number, found text"),
    ("retrieval:\n  fallback_bellow: 0.5\n", 2, "unknown key 'fallback_bellow'"),
    ("retreival:\n  fallback_below: 0.5\n", 1, "unknown key 'retreival'"),
    ("- 0.5\n", 1, "must be a mapping"),
])
def test_bad_settings_are_refused_with_their_line(kb_copy, content, line, expected):
    (kb_copy / "settings.yaml").write_text(content, encoding="utf-8")
    problems = _problems(kb_copy)
    assert any(p.startswith(f"knowledge/settings.yaml:{line}:") and expected in p for p in problems), problems


def test_replies_follow_the_knowledge_bases_threshold(kb_copy):
    question = "how many patients went into remission"
    assert build_engine(kb_copy).responder.reply(question).type == "answer"
    (kb_copy / "settings.yaml").write_text("retrieval:\n  fallback_below: 1.0\n", encoding="utf-8")
    assert build_engine(kb_copy).responder.reply(question).type == "fallback"


# --- messages a nurse can act on -----------------------------------------------------------------------------

from bot.knowledge import Section, Source  # noqa: E402 - grouped with the tests that build their own source


def _source(*sections: tuple[str, str]) -> Source:
    return Source("leaflet", "A leaflet", "", "", "", "", "https://example.org/", tuple(Section(*s) for s in sections))


@pytest.mark.parametrize("typed", [
    "Cells - made in a lab... stay active",
    "Cells — made in a lab … stay active",
    "Cells – made in a lab ... stay active",
    "Cells -- made".replace("--", "\u2212") + " in a lab\u2026stay active",
])
def test_dashes_and_ellipses_count_like_quote_marks(typed):
    source = _source(("S", "Cells \u2013 made in a lab \u2026 stay active. They \u201cattack\u201d cancer."))
    assert find_quote(source, "S", typed) == "Cells \u2013 made in a lab \u2026 stay active"


def _first_quote_problem(kb_copy, text: str, section: str | None = None) -> str:
    entries = _entries(kb_copy)
    entries[0]["quotes"][0]["text"] = text
    if section:
        entries[0]["quotes"][0]["section"] = section
    _write_entries(kb_copy, entries)
    (problem,) = _problems(kb_copy)
    return problem


def test_a_quote_with_a_word_changed_shows_the_nearest_passage_and_the_word(kb_copy):
    problem = _first_quote_problem(
        kb_copy, "They are engineered immune cells designed to stay alive inside the body and continuously attack")
    assert "The nearest passage is 'They are engineered immune cells designed to stay active inside" in problem
    assert "you wrote «alive», the source says «active»" in problem


def test_a_quote_from_another_section_names_that_section(kb_copy):
    problem = _first_quote_problem(kb_copy, "They are engineered immune cells designed to stay active",
                                   section="Introduction")
    assert "found word for word in section 'Frequently Asked Questions'" in problem
    assert "change section: to 'Frequently Asked Questions'" in problem


@pytest.mark.parametrize("mutate, expected", [
    (lambda es: es[0]["quotes"][0].update(section="Frequently Asked Question"),
     "(did you mean 'Frequently Asked Questions'?)"),
    (lambda es: es[0].update(related=["what-are-living-drug"]), "(did you mean 'what-are-living-drugs'?)"),
    (lambda es: es[0].update(alternate=es[0].pop("alternates")), "unknown key 'alternate' in an entry (did you mean "
                                                                  "'alternates'?)"),
    (lambda es: es[0]["quotes"][0].update(sourse="living-drugs"), "(did you mean 'source'?)"),
], ids=["section", "related id", "field name", "quote field"])
def test_did_you_mean(kb_copy, mutate, expected):
    entries = _entries(kb_copy)
    mutate(entries)
    _write_entries(kb_copy, entries)
    problems = _problems(kb_copy)
    assert any(expected in p for p in problems), problems


def test_did_you_mean_a_regression_entry(kb_copy):
    path = kb_copy / "regression.yaml"
    path.write_text(path.read_text(encoding="utf-8") + '  - {message: "what is it", type: answer, '
                    'entry: what-are-livng-drugs}\n', encoding="utf-8")
    (problem,) = _problems(kb_copy)
    assert "no entry has the id 'what-are-livng-drugs' (did you mean 'what-are-living-drugs'?)" in problem


def _replace_line(kb_dir: Path, name: str, needle: str, new: str) -> int:
    path = kb_dir / name
    lines = path.read_text(encoding="utf-8").splitlines()
    number = next(i for i, line in enumerate(lines) if needle in line)
    lines[number] = new
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return number + 1


def test_a_colon_in_a_question_says_put_it_in_quotes(kb_copy):
    line = _replace_line(kb_copy, "entries.yaml", 'question: What are "living drugs"?',
                         "    question: Living drugs: what are they?")
    (problem,) = _problems(kb_copy)
    assert problem.startswith(f"knowledge/entries.yaml:{line}: -: YAML syntax: ")
    assert "put this text in quotes" in problem
    assert 'like this: question: "Living drugs: what are they?"' in problem
    assert "mapping values" not in problem


@pytest.mark.parametrize("new, expected", [
    ('    question: "What are living drugs?', "a quote mark opened on line {line} is never closed"),
    ("    related: [how-the-cells-work, vs-ordinary-drugs", "is not closed"),
    ("    question: @what are they", "put the text in quotes"),
], ids=["unclosed quote", "unclosed list", "reserved character"])
def test_yaml_syntax_in_plain_words(kb_copy, new, expected):
    needle = 'question: What are "living drugs"?' if "question" in new else "related: [how-the-cells-work"
    line = _replace_line(kb_copy, "entries.yaml", needle, new)
    (problem,) = _problems(kb_copy)
    assert "YAML syntax" in problem and expected.format(line=line) in problem, problem


def test_an_empty_entries_list_says_so_and_nothing_else(kb_copy):
    (kb_copy / "entries.yaml").write_text("# entries go here\nentries:\n", encoding="utf-8")
    problems = _problems(kb_copy)
    assert problems == ["knowledge/entries.yaml:2: -: entries: the list is empty: add at least one entry under "
                        "entries: (each starting '  - id: ...'; see the worked example in README.md)"]


def test_regression_problems_wait_until_entries_load(kb_copy):
    entries = _entries(kb_copy)
    entries[0]["id"] = "Living Drugs!"
    _write_entries(kb_copy, entries)
    problems = _problems(kb_copy)
    assert problems and all(p.startswith("knowledge/entries.yaml:") for p in problems), problems


def test_quotes_wait_until_sources_load(kb_copy):
    (kb_copy / "sources.yaml").write_text("sources:\n  - id: [broken\n", encoding="utf-8")
    problems = _problems(kb_copy)
    assert problems and all(p.startswith("knowledge/sources.yaml:") for p in problems), problems


def test_outside_questions_are_read_and_an_absent_file_means_none(kb, kb_copy):
    assert kb.outside and all(isinstance(q, str) and q for q in kb.outside)
    (kb_copy / "outside.yaml").unlink()
    assert load_knowledge(kb_copy).outside == ()


@pytest.mark.parametrize("content, line, expected", [
    ("questions:\n  - how do i bake bread\n  - How do I bake bread?\n", 3, "is already at line 2"),
    ("questions:\n  - what are living drugs\n", 2, "also a phrasing of the entry 'what-are-living-drugs'"),
    ("questions:\n  - [a, list]\n", 2, "expected text, found a list"),
    ("questions:\n  - '???'\n", 2, "has no words"),
    ("questions: how do i bake bread\n", 1, "expected a list of questions"),
    ("- how do i bake bread\n", 1, "the file must start with 'questions:'"),
])
def test_bad_outside_questions_are_refused_with_their_line(kb_copy, content, line, expected):
    (kb_copy / "outside.yaml").write_text(content, encoding="utf-8")
    problems = _problems(kb_copy)
    assert any(p.startswith(f"knowledge/outside.yaml:{line}:") and expected in p for p in problems), problems
