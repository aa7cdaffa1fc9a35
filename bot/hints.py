"""Plain-words help in knowledge-base messages: "did you mean", and YAML syntax errors with their fix."""
from __future__ import annotations

import difflib
from typing import Iterable

# How alike a name must be (difflib's ratio) to be offered as the one meant.
DID_YOU_MEAN_CUTOFF = 0.6


def did_you_mean(name: str, choices: Iterable[str]) -> str:
    """Return ' (did you mean X?)' for the choice nearest a mistyped name, or '' when none is near."""
    choices = [c for c in choices if isinstance(c, str)]
    found = difflib.get_close_matches(name, choices, n=1, cutoff=DID_YOU_MEAN_CUTOFF)
    if not found:
        lowered = {c.lower(): c for c in choices}
        found = [lowered[m] for m in difflib.get_close_matches(name.lower(), lowered, n=1,
                                                                cutoff=DID_YOU_MEAN_CUTOFF)]
    return f" (did you mean {found[0]!r}?)" if found else ""


def _quoted_fix(line: str) -> str:
    """Return a line 'key: text: more' rewritten with its text in quotes, or '' when it is not that shape."""
    stripped = line.strip()
    lead = line[: len(line) - len(line.lstrip())]
    dash = ""
    if stripped.startswith("- "):
        dash, stripped = "- ", stripped[2:]
    key, sep, value = stripped.partition(": ")
    if not sep or not key or " " in key.strip() or not value.strip():
        return ""
    value = value.strip().replace("\\", "\\\\").replace('"', '\\"')
    return f'{lead}{dash}{key}: "{value}"'


def _unclosed_quote(lines: list[tuple[int, str]]) -> int:
    """Return the number of the first line that opens a double quote mark it does not close, or 0."""
    for number, text in lines:
        if text.replace('\\"', "").count('"') % 2:
            return number
    return 0


def plain_yaml_error(problem: str, line_text: str, above: list[tuple[int, str]] = ()) -> str:
    """Say what a YAML parser's complaint means for a person editing the file, and how to fix it (above: the
    numbered lines from where the parser's context began to where it stopped)."""
    said = problem or "invalid YAML"
    if "aliases" in said or "appears twice" in said:  # already in plain words (this project's own checks)
        return said
    if "mapping values are not allowed" in said:
        fix = _quoted_fix(line_text)
        text = ("this line has a colon followed by a space inside its text, which YAML reads as a new key: "
                "put this text in quotes")
        return text + (f", like this: {fix.strip()}" if fix else "")
    if "\t" in said or "\\t" in said or "tab" in said or "\t" in line_text[: len(line_text) - len(line_text.lstrip())]:
        return "this line is indented with a tab: use spaces, not tabs, to indent"
    if "did not find expected key" in said or "did not find expected '-'" in said:
        opened = _unclosed_quote(list(above))
        if opened:
            return (f"a quote mark opened on line {opened} is never closed: add the closing quote mark at the end "
                    "of that text")
        return ("this line does not continue the entry the way YAML expects: check its indentation against the "
                "lines above (use spaces)")
    if "could not find expected ':'" in said:
        return ("a line here is neither 'key: value' nor a list item '- ...': check that each key ends with a "
                "colon and that a long text continues with the same indentation, or put the text in quotes")
    if "expected <block end>" in said or "expected <block mapping start>" in said:
        return ("the indentation is off: the keys of one entry, and the items of one list, must start in the "
                "same column (use spaces)")
    if "unexpected end of stream" in said and "quoted" in said or "found unexpected end of stream" in said:
        return "a quote mark is opened but never closed: add the closing quote mark at the end of the text"
    if "expected ',' or ']'" in said or "expected ',' or '}'" in said:
        return ("a [list] or {mapping} written on one line is not closed, or holds a comma or colon inside "
                "its text: close it, or put the text in quotes")
    if "cannot start any token" in said:
        return "a text starts with a character YAML keeps for itself (such as @, ` or %): put the text in quotes"
    if "found undefined tag handle" in said or "could not determine a constructor" in said:
        return "a text starts with '!', which YAML reads as a type: put the text in quotes"
    return f"{said} (check the indentation, and put text with a colon or a quote mark in quotes)"
