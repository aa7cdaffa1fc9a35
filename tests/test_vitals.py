"""Vital signs read from typed numbers: temperatures in C and F, in digits and words, pulse, blood pressure, oxygen;
urgent past the clinic's limits (from its YAML); test results are not vital signs."""
from __future__ import annotations

import pytest

from bot.knowledge import make_checker, parse_yaml
from bot.lexicon import compile_lexicon
from bot.safety import triage
from bot.text import normalize
from bot.vitals import read_vitals, spell_numbers


@pytest.fixture(scope="module")
def lexicon():
    return compile_lexicon(parse_yaml("extends: default\n"), make_checker("kb/triage.yaml", []))


def _readings(text, lexicon):
    return [(r.kind, r.value, r.alarm) for r in read_vitals(text, normalize(text).split(), lexicon.vitals)]


@pytest.mark.parametrize("text, expected", [
    ("bp 82/48", [("systolic", 82.0, True)]),
    ("blood pressure 85 over 50", [("systolic", 85.0, True)]),
    ("bp is 120/80", [("systolic", 120.0, False)]),
    # one number of a blood pressure named alone
    ("systolic 85", [("systolic", 85.0, True)]),
    ("her top number is 88 today", [("systolic", 88.0, True)]),
    ("systolic 140 over 90", [("systolic", 140.0, False)]),
    ("systolic 130", [("systolic", 130.0, False)]),
    ("diastolic 48", [("diastolic", 48.0, True)]),
    # ... and the word after the number, the blood pressure's own words before it
    ("blood pressure 85 systolic", [("systolic", 85.0, True)]),
    ("bp 55 diastolic tonight", [("diastolic", 55.0, True)]),
    ("bottom number 75", [("diastolic", 75.0, False)]),
    ("pulse 135", [("heart_rate", 135.0, True)]),
    ("heart rate of 72", [("heart_rate", 72.0, False)]),
    ("130 bpm", [("heart_rate", 130.0, True)]),
    ("sats 89", [("oxygen", 89.0, True)]),
    ("oxygen reading keeps dropping, 96 then 94", [("oxygen", 96.0, False), ("oxygen", 94.0, True)]),
    ("sats 95 this morning", [("oxygen", 95.0, False)]),
    ("temp 38.3 now", [("temperature", 38.3, True)]),
    ("38.2", [("temperature", 38.2, True)]),
    ("38,6", [("temperature", 38.6, True)]),
    ("she is running 101F", [("temperature", 38.33, True)]),
    ("temp is 100.8 F", [("temperature", 38.22, True)]),
    ("thirty nine point two", [("temperature", 39.2, True)]),
    ("a hundred and one", [("temperature", 38.33, True)]),
    ("38 5 on the ear thermometer", [("temperature", 38.5, True)]),
    ("temp 37.2", [("temperature", 37.2, False)]),
    ("temp of 35.4 and shivering", [("temperature", 35.4, True)]),
    ("she is 39 years old", []),                     # an age: no temperature, and no test result
    ("my platelets are 38.5", [("lab", 38.5, False)]),
    ("11 patients in the study", []),
    ("remission within 28 days", []),
    ("one of them", []),
    # a share is no temperature; oxygen is written as one
    ("100% remission?", []),
    ("was it 99 % effective", []),
    ("sats 89%", [("oxygen", 89.0, True)]),
])
def test_readings(lexicon, text, expected):
    assert _readings(text, lexicon) == expected


def test_numbers_in_words():
    assert spell_numbers("thirty eight point nine".split()) == ["38.9"]
    assert spell_numbers("one of the ninety nine".split()) == ["one", "of", "the", "99"]


@pytest.mark.parametrize("message", ["bp 82/48", "pulse 135", "sats 89", "temp 38.3 now", "38.2",
                                     "thirty nine point two", "my son is 102 F", "systolic 85",
                                     "diastolic is 45"])
def test_a_reading_past_the_limits_is_urgent(lexicon, message):
    assert triage(message, lexicon).category == "warning"


def test_limits_belong_to_the_knowledge_base():
    strict = compile_lexicon(parse_yaml("extends: default\nvital_signs:\n  fever_celsius: 37.5\n"
                                   "  heart_rate_at_or_above: 140\n"), make_checker("kb/triage.yaml", []))
    assert triage("temp 37.6", strict).category == "warning"
    assert triage("pulse 135", strict).category != "warning"


def test_a_number_below_the_limits_is_advice_and_never_judged(engine):
    reply = engine.responder.reply("his temp is 37.4 is that normal")
    assert reply.type == "advice"
    words = set(normalize(reply.text).split())
    assert not words & {"low", "high", "normal", "safe", "fine", "ok", "okay"}
