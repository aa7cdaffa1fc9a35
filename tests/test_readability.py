"""The plain-language check: syllables, Flesch-Kincaid grade and long sentences are measured sensibly."""
from __future__ import annotations

import pytest

from bot.readability import readability, sentences, syllables


@pytest.mark.parametrize("word, count", [("cat", 1), ("cancer", 2), ("remission", 3), ("leukaemia", 3),
                                         ("immune", 2), ("therapy", 3), ("a", 1), ("38", 1), ("make", 1)])
def test_syllables(word, count):
    assert syllables(word) == count


def test_simple_text_reads_easier_than_dense_text():
    easy = readability("The cells stay in the body. They find the cancer. They kill it.")
    hard = readability("Extensively gene-edited allogeneic lymphocytes demonstrated unprecedented "
                       "immunological persistence characteristics in treatment-refractory malignancies.")
    assert easy.grade < 4 < 12 < hard.grade


def test_longest_sentence_is_counted():
    text = "Short one. " + " ".join(["word"] * 30) + "."
    assert readability(text).longest_sentence == 30
    assert len(sentences(text)) == 2


def test_check_reports_grades_of_shipped_messages(engine):
    from bot.readability import SAFETY_GRADE, SAFETY_MESSAGES, readability_report
    report = readability_report(engine)
    assert len(report) == len(engine.knowledge.entries) + len(SAFETY_MESSAGES)
    assert {"emergency", "crisis", "warning", "contact", "contact_none"} <= set(SAFETY_MESSAGES)
    safety = [line for line, warn in report if "safety message" in line]
    assert safety and not any(warn for line, warn in report if "safety message" in line), safety
    assert SAFETY_GRADE == 6.0
