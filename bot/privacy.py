"""Remove personal details from a message before anything of it is kept."""
from __future__ import annotations

import re

_MONTHS = (r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|"
           r"sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)")
# Order matters: the most specific shapes first, so a date is not half-eaten as a phone number.
_RULES: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+", re.IGNORECASE), "[email]"),
    (re.compile(r"\bhttps?://\S+|\bwww\.\S+", re.IGNORECASE), "[link]"),
    (re.compile(r"\b\d{1,4}[/.-]\d{1,2}[/.-]\d{1,4}\b"), "[date]"),
    (re.compile(rf"\b\d{{1,2}}(?:st|nd|rd|th)?(?:\s+of)?\s+{_MONTHS}\.?,?(?:\s+\d{{2,4}})?\b", re.IGNORECASE), "[date]"),
    (re.compile(rf"\b{_MONTHS}\.?\s+\d{{1,2}}(?:st|nd|rd|th)?,?(?:\s+\d{{2,4}})?\b", re.IGNORECASE), "[date]"),
    # NHS numbers (3-3-4), phone numbers and any other run of 5+ digits, spaced or not.
    (re.compile(r"(?<![\w.])\+?\(?\d[\d\s().-]{5,}\d(?![\w.])"), "[number]"),
    (re.compile(r"\b\d{5,}\b"), "[number]"),
    # UK postcodes ("LS1 3EX", "sw1a1aa") and US ZIP codes are caught above (5 digits).
    (re.compile(r"\b[A-Z]{1,2}\d[A-Z\d]?\s*\d[A-Z]{2}\b", re.IGNORECASE), "[postcode]"),
    # Names people give: "my name is Jane Smith", "I'm called Sam", "call me Dr Patel".
    (re.compile(r"\b(my name is|my names|my name's|i am called|i'm called|im called|call me)\s+"
                r"((?:dr\.?|mr\.?|mrs\.?|ms\.?|miss)\s+)?[A-Za-z][\w'-]*(?:\s+[A-Z][\w'-]*)?", re.IGNORECASE),
     r"\1 [name]"),
)


def scrub(text: str) -> str:
    """Return text with e-mail addresses, numbers, dates, postcodes and given names replaced by placeholders."""
    for pattern, replacement in _RULES:
        text = pattern.sub(replacement, text)
    return text
