"""Safety triage: emergency, crisis, warning sign, personal advice, contact, smalltalk; before and without retrieval.

The lexicon (bot/lexicon.py) finds concepts; the numbers people type are read as vital signs (bot/vitals.py); a
sign named with nothing saying it is happening now, inside a clear general question, gets an answer with the
call-now line instead of the urgent reply. When unsure: urgent. The safety net (bot/safetynet.py) catches what
the lexicon's words miss; a message is urgent when either says so.
"""
from __future__ import annotations

import datetime
import functools
import itertools
import logging
import re
import unicodedata
from dataclasses import dataclass

from rapidfuzz import process
from rapidfuzz.distance import OSA
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

from bot.lexicon import (ANY, CATEGORIES, FILLER, GAP, MANY, MAX_GAP, NUMBER, SIMPLE, TIME, URGENT, YEAR, Example,
                         Lexicon, compile_lexicon, english_words, join_split_words, squeezed, with_vocabulary)
from bot.text import normalize, root
from bot.vitals import read_vitals

__all__ = ["CATEGORIES", "URGENT", "Lexicon", "Verdict", "compile_lexicon", "with_vocabulary", "triage",
           "temperatures", "example_failures", "scan"]

log = logging.getLogger(__name__)
MEMO_LIMIT = 50_000
_IS_NUMBER = re.compile(r"^([0-9]+(?:\.[0-9]+)?)[a-z]*$")  # group 1: the number without its unit ("30mg")
_STOP = frozenset(ENGLISH_STOP_WORDS)
# A number with one of these after it (or on it: "50kg") is a weight or an age, never a count of tablets.
_NOT_A_COUNT = frozenset({"kg", "kgs", "kilo", "kilos", "kilograms", "lb", "lbs", "pounds", "stone", "st", "yo",
                          "yrs", "years", "year", "months", "cm", "ft"})
_UNIT = re.compile(r"^[0-9]+(\.[0-9]+)?([a-z]+)$")
# Words that open a statement, not a question: "there is", "i can only say", "cant get any air in" (the question
# words after them are no question opener).
_STATEMENT = frozenset({"there", "here", "i", "cant", "cannot", "couldnt"})
# Words before a year that make it a date ("in 2021"), not a number someone read off.
_DATING = frozenset({"in", "since", "from", "until", "till", "til", "of", "during", "back", "around", "before",
                     "after", "by", "year", "summer", "winter", "spring", "autumn", "fall", "early", "late", "mid"})
# Words before a person word that make it anybody ("in a child", "any patient"), not someone in particular.
_ANYBODY = frozenset({"a", "an", "any", "every", "each"})
# A short word with an apostrophe ending ("OD'd", "OD'ing", "SH'ed"): an abbreviation used as a verb, read as the
# abbreviation (normalising would make "od'd" the word "odd"). Never a contraction of a pronoun ("I'd", "he'd").
_ABBREVIATED_VERB = re.compile(r"\b([a-z]{2,4})['\u2019](?:d|ed|ing)\b", re.IGNORECASE)
_PRONOUNS = frozenset({"he", "she", "we", "you", "they", "it", "who", "that", "there", "what", "where", "how",
                       "this", "here", "u", "ya", "ye"})
# Emoticons typed with punctuation, read as the emoji they stand for (a message of them alone is read by name).
_EMOTICONS = {":)": "smiling face", ":-)": "smiling face", ":]": "smiling face", "=)": "smiling face",
              "(:": "smiling face", ":d": "grinning face", ":-d": "grinning face",
              ";)": "winking face", ";-)": "winking face", ":p": "face with tongue", ":-p": "face with tongue",
              "<3": "heavy black heart", ":(": "frowning face", ":-(": "frowning face", ":'(": "crying face",
              ":/": "confused face", ":-/": "confused face", ":o": "face with open mouth"}


@dataclass(frozen=True)
class Verdict:
    """What triage decided about one message."""

    category: str | None
    trigger: str = ""
    # The signs and syndromes the message names (concept names): the reply carries the call-now line.
    mentions: tuple[str, ...] = ()
    temperature_c: float | None = None
    number_given: bool = False
    source: str = "lexicon"          # "lexicon", "vital signs" or "safety net"
    general: bool = False            # a general question that names a sign

    @property
    def urgent(self) -> bool:
        return self.category in URGENT


@dataclass(frozen=True)
class Hit:
    """One concept found in a message: its category, concept, the phrase or rule, and the words it covers."""

    category: str
    concept: str
    text: str
    start: int
    end: int
    anchored: bool = False
    # The words each list of a together rule matched: the words between them belong to none.
    parts: tuple[tuple[int, int], ...] = ()
    # The positions of the phrase's own words (not those a "..." skipped; for a together rule, its lists' words).
    own: tuple[int, ...] = ()

    def describe(self) -> str:
        return f"{self.category}/{self.concept}: {self.text}"


def _words_of(token: str, lexicon: Lexicon) -> frozenset[str]:
    """Return the lexicon words (as written: "fever", "bleed*", "#") that one message word matches."""
    found = lexicon.memo.get(token)
    if found is not None:
        return found
    hits: set[str] = set()
    if token in lexicon._exact:
        hits.add(token)
    hits.update(token[:n] + "*" for n in range(1, len(token) + 1) if token[:n] in lexicon._stems)
    number = _IS_NUMBER.match(token)
    if number:
        hits.add(NUMBER)
        if float(number.group(1)) >= lexicon.many_at_least:
            hits.add(MANY)
        if token.isdigit() and len(token) == 4 and 1900 <= int(token) < datetime.date.today().year:
            hits.add(YEAR)
    elif (token not in lexicon._exact and token.isalpha() and len(token) >= 4 and token not in lexicon.known_words
          and token not in lexicon.vocabulary and token not in _STOP):
        found = _typos(token, lexicon)
        if token in english_words():  # a real word is no typo, but may be a plural: "bottles", "seizures"
            found = {w for w in found if len(token) == len(w) + 1 and token.startswith(w) and token[-1] in "sd"}
        hits.update(found)
    if not hits:  # "hiii", "sooo sick": a letter held down
        for form in squeezed(token):
            hits.update(_words_of(form, lexicon))
    found = frozenset(hits)
    if len(lexicon.memo) >= MEMO_LIMIT:
        lexicon.memo.clear()
    lexicon.memo[token] = found
    return found


def _typos(token: str, lexicon: Lexicon) -> set[str]:
    """Return the lexicon words a message word is one typo away from (a swap of two letters is one typo)."""
    found: set[str] = set()
    long_enough = len(token) >= lexicon.typo_min_letters
    for length in ((len(token) - 1, len(token), len(token) + 1) if long_enough else (len(token),)):
        choices = lexicon._fuzzy.get(length)
        if not choices:
            continue
        for word, _, _ in process.extract(token, choices, scorer=OSA.distance, score_cutoff=1, limit=None):
            # Short words: only a swap of two letters ("tmep" for "temp"); too many real words are one letter off.
            if len(word) >= lexicon.typo_min_letters and long_enough or sorted(word) == sorted(token):
                found.add(word)
    if long_enough:
        for stem in lexicon._fuzzy_stems:
            if token.startswith(stem) or len(token) < len(stem) - 1:
                continue
            if any(OSA.distance(token[:n], stem, score_cutoff=1) <= 1 for n in (len(stem) - 1, len(stem), len(stem) + 1)
                   if n <= len(token)):
                found.add(stem + "*")
    return found


def _match_at(words: tuple[str, ...], matched: list[frozenset[str]], k: int, pos: int) -> int | None:
    """Return the end of a phrase matched from word k at message position pos, or None."""
    if k == len(words):
        return pos
    word = words[k]
    if word == GAP:
        for skip in range(MAX_GAP + 1):
            end = _match_at(words, matched, k + 1, pos + skip)
            if end is not None:
                return end
        return None
    if pos >= len(matched):
        return None
    if word != ANY and word not in matched[pos]:
        # "i dont really want to live": a filler word between a phrase's words is passed over
        return _match_at(words, matched, k, pos + 1) if FILLER in matched[pos] else None
    return _match_at(words, matched, k + 1, pos + 1)


def join_compounds(tokens: list[str], lexicon: Lexicon) -> list[str]:
    """Return the words with a lexicon word typed in two parts made one ("sewer slide", "my self", "pain killers"),
    unless the phrases themselves write that pair apart; a stem counts only when it runs into the second part
    ("breathe properly" stays two words)."""
    out: list[str] = []
    i = 0
    while i < len(tokens):
        if i + 1 < len(tokens):
            first, second = tokens[i], tokens[i + 1]
            joined = first + second
            if (first.isalpha() and second.isalpha() and min(len(first), len(second)) >= 2 - (first == "i")
                    and (first, second) not in lexicon._pairs
                    and (joined in lexicon._exact or any(joined[:n] in lexicon._stems
                                                         for n in range(max(5, len(first) + 1), len(joined) + 1)))):
                out.append(joined)
                i += 2
                continue
        out.append(tokens[i])
        i += 1
    return out


def read_words(norm: str, lexicon: Lexicon) -> list[str]:
    """Return the words of a normalised message as the lexicon reads them (split and compound forms made one)."""
    return join_compounds(join_split_words(norm.split()), lexicon)


def scan(tokens: list[str], lexicon: Lexicon) -> list[Hit]:
    """Return every concept the lexicon finds in a message's words (phrases, and together rules)."""
    matched = [_words_of(t, lexicon) for t in tokens]
    for i, token in enumerate(tokens):
        unit = _UNIT.match(token)
        # "took my tablets at 8": a number after "at" is a time of day.
        if NUMBER in matched[i] and ((unit and unit.group(2) in _NOT_A_COUNT) or (i and tokens[i - 1] == "at")
                                     or (i + 1 < len(tokens) and tokens[i + 1] in _NOT_A_COUNT)):
            matched[i] = matched[i] - {NUMBER, MANY}
        if token in lexicon.fillers:
            matched[i] = matched[i] | {FILLER}
    # The question opens at the first word past greetings and small words; "there is", "i can" and "cant get" are
    # statements.
    opening = next((i for i, t in enumerate(tokens)
                    if t not in lexicon._openers and (t not in _STOP or t in _STATEMENT)), len(tokens))
    # A phrase written with both ^ and $ is the whole message after any greeting ("^ help $": a bare "HELP", never
    # "can you help").
    first = next((i for i, t in enumerate(tokens) if t not in lexicon._openers), len(tokens))
    hits: list[Hit] = []
    parts: dict[tuple[int, int], list[tuple[int, int]]] = {}
    seen: set[tuple[str, str, str, int]] = set()
    present = frozenset().union(*matched)
    for start, words in enumerate(matched):
        for word in words:
            for phrase, needs in lexicon._by_first.get(word, ()):
                if not needs <= present:
                    continue
                if phrase.anchored and (start > first if phrase.final else start > opening):
                    continue
                end = _match_at(phrase.words, matched, 1, start + 1)
                if end is None or (phrase.final and end != len(matched)):
                    continue
                if phrase.part is not None:
                    parts.setdefault(phrase.part, []).append((start, end))
                elif (phrase.category, phrase.concept, phrase.text, start) not in seen:
                    # (a phrase's third-person forms are one hit; the same words in two concepts are two)
                    seen.add((phrase.category, phrase.concept, phrase.text, start))
                    hits.append(Hit(phrase.category, phrase.concept, phrase.text, start, end, phrase.anchored,
                                    own=_own_positions(phrase.words, start, end)))
    rules = {number for number, group in parts if group == 0}
    for number in sorted(rules):
        rule = lexicon._rules[number]
        groups = [parts.get((number, g)) for g in range(rule.groups)]
        if not all(groups):
            continue
        window = lexicon.together_window if rule.window is None else rule.window
        # Of the combinations close enough, the one whose phrases hold the most words: "settled" and "all settled
        # now" both end a rule, and the longer one makes "now" the rule's own word.
        best = max((combo for combo in itertools.product(*groups)
                    if max(e for _, e in combo) - min(s for s, _ in combo) - sum(e - s for s, e in combo) <= window),
                   key=lambda combo: (sum(e - s for s, e in combo), max(e for _, e in combo)), default=None)
        if best is not None:
            best = tuple(sorted(best))
            hits.append(Hit(rule.category, rule.concept, rule.text, best[0][0], max(e for _, e in best), parts=best,
                            own=tuple(i for s, e in best for i in range(s, e))))
    return hits


def _own_positions(words: tuple[str, ...], start: int, end: int) -> tuple[int, ...]:
    """Return the message positions a phrase matched from start to end covers with its own words: all of them
    without a gap; with gaps, the words before the first gap and after the last."""
    if GAP not in words:
        return tuple(range(start, end))
    before = words.index(GAP)
    after = len(words) - 1 - max(i for i, w in enumerate(words) if w == GAP)
    return tuple(range(start, start + before)) + tuple(range(end - after, end))


def temperatures(text: str, lexicon: Lexicon) -> list[float]:
    """Return the body temperatures (in °C) written in a text: '38.6', '38,6', '101F', 'temp of 39'."""
    return [r.value for r in read_vitals(text, normalize(text).split(), lexicon.vitals) if r.kind == "temperature"]


def abbreviations(text: str, lexicon: Lexicon) -> str:
    """Return a text with a lexicon abbreviation made a verb by an apostrophe ending ("i OD'd", "she OD'ed")
    written as the abbreviation alone, so that normalising cannot turn it into another word ("odd")."""
    if "'" not in text and "\u2019" not in text:
        return text

    def bare(match: re.Match) -> str:
        word = match.group(1).casefold()
        return word if word in lexicon._exact and word not in _PRONOUNS else match.group(0)
    return _ABBREVIATED_VERB.sub(bare, text)


# Letters written as digits inside a word ("k1ll mys3lf", "su1c1dal"): a word that starts with a letter and holds a
# digit. "1" stands for "i" or for "l", so both readings are tried.
_LEET = re.compile(r"^[a-z]+[0-9][a-z0-9]*$")
_LEET_READINGS = (str.maketrans("0134578", "oieastb"), str.maketrans("0134578", "oleastb"))


def undisguised(words: list[str]) -> list[str]:
    """Return the readings (normalised texts) of a message's words written to get past a word filter: letters spelt
    one by one ("s.u.i.c.i.d.a.l", "k i l l"; a run of three or more single letters is one word) and digits for
    letters ("k1ll mys3lf"); [] when no word is written so."""
    joined: list[str] = []
    run: list[str] = []
    for token in words + [""]:
        if len(token) == 1 and token.isalpha():
            run.append(token)
            continue
        joined += ["".join(run)] if len(run) >= 3 else run
        run = []
        if token:
            joined.append(token)
    readings = [[_LEET.match(t) and t.translate(table) or t for t in joined] for table in _LEET_READINGS]
    return [" ".join(r) for r in dict.fromkeys(map(tuple, [joined] + readings)) if list(r) != words]


# "no." or "no" before "of" (never "no, of course"): the same with or without punctuation, as the reply cache
# keys replies by normalised text.
_NUMBER_OF = re.compile(r"\bno\W*(?=of\b(?!\W*course\b))", re.IGNORECASE)


def number_of(text: str) -> str:
    """Return a text with "no." (or "no") before "of" written as "number" ("no. of patients" is no "no")."""
    return _NUMBER_OF.sub("number ", text) if "no" in text.casefold() else text


def symbol_names(text: str) -> str:
    """Return the normalised Unicode names of a text's symbols, each once ("👍" -> "thumbs up sign"; the
    emoticon ":)" -> "smiling face"): what a message of emoji alone says, for the lexicon to read."""
    names = [_EMOTICONS.get(t.casefold(), "") for t in text.split()]
    names += [normalize(unicodedata.name(ch, "")) for ch in text if unicodedata.category(ch).startswith("S")]
    return " ".join(dict.fromkeys(n for n in names if n))


def triage(text: str, lexicon: Lexicon) -> Verdict:
    """Decide whether a message is urgent, asks for personal advice, or is smalltalk, in the safety order."""
    norm = normalize(abbreviations(number_of(text), lexicon))
    # Emoji alone are read by their names; the net, which never learnt those names, sees the words only.
    tokens = read_words(norm or symbol_names(text), lexicon)
    hits = scan(tokens, lexicon)
    by: dict[str, list[Hit]] = {}
    for hit in hits:
        by.setdefault(hit.category, []).append(hit)
    readings = read_vitals(text, tokens, lexicon.vitals)
    vitals = [r for r in readings if r.kind != "lab"]
    signs = by.get("emergency", []) + by.get("warning", [])
    # "one size fits all", "my laptop keeps freezing": the sign words inside a phrase that names something else
    # are no sign at all.
    # A together rule covers only the words its lists matched ("im confused ... different": a sign between them
    # still counts).
    # "again" after words of a sign had long ago says it is back ("had a seizure years ago and again this
    # morning"): the sign words inside them count again.
    elsewhere = [span for h in signs if lexicon.concepts[(h.category, h.concept)].not_a_sign
                 and not (lexicon.concepts[(h.category, h.concept)].past and "again" in tokens[h.end:])
                 for span in (h.parts or ((h.start, h.end),))]
    signs = [h for h in signs if not lexicon.concepts[(h.category, h.concept)].not_a_sign
             and not _inside(h, elsewhere)]
    mentions = tuple(dict.fromkeys(h.concept for h in signs))
    # "is the safety switch a suicide gene": crisis words inside words that name something else are no crisis.
    crises = by.get("crisis", [])
    named = [span for h in crises if lexicon.concepts[(h.category, h.concept)].not_a_sign
             for span in (h.parts or ((h.start, h.end),))]
    crises = [h for h in crises if not lexicon.concepts[(h.category, h.concept)].not_a_sign
              and not _inside(h, named, every=True)]
    if not crises:
        # "s.u.i.c.i.d.a.l", "k1ll mys3lf": crisis words spelt to get past a filter are crisis words.
        crises = next((found for reading in undisguised(norm.split())
                       if (found := [h for h in scan(read_words(reading, lexicon), lexicon) if h.category == "crisis"
                                     and not lexicon.concepts[(h.category, h.concept)].not_a_sign])), [])
    if crises:  # first in the safety order; a sign it names adds the care team's line to the reply
        return Verdict("crisis", crises[0].describe(), mentions)
    # "anti-seizure tablets", "yellow fever jab", "take my temperature": a sign word inside a call-now-only
    # phrase that names something else is no sign by itself.
    spans = [(h.start, h.end) for h in signs if lexicon.concepts[(h.category, h.concept)].call_now_only
             and h.end - h.start > 1]
    strong = [h for h in signs if not lexicon.concepts[(h.category, h.concept)].call_now_only
              and not _inside(h, spans, strictly=True, every=True)]
    if any(r.kind == "temperature" for r in vitals):
        # "temp 37.2": the word names the reading, which speaks for itself (below: past the limits, or not).
        strong = [h for h in strong if normalize(h.text) not in lexicon.vitals.words.get("temperature_words", ())]
    temperature = next((r.value for r in vitals if r.kind == "temperature"), None)
    if vitals and not mentions:
        # "what is 100.4 in celsius": a typed reading names its sign, so the reply carries the call-now line.
        mentions = tuple(dict.fromkeys(r.kind for r in vitals))
    alarm = next((r for r in vitals if r.alarm), None)
    question = by.get("question", [])
    # "my mum had a seizure back in 2023, how common is that": a sign dated long ago, and asked about after the
    # date, is over (below); a sign named after the date ("had car-t last year, is a fever normal") is not dated
    # by it, and a date with no question after it ("she retired 10 years ago") asks nothing.
    asking = [h for h in question if not any(getattr(lexicon.concepts[(h.category, h.concept)], flag)
                                             for flag in ("ahead", "over", "dated"))]
    question = [h for h in question if not lexicon.concepts[(h.category, h.concept)].dated
                or (strong and all(s.end <= h.end for s in strong) and any(a.start >= h.end for a in asking))]
    # "if my son gets a fever", "how would I know if I'm dehydrated": the person words inside a hypothetical
    # frame (from its start on) do not say that anything is happening now; time words still do.
    frame_starts = [h.start for h in question if lexicon.concepts[(h.category, h.concept)].hypothetical]
    hypothetical = bool(frame_starts)
    # "my sister had sepsis two years ago but shes well now, could it come back": a sign had and over says nothing is
    # happening now, up to the end of those words; a sign named after them ("... it settled, but shes confused")
    # is news.
    over = [h for h in question if lexicon.concepts[(h.category, h.concept)].over
            or lexicon.concepts[(h.category, h.concept)].dated]
    over_end = max((h.end for h in over), default=0)
    # ... unless that sign is inside a question about it ("... it was treated on the ward. is that usual with
    # sepsis?").
    if any(h.end > over_end and not _asked(h, asking) for h in strong):
        over, over_end = [], 0
    over_words = {i for h in over for i in h.own}
    # "... but its all cleared up now": "now" straight after the words that say it is over is theirs ("years ago
    # and again this morning" is news).
    over_words |= {h.start for h in by.get("now", []) if h.concept == TIME and h.end - h.start == 1
                   and tokens[h.start] == "now" and any(o.end == h.start for o in over)}
    # "before my dad starts, what does that look like": a treatment still to come, and every sign named after it
    # inside a question (a frame that starts before the sign and ends at most four words before it), is asked
    # ahead; "my mum starts next week and shes confused" names a sign outside any question, and stays urgent.
    ahead_end = max((h.end for h in question if lexicon.concepts[(h.category, h.concept)].ahead), default=0)
    if strong and not all(s.start >= ahead_end and _asked(s, asking) for s in strong):
        ahead_end = 0
    if ahead_end:  # "my nan is having this next year": a time word inside those words is theirs
        over_words |= {i for h in question if lexicon.concepts[(h.category, h.concept)].ahead for i in h.own}
    before = max(over_end, ahead_end)
    # "since both give a fever", "now that the rash has gone", "what does it mean if writing gets worse": a time
    # word that is one of a question frame's own words is part of the question, not a time; unless a person word
    # lies inside the frame ("if his confusion gets worse": someone has it now).
    persons = {h.start for h in by.get("now", []) if h.concept != TIME and not _anybody(tokens, h.start)}
    frame_words = {i for h in question if not any(h.start <= p < h.end for p in persons) for i in h.own}
    # "how would you spot it in a child", "can an adult get it": a person word after an indefinite article is
    # anybody, not someone unwell now.
    now_words = [h for h in by.get("now", [])
                 if not (h.concept != TIME and _anybody(tokens, h.start))
                 and not (h.concept != TIME and h.start < before)
                 and not (h.concept == TIME and all(i in over_words for i in range(h.start, h.end)))
                 and (h.concept == TIME or not frame_starts or h.start < min(frame_starts))
                 and not (h.concept == TIME and all(i in frame_words for i in range(h.start, h.end)))]
    if alarm and not (hypothetical and not now_words):
        return Verdict("warning", f"vital sign: {alarm.kind} {alarm.value:g}", mentions, temperature, True,
                       "vital signs")
    now = bool(now_words) or (bool(vitals) and not hypothetical)
    general = bool(strong or alarm) and bool(question) and not now
    if strong and not general:
        first = next((h for h in strong if h.category == "emergency"), strong[0])
        if first.category == "warning" and _crisis_beyond_doubt(norm, lexicon):
            # "cant see the point anymore, been feeling sick for days": a warning word inside a message the safety
            # net is sure is a crisis gets the crisis lines.
            return Verdict("crisis", f"{first.describe()}; safety net: crisis score", mentions, temperature,
                           bool(vitals), "safety net")
        return Verdict(first.category, first.describe(), mentions, temperature, bool(vitals))
    # "what should I watch for": a question frame around the advice words makes it a general question.
    # A frame inside the advice phrase itself is part of it, not a question around it ("how do i get on the
    # trial": "do ... get"); advice words that only a frame's "..." covers are not its ("can i stop my tablets,
    # they make me feel sick": "can ... make"). A frame with a gap that opens on the advice phrase's own first
    # word asks through it, when that phrase asks for advice by itself ("do you think i should get a second
    # opinion": "do ... get" opens on "do you think i"; "should i watch for" has no gap, and "what should i do if i
    # get a fever" opens on words that ask for help with anything: both stay general questions).
    cares = [h for h in by.get("advice", []) if lexicon.concepts[(h.category, h.concept)].care]
    advice = [h for h in by.get("advice", [])
              if not lexicon.concepts[(h.category, h.concept)].care
              and not any(_frames(q, h, lexicon) for q in question)]
    # "help me write a cover letter", "do i need a visa for japan": words that ask for help with anything ask for
    # advice only with a word of someone's care outside them, a sign (not one that only adds the call-now line:
    # "a best man speech"), a reading, or a word no everyday English word list has (most often a medicine's name).
    asked = advice
    # "what can i cook", "how often should i water a cactus": a phrase that asks for help with anything swallows
    # the shorter advice words inside it ("can i", "should i"), which then need a word of care as it does.
    needing = [h for h in advice if lexicon.concepts[(h.category, h.concept)].needs_care]
    advice = [h for h in advice if not any(n.start <= h.start and h.end <= n.end and n.end - n.start > h.end - h.start
                                           for n in needing)]
    advice = [h for h in advice if not lexicon.concepts[(h.category, h.concept)].needs_care
              or strong or readings or _about_care(h, cares, tokens)]
    # A request the lexicon knows is about something else ("help me write a cover letter") is as sure as advice.
    everyday = len(asked) > len(advice)
    has_number = any(_IS_NUMBER.match(t) and not _is_year(tokens, i) and not _is_age(tokens, i)
                     for i, t in enumerate(tokens))
    # "testing 123": a number inside a smalltalk phrase is part of it.
    chatted = {i for h in by.get("smalltalk", []) for i in range(h.start, h.end)}
    loose_number = has_number and any(_IS_NUMBER.match(t) and i not in chatted for i, t in enumerate(tokens))
    # "can I talk to a real person", "am I talking to a robot": weak advice words ("can i") yield to contact and
    # smalltalk phrases; smalltalk is never a message that names a sign or gives a number.
    strong_advice = [h for h in advice if not lexicon.concepts[(h.category, h.concept)].weak]
    simple = next((c for c in SIMPLE if not strong_advice and _simple(c, tokens, by, advice, question)
                   and not (c == "smalltalk" and (mentions or loose_number))), None)
    # "what happens on day 10", "did every patient respond", "which symptoms need 999": a question that names no
    # sign (words that only add the call-now line are none), gives no reading and is about nobody in particular is
    # as sure a general question as one that names a sign.
    unsigned = bool(question) and not strong and not readings
    plain_question = unsigned and not any(h.concept != TIME for h in by.get("now", []))
    # "what is immunotherapy exactly? my son has lymphoma": a question that names no sign, gives no reading, says no
    # time, even about someone in particular, is as sure a general question (the net needs its higher score).
    asked_only = unsigned and not mentions and not any(h.concept == TIME for h in now_words)
    # "my dad goes in next month, the consultant said to watch his speech, why": a question that names no sign and
    # gives no reading, whose person words a treatment still to come or a sign had and over explains, is as sure.
    explained = unsigned and before > 0 and not now_words
    # "my laptop keeps overheating": words the lexicon knows name something else are as sure as a question.
    sure = (general or plain_question or asked_only or explained or bool(elsewhere) or bool(advice) or everyday
            or bool(simple))
    net = _net_verdict(norm, lexicon, sure=sure, smalltalk=simple == "smalltalk", mentions=mentions,
                       temperature=temperature)
    if net is not None:
        return net
    about_someone = [h for h in now_words if h.concept != TIME]
    number_given = bool(readings) or (bool(about_someone) and has_number)
    if simple:
        return Verdict(simple, by[simple][0].describe(), mentions, general=general)
    if advice or any(r.kind == "lab" for r in readings) or (lexicon.personal_numbers and number_given):
        trigger = advice[0].describe() if advice else "a number the person typed"
        return Verdict("advice", trigger, mentions, temperature, number_given, general=general)
    if "contact" in by:  # after advice: "should I stop my tablets, who do I call" is advice
        return Verdict("contact", by["contact"][0].describe(), mentions, general=general)
    return Verdict(None, "", mentions, temperature, number_given, general=general)


def _asked(sign: Hit, frames: list[Hit]) -> bool:
    """True when a sign is inside a question: a frame starts before it and ends at most four words before it."""
    return any(f.start <= sign.start <= f.end + 4 for f in frames)


def _frames(question: Hit, advice: Hit, lexicon: Lexicon) -> bool:
    """True when a question frame around advice words makes them part of a general question (see triage)."""
    if question.anchored or not any(advice.start <= i < advice.end for i in question.own):
        return False
    if advice.start <= question.start and question.end <= advice.end:
        return False  # a frame inside the advice phrase is part of it
    concept = lexicon.concepts[(advice.category, advice.concept)]
    gap = len(question.own) < question.end - question.start
    # A gap frame that opens on advice words asking by themselves asks through them.
    return not (question.start == advice.start and gap and not (concept.weak or concept.needs_care))


def _inside(hit: Hit, spans: list[tuple[int, int]], *, strictly: bool = False, every: bool = False) -> bool:
    """True when a sign's words lie inside one of the spans of words that name something else; for a together
    rule, when one of its lists' words does ("keep taking my sleeping tablets": the sleep word names a medicine).
    strictly: a span of exactly the same words does not count. every: for a together rule, only when all its
    lists' words do ("his line site is red": the site is a topic, the redness still a sign)."""
    def within(start: int, end: int) -> bool:
        return any(s <= start and end <= e and not (strictly and (s, e) == (start, end)) for s, e in spans)
    parts = hit.parts or ((hit.start, hit.end),)
    return all(within(*part) for part in parts) if every else any(within(*part) for part in parts)


def _anybody(tokens: list[str], i: int) -> bool:
    """True for a person word after "a", "an", "any", "every" or "each", straight after it or past one describing
    word ("in a child", "a small child", "any older patient"): anybody, not someone in particular. Past a word, a
    pronoun or possessive starts a new phrase ("the number for an ambulance, my grandad's collapsed")."""
    return (i >= 1 and tokens[i - 1] in _ANYBODY) or (
        i >= 2 and tokens[i - 2] in _ANYBODY and tokens[i - 1].isalpha() and tokens[i - 1] not in _STOP
        and tokens[i] not in _STOP)


def _about_care(hit: Hit, cares: list[Hit], tokens: list[str]) -> bool:
    """True when a word of someone's care, or a word no everyday English word list has ("posaconazole"), lies
    outside an advice phrase's own words."""
    if any(c.end <= hit.start or c.start >= hit.end for c in cares):
        return True
    words = english_words()
    return bool(words) and any(len(t) >= 5 and t.isalpha() and not _everyday(t, words)
                               for i, t in enumerate(tokens) if not hit.start <= i < hit.end)


@functools.cache
def _everyday_roots() -> frozenset[str]:
    return frozenset(root(w) for w in english_words())


def _everyday(word: str, words: frozenset[str]) -> bool:
    """True for a word of the everyday word list, another form of one ("printed", "booking") or two of them
    written as one ("screenshot"): no medicine's name."""
    return (word in words or root(word) in _everyday_roots()
            or any(word[:i] in words and word[i:] in words for i in range(4, len(word) - 3)))


# Words around a number that make it an age ("a 10 year old", "im 17", "aged 50", "in his 40s", "her 60th").
_AGE_AFTER = frozenset({"year", "years", "yr", "yrs", "yo", "yearold", "yearolds", "olds"})
_AGE_BEFORE = frozenset({"aged", "age", "turned", "turning", "turns", "im", "is", "hes", "shes", "was"})
# Words that may follow an age ("my son is 3 and ...", "im 19 with ...", "she is 80 would she ...").
_AGE_FOLLOWING = frozenset({"and", "with", "but", "so", "now", "who", "has", "had", "have", "is", "was", "can",
                            "could", "would", "will", "should", "does", "do", "did", "if", "yet", "too", "like",
                            "year", "years", "yrs", "yo", "next", "this", "in", "doing", "going", "at"})
_ORDINAL = re.compile(r"^[0-9]+(s|th|st|nd|rd|yo|yrs?)$")


def _is_age(tokens: list[str], i: int) -> bool:
    """True for a number that is someone's age or an ordinal, not a reading: "a 10 year old", "like im 10",
    "my uncle is 50", "in his 40s", "dad's 60th". After "is" or "im", a number a temperature could be (34-43) is
    still a number the person typed ("he is 39")."""
    token = tokens[i]
    if _ORDINAL.match(token):
        return True
    if not token.isdigit():
        return False
    if i + 1 < len(tokens) and tokens[i + 1] in _AGE_AFTER:
        return True
    if i and tokens[i - 1] in _AGE_BEFORE and int(token) <= 110:
        # "my mum is 80, would she ..."; never "is 2000 what does that mean" or "is 20 percent"
        following = tokens[i + 1] if i + 1 < len(tokens) else ""
        return (tokens[i - 1] in ("aged", "age", "turned", "turning", "turns") or not 34 <= int(token) <= 43) and (
            not following or following in _AGE_FOLLOWING)
    return False


def _is_year(tokens: list[str], i: int) -> bool:
    """True for a year after a word that dates it ("the one my cousin had in 2021", "since 2019"): no reading."""
    return (len(tokens[i]) == 4 and tokens[i].isdigit() and 1900 <= int(tokens[i]) <= 2099 and i > 0
            and tokens[i - 1] in _DATING)


def _simple(category: str, tokens: list[str], by: dict[str, list[Hit]], advice: list[Hit],
            questions: list[Hit]) -> bool:
    """True when a simple category explains the message: any contact phrase; smalltalk phrases covering it."""
    if category == "smalltalk":
        return _covers(tokens, by.get(category, []), advice, questions)
    return bool(by.get(category))


def _covers(tokens: list[str], found: list[Hit], also: list[Hit] = (), questions: list[Hit] = ()) -> bool:
    """True when phrases of a simple category were found, no question is asked outside them ("when is it ok to
    drive"), and at most one other word (outside the hits in also) carries meaning."""
    if not found:
        return False
    covered = {i for hit in list(found) + list(also) for i in range(hit.start, hit.end)}
    if any(not covered.intersection(range(q.start, q.end)) for q in questions):
        return False
    rest = [t for i, t in enumerate(tokens) if i not in covered and t not in _STOP]
    return len(rest) <= 1


def _net_verdict(norm: str, lexicon: Lexicon, *, sure: bool, smalltalk: bool, mentions: tuple[str, ...],
                 temperature: float | None) -> Verdict | None:
    """Ask the safety net about a message the lexicon did not find urgent; log what it catches. sure: the lexicon
    found a general question, a request for advice or smalltalk, which the net needs a higher score to overrule
    (a high crisis score alone overrules the first two, never a plain "goodbye")."""
    net = lexicon.net
    if net is None or not norm:
        return None
    # Each word once: a word typed forty times ("tonight tonight ...") says no more than once.
    urgent, crisis, known = net.scores(" ".join(dict.fromkeys(norm.split())))
    threshold = lexicon.net_question_threshold if sure else lexicon.net_threshold
    # Mostly unseen letters ("asdfgh") say nothing either way.
    if known < lexicon.net_min_known:
        return None
    # A general question or a request for advice that both the urgent and the crisis scores flag is overruled.
    overrule = (sure and not smalltalk and urgent >= lexicon.net_threshold
                and crisis >= lexicon.net_question_crisis_threshold)
    category = None
    if urgent >= threshold or overrule:
        category = "crisis" if crisis >= lexicon.net_crisis_threshold else "warning"
    why = "urgent"
    # A crisis said in words of its own: the crisis score alone, or the meaning of the message (never a plain
    # "goodbye": smalltalk needs the letters' crisis score), is enough for the crisis lines.
    if category != "crisis" and crisis >= (lexicon.net_question_crisis_alone_threshold if sure
                                           else lexicon.net_crisis_alone_threshold):
        category, why = "crisis", "crisis"
    if category != "crisis" and not smalltalk:
        meaning = net.semantic_crisis(norm)
        if meaning is not None and meaning >= (lexicon.net_question_semantic_threshold if sure
                                               else lexicon.net_semantic_threshold):
            category, why = "crisis", "meaning"
    if category is None:
        return None
    nearest = net.nearest(norm)
    log.info("safety net: %s by its %s score (urgent %.2f, crisis %.2f) without a lexicon match; nearest concept "
             "%s; a clinician may add its words to triage.yaml", category, why, urgent, crisis, nearest)
    return Verdict(category, f"safety net ({why} score): nearest concept {nearest}", mentions, temperature, False,
                   "safety net")


def _crisis_beyond_doubt(norm: str, lexicon: Lexicon) -> bool:
    """True when the safety net's crisis score of a message reaches the lexicon's warning_crisis_threshold."""
    net = lexicon.net
    if net is None or not norm:
        return False
    _, crisis, known = net.scores(" ".join(dict.fromkeys(norm.split())))
    return known >= lexicon.net_min_known and crisis >= lexicon.net_warning_crisis_threshold


def example_failures(lexicon: Lexicon) -> list[tuple[Example, Verdict]]:
    """Return the lexicon's own examples that its words get wrong (the safety net aside)."""
    words_only = lexicon.replace(net=None) if lexicon.net is not None else lexicon
    failures = []
    for example in lexicon.examples:
        verdict = triage(example.message, words_only)
        if (verdict.category == example.category) != example.positive:
            failures.append((example, verdict))
    return failures


def explain(text: str, lexicon: Lexicon) -> list[str]:
    """Return what the lexicon found in a message, one line per concept (for staff and the bench)."""
    return [hit.describe() for hit in scan(read_words(normalize(abbreviations(number_of(text), lexicon)), lexicon),
                                           lexicon)]

