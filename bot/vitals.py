"""Vital signs read from the numbers people type: temperature, heart rate, blood pressure, oxygen, breathing rate.

The bot never says anything about a number (safety bar 11): a reading past the clinic's limits makes a message
urgent, and any reading makes a reply leave out everything that could read as a verdict on it.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from bot.lexicon import VitalSigns

# Body temperatures that make sense in each scale; other numbers are not read as temperatures.
CELSIUS_RANGE = (34.0, 45.0)
FAHRENHEIT_RANGE = (93.0, 113.0)
# A bare decimal with no word around it ("38.4 this morning") is read as a temperature in these ranges only.
BARE_CELSIUS = (35.0, 42.9)
BARE_FAHRENHEIT = (95.0, 108.9)
PLAUSIBLE = {"heart_rate": (20.0, 260.0), "oxygen": (40.0, 100.0), "breathing_rate": (4.0, 80.0)}

_NUMBER = re.compile(r"^([0-9]{1,3}(?:\.[0-9]{1,2})?)([a-z]*)$")
# A number written as a share ("100% remission", "sats 91 %"): a percentage is never a temperature.
_PERCENT = re.compile(r"(\d+(?:\.\d+)?)\s*%")
_SLASH = re.compile(r"(?<![0-9/])([0-9]{2,3}) ?/ ?([0-9]{2,3})(?![0-9/])")
_INTEGER = re.compile(r"^[0-9]+$")  # ASCII digits only: str.isdigit() says yes to "❶" and "²"
_UNITS = {"c": "c", "f": "f", "celsius": "c", "centigrade": "c", "fahrenheit": "f", "degrees": "", "degree": "",
          "deg": "", "degs": "", "oc": "c"}
_ONES = {"zero": 0, "oh": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
         "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14,
         "fifteen": 15, "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19}
_TENS = {"twenty": 20, "thirty": 30, "forty": 40, "fourty": 40, "fifty": 50, "sixty": 60, "seventy": 70,
         "eighty": 80, "ninety": 90}


@dataclass(frozen=True)
class Reading:
    """One vital sign a person typed."""

    kind: str           # temperature (always in °C), heart_rate, systolic, diastolic, oxygen, breathing_rate, lab
    value: float
    alarm: bool


def spell_numbers(tokens: list[str]) -> list[str]:
    """Return the tokens with numbers written in words as digits: "thirty nine point two" -> "39.2",
    "38 point 6" -> "38.6", "a hundred and one" -> "101". Small numbers alone ("one of them") stay words."""
    out: list[str] = []
    i = 0
    while i < len(tokens):
        j, value, worded = i, 0, False
        if tokens[j] == "a" and j + 1 < len(tokens) and tokens[j + 1] == "hundred":
            j += 1
        if _INTEGER.match(tokens[j]):
            value, j = int(tokens[j]), j + 1
        else:
            while j < len(tokens):
                word = tokens[j]
                if word in _TENS and value % 100 == 0:
                    value += _TENS[word]
                elif word in _ONES and word != "oh" and value % 10 == 0 and (value % 100 == 0 or _ONES[word] < 10):
                    value += _ONES[word]
                elif word == "hundred":
                    value = (value or 1) * 100
                elif word == "and" and value and value % 100 == 0 and j + 1 < len(tokens) and (
                        tokens[j + 1] in _ONES or tokens[j + 1] in _TENS):
                    pass
                else:
                    break
                worded, j = True, j + 1
        decimals = ""
        if j > i and j + 1 < len(tokens) and tokens[j] == "point":
            k = j + 1
            if _INTEGER.match(tokens[k]):
                decimals, k = tokens[k], k + 1
            else:
                while k < len(tokens) and tokens[k] in _ONES and _ONES[tokens[k]] < 10:
                    decimals += str(_ONES[tokens[k]])
                    k += 1
            if decimals:
                j = k
        if j > i and (decimals or (worded and value >= 30)):
            out.append(f"{value}.{decimals}" if decimals else str(value))
            i = j
            continue
        out.append(tokens[i])
        i += 1
    return out


# A word naming one number of a blood pressure ("systolic 85", "top number is 88") makes a number alone that
# reading; first, so that at the same distance it wins over the blood pressure's own words.
_KINDS = (("lab", "lab_words"), ("systolic_alone", "systolic_words"), ("diastolic", "diastolic_words"),
          ("systolic", "blood_pressure_words"), ("oxygen", "oxygen_words"),
          ("heart_rate", "heart_rate_words"), ("breathing_rate", "breathing_rate_words"),
          ("temperature", "temperature_words"))
BEFORE = 5   # a reading's word comes up to this many words before its number ("temp is now 38.6")...
AFTER = 1    # ...or right after it ("102 fever", "130 bpm")


def _kind_of(tokens: list[str], i: int, words: dict) -> str | None:
    """Return the kind of reading whose word is nearest to the number at position i, or None."""
    best, best_distance, best_length = None, BEFORE + 1, 0
    named = None
    before = tokens[max(0, i - BEFORE): i]
    after = tokens[i + 1: i + 1 + AFTER]
    for kind, key in _KINDS:
        for phrase in words.get(key, ()):
            parts = phrase.split()
            n = len(parts)
            for end in range(len(before), n - 1, -1):
                if before[end - n: end] == parts:
                    distance = len(before) - end + 1
                    # The longer phrase wins at the same place: "oxygen level" is oxygen, not the lab "level".
                    if distance < best_distance or (distance == best_distance and n > best_length):
                        best, best_distance, best_length = kind, distance, n
                    break
            if after[:n] == parts and 1 < best_distance:
                best, best_distance = kind, 1
            if after[:n] == parts and kind in ("systolic_alone", "diastolic"):
                named = kind
    # "blood pressure 85 systolic": a word right after the number naming which one it is says more than the blood
    # pressure's own words before it.
    return named if named and best == "systolic" else best


def read_vitals(raw: str, tokens: list[str], limits: VitalSigns) -> list[Reading]:
    """Return the vital signs (and test results) written in a message, each marked when past the limits."""
    readings: list[Reading] = []
    for match in _SLASH.finditer(raw):
        high, low = int(match.group(1)), int(match.group(2))
        if 50 <= high <= 260 and 20 <= low <= 160 and high > low:
            readings.append(Reading("systolic", float(high), high <= limits.systolic_at_or_below))
    if not any("0" <= ch <= "9" for ch in raw) and not any(w in _TENS or w == "hundred" for w in tokens):
        return readings
    tokens = spell_numbers(tokens)
    percents = {float(m.group(1)) for m in _PERCENT.finditer(raw)}
    # A message that is little more than a number ("thirty nine", "39 now") is read as a reading of some kind.
    short = len(tokens) <= 3
    diastolic = -1
    previous: tuple[int, str | None] = (-9, None)
    for i, token in enumerate(tokens):
        match = _NUMBER.match(token)
        if not match or i == diastolic:
            continue
        if (_INTEGER.match(token) and 35 <= int(token) <= 42 and i + 1 < len(tokens) and len(tokens[i + 1]) == 1
                and _INTEGER.match(tokens[i + 1])):
            token = f"{token}.{tokens[i + 1]}"  # "38 5" typed for 38.5
            match = _NUMBER.match(token)
            diastolic = i + 1
        value, unit = float(match.group(1)), match.group(2)
        nxt = tokens[i + 1] if i + 1 < len(tokens) else ""
        if unit and unit not in _UNITS and unit != "bpm":
            continue  # 20mg, 5th, 3am: not a vital sign
        if not unit and nxt in _UNITS:
            unit = nxt
        kind = "heart_rate" if unit == "bpm" else _kind_of(tokens, i, limits.words)
        if kind is None and i - previous[0] <= 2:  # "92 then 89", "38.2 and now 38.8": the same reading again
            kind = previous[1]
        previous = (i, kind or ("temperature" if "." in match.group(1) else None))
        if kind == "systolic_alone":
            kind = "systolic" if nxt == "over" or (_INTEGER.match(nxt) and float(nxt) < value) else None
            if kind is None:  # the top number alone ("systolic 85")
                if 50 <= value <= 260:
                    readings.append(Reading("systolic", value, value <= limits.systolic_at_or_below))
                continue
        if kind == "diastolic":  # the bottom number alone ("diastolic 48")
            if 20 <= value <= 160:
                readings.append(Reading("diastolic", value, value <= limits.diastolic_at_or_below))
            continue
        low_at = i + 2 if nxt == "over" else i + 1
        low = tokens[low_at] if low_at < len(tokens) else ""
        if (kind == "systolic" or nxt == "over") and _INTEGER.match(low) and 50 <= value <= 260 and float(low) < value:
            if not any(r.kind == "systolic" and r.value == value for r in readings):
                readings.append(Reading("systolic", value, value <= limits.systolic_at_or_below))
            diastolic = low_at
            continue
        if kind == "lab":
            readings.append(Reading("lab", value, False))
            continue
        if kind in PLAUSIBLE:
            bottom, top = PLAUSIBLE[kind]
            if bottom <= value <= top:
                alarm = {"heart_rate": value >= limits.heart_rate_at_or_above or value <= limits.heart_rate_at_or_below,
                         "oxygen": value <= limits.oxygen_at_or_below,
                         "breathing_rate": value >= limits.breathing_rate_at_or_above}[kind]
                readings.append(Reading(kind, value, alarm))
            continue
        if value in percents:
            continue
        celsius = _celsius(value, _UNITS[unit] if unit else None, "." in match.group(1),
                           kind == "temperature" or short)
        if celsius is not None:
            readings.append(Reading("temperature", celsius,
                                    celsius >= limits.fever_celsius or celsius <= limits.temperature_at_or_below))
    return readings


def _celsius(value: float, unit: str | None, decimal: bool, context: bool) -> float | None:
    """Return a number as a body temperature in °C, or None when it is not one."""
    in_f = FAHRENHEIT_RANGE[0] <= value <= FAHRENHEIT_RANGE[1]
    in_c = CELSIUS_RANGE[0] <= value <= CELSIUS_RANGE[1]
    if unit == "f":
        return round((value - 32) * 5 / 9, 2) if in_f else None
    if unit == "c":
        return value if in_c else None
    if unit == "" or context:  # "39 degrees", "temp of 39": the scale follows from the value
        if in_c:
            return value
        return round((value - 32) * 5 / 9, 2) if in_f else None
    if decimal and BARE_CELSIUS[0] <= value <= BARE_CELSIUS[1]:
        return value
    if decimal and BARE_FAHRENHEIT[0] <= value <= BARE_FAHRENHEIT[1]:
        return round((value - 32) * 5 / 9, 2)
    return None
