"""Matching a customer's free text to an FAQ entry: Arabic/English normalization and fuzzy scoring.

Pure functions (no database, no Telegram) so the rules are easy to test and to benchmark.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

from rapidfuzz import fuzz

# Harakat, superscript alef, Quranic marks: they change how a word is read, not which word it is.
_DIACRITICS = re.compile("[\u0610-\u061a\u064b-\u065f\u0670\u06d6-\u06ed]")
_TATWEEL = "\u0640"
_LETTERS = str.maketrans(
    {
        "أ": "ا",
        "إ": "ا",
        "آ": "ا",
        "ٱ": "ا",
        "ى": "ي",
        "ئ": "ي",
        "ؤ": "و",
        "ة": "ه",
        # Persian-keyboard forms some Arabic speakers type: Farsi yeh, keheh, heh goal and ae.
        "ی": "ي",
        "ک": "ك",
        "ۀ": "ه",
        "ہ": "ه",
        "ە": "ه",
        # Arabic-Indic and Eastern Arabic-Indic (Persian) digits.
        **{chr(0x0660 + digit): str(digit) for digit in range(10)},
        **{chr(0x06F0 + digit): str(digit) for digit in range(10)},
    }
)
_NON_WORD = re.compile(r"[^\w]+", re.UNICODE)

# Words that carry no topic: dropping them keeps "how do I" from making every question look alike.
STOPWORDS = frozenset(
    """
    a an the is are am be was were do does did i me my we our you your it its to of in on at for from with
    and or can could would should will please hi hello hey there what when where how which who why this that
    any about much many get have has
    ما ماذا متى اين كيف كم هل لماذا من في على الى عن مع و او انا انت انتم نحن هو هي هذا هذه ذلك لو ممكن
    اريد ابغى ابي عندي لدي لكم عندكم مرحبا السلام عليكم شكرا يا
    """.split()
)


def normalize(text: str) -> str:
    """Case, punctuation, Arabic letter variants, diacritics, tatweel and digits folded to one form."""
    text = unicodedata.normalize("NFKC", text)
    text = _DIACRITICS.sub("", text).replace(_TATWEEL, "")
    text = text.translate(_LETTERS).casefold()
    return " ".join(_NON_WORD.sub(" ", text).split())


def _strip_article(word: str) -> str:
    # The Arabic article (and the conjunction before it) is part of the word: "الشحن" / "والشحن" / "شحن".
    for prefix in ("وال", "بال", "فال", "كال", "لل", "ال"):
        if word.startswith(prefix) and len(word) - len(prefix) >= 2:
            return word[len(prefix) :]
    return word


def key_words(text: str) -> str:
    """The topic words of `text`: normalized, stop words dropped (all kept if nothing else is left)."""
    words = [_strip_article(word) for word in normalize(text).split()]
    kept = [word for word in words if word not in STOPWORDS]
    return " ".join(kept or words)


# Words at least this similar count as the same word misspelt ("shiping" ~ "shipping").
WORD_MATCH = 75


def _coverage(words: list[str], other: list[str]) -> float:
    """Mean, over `words`, of how well each is found in `other` (0 for words not found at all)."""
    total = 0.0
    for word in words:
        best = max(fuzz.ratio(word, candidate) for candidate in other)
        total += best if best >= WORD_MATCH else 0
    return total / len(words)


def similarity(query: str, phrase: str) -> float:
    """0-100: how well `query` matches `phrase` (both already key_words).

    The best of: the whole strings compared in sorted word order (typos, word order), and a word-by-word
    alignment that weighs the phrase's words being present over the query's extra words (a longer message
    around a known question). A one-word message may match a word of a phrase, at a discount, so that a
    single keyword can find its entry without matching every question that mentions it fully.
    """
    if not query or not phrase:
        return 0.0
    query_words, phrase_words = query.split(), phrase.split()
    aligned = 0.65 * _coverage(phrase_words, query_words) + 0.35 * _coverage(query_words, phrase_words)
    keyword = fuzz.token_set_ratio(query, phrase) * 0.85 if len(query_words) == 1 else 0.0
    return max(fuzz.token_sort_ratio(query, phrase), aligned, keyword)


@dataclass(frozen=True)
class Candidate:
    entry_id: int
    phrases: tuple[str, ...]  # question and alternative phrasings, already key_words()


@dataclass(frozen=True)
class Match:
    entry_id: int
    score: float


def candidates(entries: Iterable[tuple[int, str, Iterable[str]]]) -> list[Candidate]:
    """(entry id, question, phrasings) rows prepared for matching."""
    return [
        Candidate(entry_id, tuple(key_words(text) for text in (question, *phrasings) if text.strip()))
        for entry_id, question, phrasings in entries
    ]


def rank(query: str, pool: Iterable[Candidate], *, limit: int = 2) -> list[Match]:
    """The best `limit` entries for `query`, best first, each scored by its best phrase."""
    words = key_words(query)
    scored = [
        Match(candidate.entry_id, max((similarity(words, phrase) for phrase in candidate.phrases), default=0))
        for candidate in pool
    ]
    scored.sort(key=lambda match: (-match.score, match.entry_id))
    return scored[:limit]


@dataclass(frozen=True)
class Decision:
    """What to do with a message: answer one entry, offer several, or none (a gap: offer a human)."""

    matches: tuple[Match, ...]

    @property
    def answer(self) -> Match | None:
        return self.matches[0] if len(self.matches) == 1 else None


def decide(query: str, pool: Iterable[Candidate], *, threshold: float, margin: float) -> Decision:
    """Above `threshold` the best entry answers, unless the runner-up is within `margin`: then both."""
    best = [match for match in rank(query, pool) if match.score >= threshold]
    if len(best) == 2 and best[0].score - best[1].score > margin:
        best = best[:1]
    return Decision(tuple(best))


# Words that ask for a person rather than an answer ("talk to a human", "أريد موظف").
HUMAN_WORDS = frozenset(
    {"human", "agent", "person", "representative", "operator", "staff", "موظف", "انسان", "بشري", "ممثل"}
)
# Plurals and the Arabic article ("humans", "الموظف", "الموظفين", "لموظف") ask for a person just the same.
_PLURAL_ENDINGS = ("s", "ين", "ون", "ه")


def wants_human(text: str) -> bool:
    for word in normalize(text).split():
        for form in {word, _strip_article(word), word.removeprefix("ل")}:
            stems = {form, *(form.removesuffix(end) for end in _PLURAL_ENDINGS)}
            if not HUMAN_WORDS.isdisjoint(stems):
                return True
    return False
