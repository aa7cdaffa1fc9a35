"""Follow-ups in context: how a short message leans on the entry the conversation answered last."""
from __future__ import annotations

from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

# Asking for more about the last answer, as a whole message (after the POLITE words are dropped).
MORE = frozenset({
    "more", "tell me more", "tell me more about it", "tell me more about that", "tell me more about this",
    "tell me about it", "more about it", "more about that", "more about this", "say more", "go on", "carry on",
    "keep going", "continue", "what else", "anything else", "more info", "more information", "more details",
    "more detail", "details", "explain more", "elaborate", "more on that", "and", "and then", "then what",
})
POLITE = frozenset({"please", "ok", "okay", "can", "could", "would", "you", "pls", "plz", "so", "yes", "right"})
# Words that ask about the last answer itself and bring nothing of their own: "why?", "what does that mean",
# "how come", "why not". The question words that open a new side of it (where, when, who, which) are not here:
# "where was that" asks something the last answer may not hold.
ABOUT_IT = (ENGLISH_STOP_WORDS - {"where", "when", "who", "whom", "whose", "which"}) | {
    "why", "how", "mean", "means", "meant", "meaning", "explain", "really", "come", "tell", "more", "please",
    "understand", "does", "did", "dont", "didnt", "doesnt", "isnt", "thats", "whats", "hows", "whys"}
# A message of these words only says "I heard you": it does not ask about the last answer.
NODS = frozenset({"ok", "okay", "alright", "right", "yes", "yeah", "no", "sure", "fine", "cool", "great", "hmm",
                  "oh", "ah", "i", "see", "got", "it", "understood"})
# A message that starts like this goes on from the last answer ("and for children?", "what about adults").
LEADS = (("and",), ("but",), ("so",), ("also",), ("then",), ("what", "about"), ("how", "about"), ("what", "if"))
# Words that point back at something said before.
POINTERS = frozenset({"that", "this", "it", "its", "thats", "they", "them", "their", "those", "these", "there",
                      "he", "she", "one"})
# Up to this many words of its own, a message is short enough to lean on the last answer...
SHORT_WORDS = 3
# ...and up to this many when it also points back at it ("why do they need to keep checking for so long").
POINTING_WORDS = 5


def own_words(norm: str) -> list[str]:
    """Return the words of a normalised message that carry meaning of their own (not stop words)."""
    return [w for w in norm.split() if w not in ENGLISH_STOP_WORDS]


def asks_more(norm: str, extra: frozenset[str] = frozenset()) -> bool:
    """True when a normalised message asks for more about the last answer ("tell me more", "go on")."""
    words = [w for w in norm.split() if w not in POLITE]
    text = " ".join(words)
    return bool(words) and (text in MORE or text in extra or norm in extra)


def about_it(norm: str) -> bool:
    """True when every word of a normalised message asks about the last answer itself ("why?", "what does
    that mean")."""
    words = norm.split()
    return bool(words) and all(w in ABOUT_IT for w in words)


def leans(norm: str, extra: frozenset[str] = frozenset()) -> bool:
    """True when a normalised message may lean on the last answer: it asks for more or about it, is short, goes
    on from it, or points back at it in a few words."""
    words = norm.split()
    if not words or all(w in NODS for w in words):
        return False
    if asks_more(norm, extra) or about_it(norm):
        return True
    mine = own_words(norm)
    if len(mine) <= SHORT_WORDS or any(tuple(words[:len(lead)]) == lead for lead in LEADS):
        return True
    return len(mine) <= POINTING_WORDS and bool(POINTERS.intersection(words))
