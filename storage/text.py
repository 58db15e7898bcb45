"""Text as the databases accept it: customers' words can hold characters a text column refuses."""

from __future__ import annotations

import re

# PostgreSQL's text types refuse NUL ("invalid byte sequence for encoding UTF8: 0x00"); a lone surrogate
# (JSON allows "\ud800") is no character at all and cannot be encoded as UTF-8 for either database.
_NUL = "\x00"
_SURROGATE = re.compile("[\ud800-\udfff]")
REPLACEMENT = "\ufffd"


def storable(text: str) -> str:
    """`text` with NUL removed and lone surrogates replaced by U+FFFD, so every backend stores it."""
    return _SURROGATE.sub(REPLACEMENT, text.replace(_NUL, ""))
