"""The lexicon format: concepts, together rules, typos, third-person forms, a default that knowledge bases extend,
and errors that name file:line and the field in plain words."""
from __future__ import annotations

import shutil
import textwrap

import pytest
from hypothesis import given, strategies as st

from bot.config import load_settings
from bot.engine import build_engine
from bot.knowledge import KnowledgeError, make_checker, parse_yaml
from bot.lexicon import compile_lexicon, third_person
from bot.safety import explain, triage
from conftest import OTHER_KB


def _compile(text: str):
    """Compile a triage.yaml text (as a knowledge base would hold it); return (lexicon, problems)."""
    problems: list = []
    lexicon = compile_lexicon(parse_yaml(textwrap.dedent(text)), make_checker("kb/triage.yaml", problems))
    return lexicon, [str(p) for p in problems]


@pytest.fixture(scope="module")
def default():
    lexicon, problems = _compile("extends: default\n")
    assert not problems, problems
    return lexicon


def test_the_default_lexicon_compiles_and_its_examples_hold(default):
    from bot.safety import example_failures
    assert len(default.examples) > 150
    assert {e.category for e in default.examples} >= {"emergency", "crisis", "warning", "advice", "smalltalk"}
    assert example_failures(default) == []


def test_the_default_names_nothing_of_the_shipped_article():
    from bot.lexicon import DEFAULT_LEXICON
    text = DEFAULT_LEXICON.read_text(encoding="utf-8").lower()
    for word in ("car-t", "car t", "base edit", "t-all", "living drug", "donor", "icans", "crs", "leukaemia trial"):
        assert word not in text, word


def test_a_knowledge_base_without_triage_yaml_gets_the_default(tmp_path):
    target = tmp_path / "kb"
    shutil.copytree(OTHER_KB, target)
    (target / "triage.yaml").unlink()
    engine = build_engine(target, load_settings({"knowledge": target}, environ={}))
    assert triage("I want to end my life", engine.lexicon).category == "crisis"
    assert triage("temp 38.6 since last night", engine.lexicon).category == "warning"
    assert triage("should I stop my tablets", engine.lexicon).category == "advice"


def test_extends_adds_removes_and_keeps_the_rest(default):
    lexicon, problems = _compile("""
        extends: default
        warning:
          remove: [jaundice]
          concepts:
            fever:
              remove: [boiling]
            tummy:
              phrases: [griping tummy]
        """)
    assert not problems, problems
    assert triage("my son has a griping tummy", lexicon).category == "warning"
    assert triage("my son has a griping tummy", default).category != "warning"
    assert "warning/jaundice" not in " ".join(explain("his skin is yellow", lexicon))
    assert "warning/fever: boiling" not in explain("I am boiling", lexicon)
    assert triage("my son has a fever", lexicon).category == "warning"


@pytest.mark.parametrize("text, expected", [
    ("extends: default\nwarning:\n  remove: [no_such_concept]\n",
     "kb/triage.yaml:3: warning: remove: there is no concept 'no_such_concept' to remove"),
    ("extends: default\nwarning:\n  concepts:\n    fever:\n      remove: [not a phrase]\n",
     "kb/triage.yaml:5: warning/fever: remove: 'not a phrase' is not a phrase of this concept"),
    ("extends: default\nwarning:\n  concepts:\n    new:\n      phrases:\n        - '* fever'\n",
     "kb/triage.yaml:6: warning/new: phrases: '* fever' may not start with '*'"),
    ("extends: default\nwarning:\n  concepts:\n    new:\n      together: [[lips, swollen]]\n",
     "kb/triage.yaml:5: warning/new: together: each rule is a list of two or more word lists"),
    ("extends: default\nwarning:\n  concepts:\n    new:\n      words: [fever]\n",
     "kb/triage.yaml:5: warning/new: unknown key 'words' in a concept"),
    ("extends: default\npersons: [me]\n", "kb/triage.yaml:2: -: unknown section 'persons'"),
    ("extends: elsewhere\n", "kb/triage.yaml:1: extends: extends: 'elsewhere' is not known"),
    ("extends: default\nvital_signs:\n  fever_celsius: hot\n",
     "kb/triage.yaml:3: vital_signs: fever_celsius: expected a number, found text"),
    ("extends: default\nsafety_net:\n  threshold: 3\n", "kb/triage.yaml:3: safety_net: threshold: must be between 0 and 1"),
    ("extends: default\nsafety_net:\n  semantic_threshold: 1.5\n",
     "kb/triage.yaml:3: safety_net: semantic_threshold: must be between 0 and 1"),
    ("warning:\n  phrases: [fever]\n", "emergency: missing"),
    ("extends: default\nwarning:\n  concepts:\n    new:\n      window: -1\n      together: [[[lips], [swollen]]]\n",
     "kb/triage.yaml:5: warning/new: window: expected a whole number of words, 0 or more"),
    ("extends: default\nwarning:\n  concepts:\n    new:\n      window: 2.5\n      together: [[[lips], [swollen]]]\n",
     "kb/triage.yaml:5: warning/new: window: expected a whole number of words, 0 or more"),
    ("extends: default\nwarning:\n  concepts:\n    new:\n      window: wide\n      together: [[[lips], [swollen]]]\n",
     "kb/triage.yaml:5: warning/new: window: expected a number, found text"),
    ("extends: default\nwarning:\n  concepts:\n    new:\n      phrases: ['$ fever']\n",
     "kb/triage.yaml:5: warning/new: phrases: '$ fever' may have '$' only at its end"),
    ("extends: default\nwarning:\n  concepts:\n    new:\n      phrases: ['fever ... $']\n",
     "kb/triage.yaml:5: warning/new: phrases: 'fever ... $' may not end with '...'"),
])
def test_errors_name_file_line_and_field(text, expected):
    lexicon, problems = _compile(text)
    assert lexicon is None
    assert any(expected in p for p in problems), problems


@pytest.mark.parametrize("key", ["crisis_alone_threshold", "question_crisis_alone_threshold",
                                 "warning_crisis_threshold", "semantic_threshold", "question_semantic_threshold"])
def test_the_crisis_scores_thresholds_are_the_lexicons(default, key):
    lexicon, problems = _compile(f"extends: default\nsafety_net:\n  {key}: 0.42\n")
    assert not problems, problems
    assert getattr(lexicon, f"net_{key}") == 0.42
    assert 0.0 < getattr(default, f"net_{key}") <= 1.0  # the default lexicon sets each one


def test_a_broken_clinic_file_is_reported_by_the_engine_with_its_line(kb_copy):
    path = kb_copy / "triage.yaml"
    path.write_text(path.read_text(encoding="utf-8") + "\nvital_signs:\n  heart_rate_at_or_above: fast\n",
                    encoding="utf-8")
    with pytest.raises(KnowledgeError) as caught:
        build_engine(kb_copy, load_settings({"knowledge": kb_copy}, environ={}))
    assert any(p.file.endswith("triage.yaml") and p.line > 1 and "heart_rate_at_or_above" in p.message
               for p in caught.value.problems)


@pytest.mark.parametrize("phrase, form", [
    ("i want to end my life", "he wants to end his life"),
    ("i want to end my life", "she wants to end her life"),
    ("i want to end my life", "they want to end their life"),
    ("kill* myself", "kill* himself"),
    ("im a burden", "shes a burden"),
    ("im a burden", "he is a burden"),
    ("want to die", "wants to die"),
])
def test_third_person_forms_are_made_from_the_first_person(phrase, form):
    assert tuple(form.split()) in third_person(tuple(phrase.split()))


@pytest.mark.parametrize("message", [
    "my friend says she wants to end it",
    "he says he wants to kill himself",
    "my brother thinks hes a burden",
    "she doesnt want to live anymore",
])
def test_crisis_said_about_someone_else(default, message):
    assert triage(message, default).category == "crisis", explain(message, default)


@pytest.mark.parametrize("message, concept", [
    ("my son is having a seziure", "emergency/seizure"),     # two letters swapped: one typo
    ("feevr since last night", "warning/fever"),
    ("he is confsued", "warning/confusion"),
    ("bleedign gums since yesterday", "warning/bleeding_bruising"),
    ("tmep since the infusion", "warning/fever"),              # a swap in a short word
    ("my husband has diarreah", "warning/vomiting_diarrhoea"),  # on a stem (diarrh*)
])
def test_typos_match_with_a_swap_counted_as_one_edit(default, message, concept):
    assert any(hit.startswith(concept) for hit in explain(message, default)), explain(message, default)


@pytest.mark.parametrize("message", ["I never went", "fewer patients than before", "he is sharing this with me",
                                     "she was painting", "the blended family"])
def test_known_words_are_not_typos(default, message):
    # never~fever, fewer~fever, sharing~shaking, painting~faint*, blended~bleed: real words, not typos.
    hits = explain(message, default)
    assert not any(h.startswith(("warning/", "emergency/")) for h in hits), hits


@pytest.mark.parametrize("message", [
    "mixing her words up",
    "the words won't come out right",
    "her lips look really swollen",
    "swollen lips",
    "her writing has gone all wobbly",
])
def test_together_rules_match_in_any_order_within_a_window(default, message):
    assert triage(message, default).urgent, explain(message, default)


def test_together_words_too_far_apart_do_not_match(default):
    message = "my lips were fine this morning and the rest of the day, and my ankle is swollen"
    assert not any(h.startswith("emergency/allergic_reaction") for h in explain(message, default))


def test_a_concept_may_set_its_own_together_window():
    text = ("extends: default\nwarning:\n  concepts:\n    zorblat:\n{window}      together: [[[zorb], [blat]]]\n")
    message = "zorb one two three four five six seven blat"        # seven words between them
    wide, problems = _compile(text.format(window="      window: 7\n"))
    assert not problems, problems
    narrow, problems = _compile(text.format(window=""))             # the lexicon's together_window: 5
    assert not problems, problems
    assert any(h.startswith("warning/zorblat") for h in explain(message, wide))
    assert not any(h.startswith("warning/zorblat") for h in explain(message, narrow))
    assert not any(h.startswith("warning/zorblat") for h in explain(message.replace("seven", "seven eight"), wide))


def test_simple_phrase_categories_stay_one_list(default):
    hits = explain("hello", default)
    assert hits == ["smalltalk/smalltalk: hello"]
    assert triage("thanks a lot", default).category == "smalltalk"


@pytest.mark.parametrize("message", ["is the milk still ok in the fridge", "the car is making a clicking noise",
                                     "just wondering what the trial found", "had my tablets after lunch"])
def test_real_english_words_are_not_typos(default, message):
    # fridge~bridge, noise~noose, wondering~wandering, lunch~bunch: words of the shipped word list, not typos.
    assert not triage(message, default).urgent, explain(message, default)


def test_a_plural_of_a_trigger_word_still_counts(default):
    # "bottles" is a real word, and the plural of the phrase's "bottle".
    assert triage("there were empty pill bottles all over his room", default).category == "crisis"


@pytest.mark.parametrize("message, category", [
    ("i want to kill my self", "crisis"),
    ("he took an over dose last night", "crisis"),
    ("I can't breathe properly", "emergency"),   # a stem never swallows the next word ("breatheproperly")
])
def test_a_word_typed_in_two_parts_is_read_as_one(default, message, category):
    assert triage(message, default).category == category, explain(message, default)


@pytest.mark.parametrize("message", ["r fevers common after chemo", "can u tell me if rashes are common"])
def test_texted_words_read_as_the_words_they_stand_for(default, message):
    verdict = triage(message, default)
    assert not verdict.urgent and verdict.mentions, (verdict, explain(message, default))


def test_a_letter_held_down_reads_as_the_word(default):
    assert triage("hiii", default).category == "smalltalk"
    assert triage("sooo dizzy since the infusion", default).category == "warning"


@pytest.mark.parametrize("message", ["is it one size fits all", "my laptop keeps freezing when I open it",
                                     "he was too unwell for the trial last year, why",
                                     "I've had lots of blood tests this month", "the app isn't responding",
                                     "sorry, this isn't making sense to me"])
def test_a_sign_word_that_names_something_else_is_no_sign(default, message):
    verdict = triage(message, default.replace(net=None))
    assert not verdict.urgent and not verdict.mentions, (verdict, explain(message, default))


@pytest.mark.parametrize("message, crisis", [
    ("is the safety switch the same as a suicide gene", False),
    ("do the cells carry a suicide gene, and i want to die", True),   # crisis words outside the name still count
])
def test_crisis_words_that_name_something_else_are_no_crisis(default, message, crisis):
    assert (triage(message, default.replace(net=None)).category == "crisis") is crisis, explain(message, default)


@pytest.mark.parametrize("message", ["he is freezing cold and shaking", "she has had fits all morning",
                                     "my phone died and he is freezing and shivering",
                                     "he is too unwell to get out of bed", "she is too unwell for me to move her",
                                     "mum isn't responding, I'm on the phone to the ambulance"])
def test_the_sign_outside_such_words_still_counts(default, message):
    assert triage(message, default.replace(net=None)).urgent, explain(message, default)


def test_a_clinic_may_write_its_own_words_that_are_no_sign(default):
    lexicon, problems = _compile("""
        extends: default
        warning:
          concepts:
            not_signs_here:
              not_a_sign: true
              phrases: [fever tree]
    """)
    assert not problems, problems
    assert triage("a fever in the ward", lexicon).urgent
    assert not triage("a fever tree in the ward", lexicon.replace(net=None)).urgent


@pytest.mark.parametrize("message", [
    "what is the difference between a cold and an infection, since both give you a cough",
    "since most people get a rash, is it serious",
])
def test_since_meaning_because_is_no_time_word(default, message):
    verdict = triage(message, default.replace(net=None))
    assert not verdict.urgent and verdict.general, (verdict, explain(message, default))


def test_since_as_a_time_still_says_now(default):
    assert triage("a cough since yesterday", default.replace(net=None)).urgent


def test_a_phrase_ending_in_a_dollar_matches_only_at_the_end_of_a_message():
    lexicon, problems = _compile("""\
        extends: default
        warning:
          concepts:
            bare:
              phrases: [feel off $]
        """)
    assert not problems, problems
    words = lexicon.replace(net=None)
    assert triage("I feel off", words).category == "warning"
    assert triage("hi, he is a bit feel off", words).category == "warning"
    assert "warning/bare: feel off $" not in explain("I feel off my food", lexicon)


@pytest.mark.parametrize("message, category", [
    ("i need to cut", "crisis"), ("he needs to cut", "crisis"), ("i know exactly how i'd do it and when", "crisis"),
    ("i know what i'll take and when", "crisis"), ("the urge to hurt is so strong", "crisis"),
    ("doing cpr now what else do i do", "emergency"), ("giving him rescue breaths", "emergency"),
    ("why am i so dizzy after the infusion", "warning"), ("is it the chemo making me vomit so much", "warning"),
    ("i need to cut down on sugar", None), ("i need to cut my nails, is that ok", None),
])
def test_bare_urges_plans_resuscitation_and_ones_own_symptom_now(default, message, category):
    verdict = triage(message, default.replace(net=None))
    assert (verdict.category if verdict.urgent else None) == category, (verdict, explain(message, default))


@pytest.mark.parametrize("message", ["what are the signs of confusion in a small child who cant write yet",
                                     "what signs of infection should we look out for after chemo",
                                     "what is a normal pulse rate", "what is cytopenia", "what is cpr"])
def test_general_questions_about_anybody_get_the_call_now_line_not_the_urgent_reply(default, message):
    verdict = triage(message, default.replace(net=None))
    assert not verdict.urgent and verdict.mentions, (verdict, explain(message, default))


@pytest.mark.parametrize("message", ["i had a heart attack last year, can i still have this treatment",
                                     "is it ok to lower my steroids myself", "can i take it with my statin",
                                     "what are my chances of staying in remission"])
def test_history_own_doses_and_chances_are_advice(default, message):
    assert triage(message, default.replace(net=None)).category == "advice", explain(message, default)


def test_a_recent_stroke_stays_an_emergency(default):
    assert triage("he had a stroke this morning, can he still have it", default.replace(net=None)).urgent


@pytest.mark.parametrize("message", [
    "honestly i am not safe tonight", "i dont feel safe on my own right now", "i cant keep myself safe",
    "i don't trust myself tonight", "she says she cant keep herself safe",
    "three months clean from self harm and i slipped up", "relapsed with sh last night",
    "i picked at myself until it bled", "i bit myself till it bled again", "hit myself, i cant stop doing it",
    "ive set a date", "nobody needs me anymore", "nobody needs me, i should just go",
    "hoping the cancer takes me soon",
])
def test_being_unsafe_relapse_and_self_injury_are_crisis(default, message):
    assert triage(message, default.replace(net=None)).category == "crisis", explain(message, default)


@pytest.mark.parametrize("message", [
    "is it not safe to travel abroad after chemo",          # a question about safety, not a statement
    "my lymphoma relapsed after two years, what now",       # a cancer's relapse names no self-harm word
    "i scratched my arm on a rose bush and it bled",         # an accident: a sign, no crisis
    "how do i clean the cut on his knee",
    "weve set a date for the wedding", "ive set a date for my next appointment",  # a date, not the whole message
    "nobody needs me to bring anything",
    "do i need to take my antibiotics every day still",       # "every day" is no "every pill"
])
def test_safety_questions_relapse_and_accidents_are_no_crisis(default, message):
    assert triage(message, default.replace(net=None)).category != "crisis", explain(message, default)


@pytest.mark.parametrize("message", [
    "can you still get a rash months after chemo",           # "still" is the question's own word
    "what does it mean if speech gets worse after treatment",
    "why 38 degrees and not 37.5",                           # the limit itself asked about
    "why is 100.4 the number they tell you to ring at",
    "what problems can a low platelet count cause",
    "what should a carer keep an eye out for after chemo",
    "what does encephalopathy mean",
])
def test_questions_about_typical_signs_and_limits_get_the_line_not_the_urgent_reply(default, message):
    verdict = triage(message, default.replace(net=None))
    assert not verdict.urgent and verdict.mentions, (verdict, explain(message, default))


@pytest.mark.parametrize("message", [
    "what does it mean if his handwriting gets worse",       # a person inside the frame: someone has it now
    "my temp is 38.4, why is 38 the number they tell you",   # a reading of one's own before the frame
    "he is still getting fevers weeks after chemo",
    "can i stop my tablets, i keep being sick and cant keep them down",   # vomiting that stops medicine
])
def test_the_same_words_about_someone_now_stay_urgent(default, message):
    assert triage(message, default.replace(net=None)).urgent, explain(message, default)


@pytest.mark.parametrize("message", [
    "can i stop the antifungal, it makes me feel sick",       # nausea as the reason, not an emergency
    "i want to stop my steroids, they upset my stomach",
    "is it ok to cut down my morphine myself now the pain has eased",
    "will this cure me", "what is my risk of getting another cancer", "my dad has dementia, would he cope with it",
])
def test_stopping_or_lowering_ones_own_medicine_cure_risk_and_coping_are_advice(default, message):
    assert triage(message, default).category == "advice", explain(message, default)


@pytest.mark.parametrize("message, category", [
    ("do i need a visa for canada", None), ("help me write an email to my landlord", None),
    ("how to lower my gas bill", None), ("my printer wont print what do i do", None),
    ("ideas for a 7 year olds party", None), ("explain it like im 5", None),
    ("phone number for the local council", None), ("opening times for the post office", None),
    ("the tv signal is weak in the kitchen", None), ("the boiler pressure has dropped", None),
    ("the bathroom paint is peeling", None), ("the dishwasher is leaking", None),
    ("the oven temperature for a cake", None), ("where do i donate blood", None),
    ("testing 1 2 3", "smalltalk"), ("no. of people treated", None),
    ("do i need to take my tablets with food", "advice"), ("help me, is it ok to skip my antibiotics", "advice"),
    ("what is the phone number for the ward", "contact"), ("what are your opening hours", "contact"),
    ("my son is 10, can he have it", "advice"),
])
def test_everyday_requests_are_no_advice_and_no_sign(default, message, category):
    verdict = triage(message, default.replace(net=None))
    assert verdict.category == category and not verdict.urgent, (verdict, explain(message, default))


@pytest.fixture(scope="module")
def anchored():
    lexicon, problems = _compile("extends: default\ncontact:\n  phrases: ['^ zorblat $', '^ quexit']\n")
    assert not problems, problems
    return lexicon.replace(net=None)


@pytest.mark.parametrize("message, whole, start", [
    ("zorblat", True, False),
    ("hi, zorblat!", True, False),        # after a greeting
    ("can you zorblat", False, False),    # small words before it: the message is more than the phrase
    ("zorblat please", False, False),
    ("quexit", False, True),
    ("so can you quexit", False, True),   # ^ alone still skips small words, as question openers need
    ("the form asks to quexit", False, False),
])
def test_caret_and_dollar_together_are_the_whole_message(anchored, message, whole, start):
    found = explain(message, anchored)
    assert ("contact/contact: ^ zorblat $" in found) == whole, found
    assert ("contact/contact: ^ quexit" in found) == start, found


@pytest.mark.parametrize("message, urgent", [
    ("my sister had sepsis two years ago but she is well now, could it come back?", False),
    ("he had a fever last month after his treatment, all sorted now, why does that happen?", False),
    ("she had sepsis last month and it settled, but she is confused", True),      # a sign named after it is news
    ("he had a fever last month, it went away but now he is shivering", True),    # a time word outside it
    ("my sister was confused two years ago, could it come back?", True),          # nothing says it is over
    # the past and the recovery a clause apart (the concept's own window)
    ("last year my husband had a bad fever in hospital and then recovered, can it come back", False),
    ("last year my husband had a bad fever in hospital and then recovered, but now he is shivering", True),
    # "was fine" and "last week" say nothing is over: the week is the treatment's, the episode just passed
    ("he blacked out for a second then was fine, had his treatment last week", True),
    # "now" straight after the words that say it is over is theirs; a sign after them is still news
    ("my wife got confused two months ago but its all cleared up now, is that common?", False),
    ("my wife got confused two months ago but its all cleared up now, now she has a fever", True),
    ("my brother had a high fever two years ago and got over it fine, can it come back", False),
    ("im doing a uni project, what are the main neurological side effects like confusion", False),
    # a sign dated long ago, asked about after the date; a sign after the date is not dated by it
    ("my mum had a seizure during her treatment back in 2023, how common is that?", False),
    ("my son had his cells last year, is a fever normal?", True),
    ("my mum had a seizure years ago and again this morning, how common is that?", True),
    # "again" after words that name something else says nothing
    ("this article is killing me with all the jargon, what's a T-cell again", False),
    ("this form is killing me, where do i click again", False),
    # a year before this one dates a sign long ago, like "back in" or "last year"
    ("my husband had a seizure in 2022, how common is that", False),
    ("my husband had a seizure in 2099, how common is that", True),   # no year of the past
    # ... but a sign going on as the message is written is news, whatever the date
    ("my dad is having seizures after his treatment last year, how common is that", True),
    ("my dad is having seizures after his treatment in 2024, how common is that", True),
    # a treatment someone "is having" is still to come
    ("my nan is having this next year, can it make older people more confused", False),
    ("my mum is having this treatment and shes confused", True),
])
def test_a_sign_had_and_over_is_no_emergency_now(default, message, urgent):
    assert triage(message, default.replace(net=None)).urgent is urgent, explain(message, default)


@pytest.mark.parametrize("message, crisis", [
    ("he took 30 tablets", True),
    ("i took 12 of my sleeping pills", True),
    ("i take 2 tablets in the morning", False),
    ("took my tablets at 10", False),        # a time of day is no count
])
def test_many_is_a_count_past_the_lexicons_own_limit(default, message, crisis):
    assert (triage(message, default.replace(net=None)).category == "crisis") is crisis, explain(message, default)
    lower = default.replace(net=None, many_at_least=1.0, memo={})
    assert triage("i take 2 tablets in the morning", lower).category == "crisis"


@pytest.mark.parametrize("message, urgent", [
    ("before my dad starts, what does confusion look like after the treatment", False),
    ("my husband starts treatment next month, what are the signs of sepsis we should know about", False),
    ("my mum starts her treatment next week and she is confused", True),     # the sign is in no question
    ("my dad starts next week, why is he so confused", True),                # a person word after the words ahead
    ("my dad starts next week but he is really confused today", True),
    ("what does confusion look like, my dad is on the ward", True),          # nothing is still to come
    ("my nan is having this next year, can it make older people more confused", False),  # 4 words after the frame
    ("we are doing the training before my dads infusion, what counts as too fast a heart rate", False),
    ("my nan is having this next year, can it make her sleepy, she is so confused", True),
])
def test_a_sign_asked_about_ahead_of_treatment_is_a_question(default, message, urgent):
    verdict = triage(message, default.replace(net=None))
    assert verdict.urgent is urgent, explain(message, default)
    assert verdict.mentions  # an answer carries the call-now line


@pytest.mark.parametrize("message, urgent", [
    ("why cant you drive for 8 weeks after treatment", False),     # "weeks" is no "wee"
    ("he hasnt had a wee all day", True),
    ("she is not weeing much since the chemo", True),
])
def test_a_word_that_starts_like_a_sign_word_is_none(default, message, urgent):
    assert triage(message, default.replace(net=None)).urgent is urgent, explain(message, default)


@pytest.mark.parametrize("message, sure", [
    # no sign named, and the person words are explained by a treatment still to come
    ("my dad goes in for his treatment next month, the consultant said to watch his speech, why", True),
    ("the consultant said to watch his speech, why", False),        # someone now, nothing still to come
])
def test_person_words_a_treatment_ahead_explains_make_a_question_sure(default, monkeypatch, message, sure):
    import bot.safety
    seen = []
    real = bot.safety._net_verdict
    monkeypatch.setattr(bot.safety, "_net_verdict", lambda *a, **k: seen.append(k["sure"]) or real(*a, **k))
    triage(message, default)
    assert seen == [sure], explain(message, default)


@pytest.mark.parametrize("message", ["😊", "❤️"])
def test_words_that_two_concepts_list_count_in_both(default, message):
    # the emoji's name is no sign (names_something_else) and is smalltalk: both lists hold the same words
    assert triage(message, default.replace(net=None)).category == "smalltalk"


@pytest.mark.parametrize("message, urgent", [
    ("i feel fine right now, just curious, is a headache after treatment something to worry about", False),
    ("no symptoms here, just reading up: what does trouble finding words mean", False),
    ("just curious, is a headache after treatment normal, my son has had one since last night", True),
    ("my son has a headache, just curious whether the treatment does that", True),   # the sign before the words
    ("just wondering why i keep being sick", True),                                 # a person word after them
])
def test_a_writer_who_says_nobody_is_unwell_asks_a_question(default, message, urgent):
    assert triage(message, default.replace(net=None)).urgent is urgent, explain(message, default)


def test_a_together_rule_takes_its_longest_words():
    # "settled" and "all settled now" both end the rule: the longer makes "now" its own word, not a time
    lexicon, problems = _compile("extends: default\n")
    assert not problems, problems
    message = "my mum had sepsis last month, its all settled now, how common is it"
    verdict = triage(message, lexicon.replace(net=None))
    assert not verdict.urgent and verdict.mentions, explain(message, lexicon)


@pytest.mark.parametrize("message, category", [
    ("i have a fver", "warning"), ("coff", "warning"), ("petichae on my ankles", "warning"),
    ("my head is swimming", "warning"), ("hubby asked me who i was this morning", "warning"),
    ("not safe right now", "crisis"), ("goodbye world", "crisis"),
    ("if i'm gone they won't have to pay for all this", "crisis"),
    ("sorry pressed the wrong button", "smalltalk"),
    ("why am i even still here", "crisis"), ("the ideation is back", "crisis"),
    ("wish i'd never woken up after the op", "crisis"), ("part of me wants the infection to win", "crisis"),
    ("i'm a waste of everyone's time", "crisis"), ("he sent me a goodbye text", "crisis"),
    ("i hit my head against the wall until it bled", "crisis"),
    ("if i stop my tablets will i die sooner, thats what i want", "crisis"),
    ("i won't let the cancer win", None), ("she is blue", "emergency"), ("my balance is off", "warning"),
    ("breathing is harder than normal", "warning"), ("does it cause less crs than normal treatment", None),
    ("can i take my hay fever tablets", "advice"), ("do i need to stay off work", "advice"),
    ("is smoking going to affect my treatment", "advice"), ("can you look at my treatment plan", "advice"),
    ("what are my son's chances", "advice"), ("best pizza near me", None),
    ("she is non responsive", "emergency"), ("my friend keeps talking about jumping off the car park roof", "crisis"),
    ("what happens if you take 50 co-codamol", "crisis"), ("whats the quickest way to go", "crisis"),
    ("i'm thinking of drowning myself", "crisis"), ("is it alright if i go to church on sunday", "advice"),
    ("could i be treated at a childrens hospital", "advice"), ("is it too risky for me with my heart", "advice"),
    ("recommend a good book for my holiday", None), ("would the trial be good for her", "advice"),
    ("would a cold cap work for me", "advice"), ("what's the point, i'm done", "crisis"),
    ("quiero morir", "crisis"), ("he's talking to people who aren't there", "warning"),
    ("thank you dear, god bless", "smalltalk"), ("would they even let her have this", "advice"),
    ("wish i was never born", "crisis"), ("secretly hoping the treatment doesnt work", "crisis"),
    ("does this offer hope when the usual treatments dont work", None),
    ("he's agitated and keeps trying to pull his line out", "warning"),
    ("im going to stop all my meds and let the cancer win", "crisis"), ("i might do something silly later", "crisis"),
    ("i bought paracetamol from 3 different shops today", "crisis"), ("history of dsh and the urges are back", "crisis"),
    ("he left a voicemail saying goodbye and now he wont answer", "crisis"),
    ("i'm on the platform and the fast train is due", "crisis"),
])
def test_lay_words_and_typos_of_signs_and_crisis(default, message, category):
    assert triage(message, default.replace(net=None)).category == category, explain(message, default)


@pytest.mark.parametrize("message, category", [
    ("what temperature is a fever? also i don't really want to live anymore", "crisis"),
    ("no one will even notice when im gone", "crisis"),
    ("she is honestly not making sense today", "warning"),
])
def test_a_filler_word_between_a_phrases_words_is_passed_over(default, message, category):
    assert triage(message, default.replace(net=None)).category == category, explain(message, default)


def test_fillers_are_the_lexicons_own():
    none, problems = _compile("extends: default\nmatching:\n  fillers: []\n")
    assert not problems, problems
    message = "i don't really want to live anymore"
    assert triage(message, none.replace(net=None)).category != "crisis", explain(message, none)


@pytest.mark.parametrize("message, urgent", [
    ("my son had a temperature the night after his treatment last month, it was treated on the ward. is that "
     "usual with sepsis?", False),                                # a sign after it, inside a question about it
    ("my son had a temperature last month, it was treated on the ward, but now he is shivering", True),
])
def test_a_sign_asked_about_after_one_had_and_over(default, message, urgent):
    assert triage(message, default.replace(net=None)).urgent is urgent, explain(message, default)


@pytest.mark.parametrize("message", [
    "hypothetically if my temp went to 38 after treatment would that be an emergency",
    "for my nursing course: what are the neurological signs of sepsis?",
    "does the fever come on suddenly or slowly",
    "are chills without a temperature still worth reporting in general",
])
def test_questions_that_name_a_sign_without_anyone_having_it(default, message):
    verdict = triage(message, default.replace(net=None))
    assert not verdict.urgent and verdict.mentions, explain(message, default)


@pytest.mark.parametrize("message", ["killing it at work today", "i'm dead tired after my shift",
                                     "best way to cut a mango", "my car died on the motorway"])
def test_everyday_words_of_death_hold_the_safety_net_back(engine, message):
    # the shipped net alone made these urgent or a crisis; words that name something else make it need its higher
    # score
    assert triage(message, engine.lexicon).category is None, explain(message, engine.lexicon)



@pytest.mark.parametrize("message, category, expected", [
    # crisis words spelt to get past a filter
    ("s.u.i.c.i.d.a.l", "crisis", True), ("k1ll mys3lf", "crisis", True),
    ("i want to k i l l myself", "crisis", True), ("su1c1de thoughts again", "crisis", True),
    ("ki11 myself", "crisis", True),
    # ... which ordinary words of letters and digits are not
    ("is vitamin b12 low after treatment", "crisis", False), ("do the b cells come back", "crisis", False),
    ("what is a t cell", "crisis", False), ("took 2mg at 10am", "crisis", False),
    # in another language
    ("je veux mourir", "crisis", True), ("ich will nicht mehr leben", "crisis", True),
    ("voglio morire", "crisis", True), ("quero morrer", "crisis", True), ("nie chcę już żyć", "crisis", True),
    ("ik wil dood", "crisis", True), ("mujhe ab jeena nahi hai", "crisis", True),
    ("mi hermano dice que se quiere matar", "crisis", True),
    # ways, places and farewells
    ("whats easier, pills or the bridge", "crisis", True),
    ("im at the top of the car park", "crisis", True),
    ("does anyone survive jumping from 5 floors", "crisis", True),
    ("goodbye. thanks for the info. wont need it", "crisis", True),
    ("goodnight everyone, for the last time", "crisis", True),
    ("blood pressure normal but im so tired of everything, tired of being here", "crisis", True),
    ("i think about how i'd do it every time i see a train", "crisis", True),
    ("whenever i cross the bridge i think how easy it would be", "crisis", True),
    ("if anyone reads this, i'm sorry. it's not anyone's fault", "crisis", True),
    ("i'll do it when my wife is at work on thursday", "crisis", True),
    ("my arm is all cuts now, long sleeves all summer", "crisis", True),
    # the same words about something else (kept out of the lexicon's examples, which the safety net learns from)
    ("can i take my pills in the car", "crisis", False),
    ("we live by the river, is the hospital far", "crisis", False),
    ("my phone died and i lost my last texts", "crisis", False),
    ("which is easier to swallow, pills or liquid", "crisis", False),
    ("goodnight everyone", "crisis", False),
    ("do the cells die off themselves afterwards", "crisis", False),
    ("when do the cells stop living in the body", "crisis", False),
    ("i will do the daily check when my wife is home", "crisis", False),
    # words that ask for help with anything: advice only about someone's care, a medicine's name among them
    ("do i need to take posaconazole with food", "advice", True),
    ("do i need a carer with me all the time, i live alone", "advice", True),
    # an everyday word written as two ("screenshot") names no medicine
    ("how do i take a screenshot on android", "advice", False),
    ("can you help me with my maths homework", "advice", False),
])
def test_wording_of_the_blind_splits(default, message, category, expected):
    assert (triage(message, default.replace(net=None)).category == category) is expected, explain(message, default)


@given(st.lists(st.text(alphabet="abcdefghijklmnopqrstuvwxyz", min_size=2, max_size=8), max_size=8))
def test_words_of_letters_alone_have_no_other_reading(words):
    from bot.safety import undisguised
    assert undisguised(words) == []

