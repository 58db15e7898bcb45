"""Small talk: greetings, thanks, goodbyes and acknowledgements ("thanks!", "السلام عليكم", 👍) get a short
reply in kind instead of an FAQ search, so they are never offered a person nor recorded as FAQ gaps.

The phrases live in SMALLTALK_FILE (the packaged data/smalltalk.yaml by default), read once when the
application is built. A message is small talk when all of its words are covered by phrases, or, with no
words at all, when each of its emoji is a phrase: "hello, where is my order?" stays a question.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import yaml
from telegram import Update

from bot.context import BotContext
from bot.faq import matching
from bot.replies import reply

# In reply order: a message mixing kinds ("ok thanks bye") is answered for the first kind it contains.
KINDS = ("salam", "goodbye", "thanks", "greeting", "ack")
PHRASEBOOK_KEY = "smalltalk"
TEMPLATE = "faq/smalltalk.html"
# Longer messages are questions with a greeting in them, not small talk.
MAX_WORDS = 12
_REPEATS = re.compile(r"(.)\1+")
# What makes one emoji look like many: variation selectors, skin tones, joiners.
_EMOJI_NOISE = re.compile("[\ufe0e\ufe0f\u200d\U0001f3fb-\U0001f3ff]")
_SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _squash(text: str) -> str:
    """matching.normalize, then letters repeated for emphasis counted once ("thanksss", "هلااا")."""
    return _REPEATS.sub(r"\1", matching.normalize(text))


def _symbols(text: str) -> str:
    """The emoji and symbols of `text` without their modifiers (what normalize drops, spaces aside)."""
    return "".join(char for char in _EMOJI_NOISE.sub("", text) if not char.isspace())


@dataclass(frozen=True)
class Phrasebook:
    """Phrases as word tuples (squashed) and emoji, each mapped to its kind."""

    phrases: dict[tuple[str, ...], str]
    emoji: dict[str, str]

    @property
    def longest(self) -> int:
        return max((len(words) for words in self.phrases), default=0)

    def kind_of(self, text: str) -> str | None:
        """The kind of small talk `text` is, or None when it says anything else."""
        words = tuple(_squash(text).split())
        if not words:
            symbols = _symbols(text)
            kinds = [self.emoji.get(char) for char in symbols]
            return _first(kinds) if symbols and None not in kinds else None
        if len(words) > MAX_WORDS:
            return None
        return self._cover(words)

    def _cover(self, words: tuple[str, ...]) -> str | None:
        # covered[i]: the kinds of a cover of words[:i] by phrases, or None when there is none.
        covered: list[list[str] | None] = [[], *([None] * len(words))]
        for end in range(1, len(words) + 1):
            for size in range(1, min(self.longest, end) + 1):
                before, kind = covered[end - size], self.phrases.get(words[end - size : end])
                if before is not None and kind is not None:
                    covered[end] = [*before, kind]
                    break
        found = covered[-1]
        return _first(found) if found else None


def _first(kinds: Sequence[str | None]) -> str | None:
    return min((kind for kind in kinds if kind is not None), key=KINDS.index, default=None)


def load_file(path: Path) -> Phrasebook:
    """Read the small-talk file; ValueError names the file, the line and what is wrong."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise ValueError(f"{path}: cannot be read ({error.strerror or error})") from None
    try:
        document = yaml.compose(text, Loader=_SAFE_LOADER)
    except yaml.YAMLError as error:
        raise ValueError(f"{path}: not valid YAML ({error})") from None
    if document is None:
        return Phrasebook({}, {})
    if not isinstance(document, yaml.MappingNode):
        raise ValueError(f"{path}, line {document.start_mark.line + 1}: needs kinds ({', '.join(KINDS)})")
    phrases: dict[tuple[str, ...], str] = {}
    emoji: dict[str, str] = {}
    for key, value in document.value:
        line = key.start_mark.line + 1
        if key.value not in KINDS:
            raise ValueError(f"{path}, line {line}: unknown kind {key.value!r} (kinds: {', '.join(KINDS)})")
        if not isinstance(value, yaml.SequenceNode):
            raise ValueError(f"{path}, line {line}: {key.value} needs a list of phrases")
        for item in value.value:
            item_line = item.start_mark.line + 1
            if not isinstance(item, yaml.ScalarNode) or not str(item.value).strip():
                raise ValueError(f"{path}, line {item_line}: a phrase must be a text")
            words = tuple(_squash(item.value).split())
            if words:
                phrases.setdefault(words, key.value)
                continue
            symbols = _symbols(item.value)
            if len(symbols) != 1:
                raise ValueError(f"{path}, line {item_line}: {item.value!r} needs words or a single emoji")
            emoji.setdefault(symbols, key.value)
    return Phrasebook(phrases, emoji)


async def consume_small_talk(update: Update, context: BotContext) -> bool:
    """A greeting, thanks, goodbye or acknowledgement: a short reply in kind, and nothing recorded."""
    message = update.effective_message
    phrasebook: Phrasebook | None = context.bot_data.get(PHRASEBOOK_KEY)
    if message is None or not message.text or phrasebook is None:
        return False
    kind = phrasebook.kind_of(message.text)
    if kind is None:
        return False
    customer = context.customer
    name = customer.first_name if customer is not None else None
    await reply(update, context, TEMPLATE, locale=context.locale, kind=kind, name=name)
    return True
