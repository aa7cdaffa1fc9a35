"""Remove personal details and control characters from a message before anything of it is kept or printed."""
from __future__ import annotations

import re
import unicodedata

from bot.text import remove_invisible

_MONTHS = (r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|"
           r"sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)")
# A capitalised word of a name: "Jane", "O'Neill", "Jones-Smith" (not an acronym such as ALL or CAR-T).
_NAME_WORD = r"[A-Z][a-z'][\w'-]*"
_TITLE = r"(?:(?:dr|mr|mrs|ms|miss|prof)\.?\s+)"
# Street words that are seldom anything else after a number ("way", "close", "hill" are left out: "2 miles up a hill").
_STREET = (r"(?:street|st|road|rd|avenue|ave|lane|drive|crescent|terrace|grove|gardens|gdns|square|sq|"
           r"boulevard|blvd|parade|mews)")
# Order matters: the most specific shapes first, so a date is not half-eaten as a phone number.
_RULES: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+", re.IGNORECASE), "[email]"),
    (re.compile(r"\bhttps?://\S+|\bwww\.\S+", re.IGNORECASE), "[link]"),
    (re.compile(r"\b\d{1,4}[/.-]\d{1,2}[/.-]\d{1,4}\b"), "[date]"),
    # "3rd March 1975", "14-Mar-1961", "14.March.1961", "12 of June"
    (re.compile(rf"\b\d{{1,2}}(?:st|nd|rd|th)?(?:\s+of)?[\s./-]*{_MONTHS}\b\.?,?(?:[\s./-]*\d{{2,4}})?\b",
                re.IGNORECASE), "[date]"),
    (re.compile(rf"\b{_MONTHS}\.?[\s./-]+\d{{1,2}}(?:st|nd|rd|th)?,?(?:[\s./-]+\d{{2,4}})?\b", re.IGNORECASE),
     "[date]"),
    # Street addresses: a house number (221b) and up to three words ending in a street word.
    (re.compile(rf"\b\d{{1,5}}[a-z]?,?\s+(?:[A-Za-z][\w'-]*\s+){{1,3}}{_STREET}\b\.?", re.IGNORECASE),
     "[address]"),
    # Hospital and patient numbers: MRN A1234567, "hospital number RX 998877", any letters-and-digits id.
    (re.compile(r"\b(?:mrn|hospital (?:no|number)|patient (?:no|number)|chi|nhs (?:no|number))\b[\s:.#-]*"
                r"(?=[\w-]*\d)[\w-]+(?:\s+\d[\d\s]*\d)?", re.IGNORECASE), "[number]"),
    (re.compile(r"\b[A-Z]{1,3}\d{5,}[A-Z]?\b", re.IGNORECASE), "[number]"),
    # NHS numbers (3-3-4), phone numbers and any other run of 5+ digits, spaced or not.
    (re.compile(r"(?<![\w.])\+?\(?\d[\d\s().-]{5,}\d(?![\w.])"), "[number]"),
    (re.compile(r"\b\d{5,}\b"), "[number]"),
    # UK postcodes ("LS1 3EX", "sw1a1aa") and US ZIP codes are caught above (5 digits).
    (re.compile(r"\b[A-Z]{1,2}\d[A-Z\d]?\s*\d[A-Z]{2}\b", re.IGNORECASE), "[postcode]"),
    # Names people give: "my name is Jane Smith", "I'm called Sam", "call me Dr Patel" (any case after these).
    (re.compile(rf"\b(my name is|my names|my name's|i am called|i'm called|im called|call me)\s+{_TITLE}?"
                r"[A-Za-z][\w'-]*(?:\s+[A-Z][\w'-]*){0,3}", re.IGNORECASE), r"\1 [name]"),
    # "I'm Jane", "I am Peter O'Neill", "this is Dr Ravi Patel": only a capitalised name, so "I'm worried" stays.
    (re.compile(rf"\b((?i:i'm|im|i am|this is))\s+(?:(?i:{_TITLE}))?{_NAME_WORD}(?:\s+{_NAME_WORD}){{0,3}}"),
     r"\1 [name]"),
)
_SPACES = "\t\n\r\x0b\x0c"


def strip_controls(text: str) -> str:
    """Return text without control, escape and bidi-override characters; line breaks and tabs become spaces.

    Invisible marks that reorder or hide text are a trap in a terminal or a spreadsheet, so they go too.
    """
    text = remove_invisible(text)
    return "".join(" " if ch in _SPACES else ch for ch in text if ch in _SPACES or unicodedata.category(ch) != "Cc")


def scrub(text: str) -> str:
    """Return text with control characters removed and e-mail addresses, numbers, dates, addresses, postcodes
    and given names replaced by placeholders."""
    text = strip_controls(text)
    for pattern, replacement in _RULES:
        text = pattern.sub(replacement, text)
    return text
