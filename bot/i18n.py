"""Localized message rendering: Jinja2 templates per locale, HTML-escaped for Telegram's HTML parse mode.

A message is a template file, `templates/<locale>/<feature>/<name>.html`. Short strings (button labels,
menu descriptions) are macros in a template file and read with `label`, unescaped, because Telegram shows
them as plain text.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from html import unescape
from pathlib import Path
from typing import Any

from jinja2 import BytecodeCache, Environment, FileSystemLoader, StrictUndefined, select_autoescape
from jinja2.bccache import Bucket
from jinja2.ext import Extension
from markupsafe import Markup, escape

from bot import formatting
from bot.settings import LOCALES

# First-strong isolate / pop directional isolate: keep a Latin name, code or number from reordering the
# Arabic sentence around it.
FSI, PDI = "\u2068", "\u2069"


def isolate(value: Any) -> Markup:
    """Escape a value and wrap it in Unicode bidi isolates (safe in both directions)."""
    return Markup(f"{FSI}{escape(value)}{PDI}")  # noqa: S704  (the only variable part is escaped)


def normalize_locale(language_code: str | None, default: str) -> str:
    """Map Telegram's IETF language code (e.g. 'ar-SA', 'en') to a supported locale."""
    if language_code:
        primary = language_code.split("-")[0].split("_")[0].lower()
        if primary in LOCALES:
            return primary
    return default


class _CompiledTemplates(BytecodeCache):
    """Templates compiled once per process, shared by every Templates instance (the tests build an
    application per test); a template whose source changed is compiled again (Jinja checks the checksum)."""

    def __init__(self) -> None:
        self._code: dict[str, tuple[str, Any]] = {}

    def load_bytecode(self, bucket: Bucket) -> None:
        checksum, code = self._code.get(bucket.key, (None, None))
        if checksum == bucket.checksum:
            bucket.code = code

    def dump_bytecode(self, bucket: Bucket) -> None:
        self._code[bucket.key] = (bucket.checksum, bucket.code)


# Whitespace policy, the same for every template: a line that holds only block tags or comments leaves
# nothing (trim_blocks and lstrip_blocks); any other line keeps its line break, also when it ends with a
# tag (`Broadcast done.{% endif %}` must not run into the next line, as plain trim_blocks would make it),
# unless everything on it lies in branches not taken: then the line leaves nothing either. That is done by
# a marker the preprocessor puts after a line-ending tag, which `finish` resolves after rendering.
TAG = re.compile(r"\{%.*?%\}|\{#.*?#\}", re.S)
LINE_END = "\x1e"
_EMPTY_LINE = re.compile(rf"^[ \t]*{LINE_END}\n", re.M)


def source_lines(source: str) -> Iterator[tuple[str, bool]]:
    """The source in pieces (literal text, or one block tag or comment) with, for each piece, whether it is
    a tag that ends a line holding more than tags (so trim_blocks must not eat the line break after it)."""
    pieces: list[str] = []
    text_on_line = False  # literal text or `{{ … }}` seen on the current line
    position = 0
    for match in TAG.finditer(source):
        pieces.append(source[position : match.start()])
        pieces.append(match.group())
        position = match.end()
    pieces.append(source[position:])
    for index, piece in enumerate(pieces):
        is_tag = index % 2 == 1
        if not is_tag:
            if "\n" in piece:
                text_on_line = bool(piece.rsplit("\n", 1)[1].strip())
            elif piece.strip():
                text_on_line = True
            yield piece, False
            continue
        following = pieces[index + 1] if index + 1 < len(pieces) else ""
        explicit = piece[-3] in "-+"  # `-%}` / `+%}` say what they want
        yield piece, text_on_line and following.startswith("\n") and not explicit


class KeepLineBreaks(Extension):
    def preprocess(self, source: str, name: str | None, filename: str | None = None) -> str:
        return "".join(piece + LINE_END if ends_line else piece for piece, ends_line in source_lines(source))


def finish(text: str) -> str:
    """Resolve the line-end markers: a line left empty by untaken branches goes, any other keeps its break."""
    return _EMPTY_LINE.sub("", text).replace(LINE_END, "")


_COMPILED = _CompiledTemplates()  # every Environment below is configured alike, so they can share it


_ENVIRONMENTS: dict[tuple[str, tuple[tuple[str, Any], ...]], Environment] = {}


def _environment(root: Path, globals_: tuple[tuple[str, Any], ...]) -> Environment:
    """One environment per templates folder and globals, kept for the process: an application built again
    in the same process (the tests build one per test) finds its templates loaded (a file is still
    reloaded when it changes on disk: Jinja checks its modification time)."""
    key = (str(root), globals_)
    env = _ENVIRONMENTS.get(key)
    if env is None:
        env = Environment(
            loader=FileSystemLoader(str(root)),
            autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=True),
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=False,
            bytecode_cache=_COMPILED,
            extensions=[KeepLineBreaks],
        )
        env.filters["isolate"] = isolate
        env.filters.update(formatting.FILTERS)
        env.globals.update(formatting.GLOBALS)
        env.globals.update(globals_)
        _ENVIRONMENTS[key] = env
    return env


class Templates:
    """One Jinja2 environment over `templates/`; renders by locale with a fallback-free lookup."""

    def __init__(self, root: Path, *, default_locale: str = "en", globals_: dict[str, Any] | None = None):
        self.root = root
        self.default_locale = default_locale
        self.env = _environment(root, tuple(sorted((globals_ or {}).items())))
        found = (globals_ or {}).get("formats")
        self.formats = found if isinstance(found, formatting.Formats) else formatting.DEFAULT

    def _locale(self, locale: str | None) -> str:
        return locale if locale in LOCALES else self.default_locale

    def render(self, locale: str | None, name: str, /, **context: Any) -> str:
        """Render `<locale>/<name>` to an HTML string ready for parse_mode=HTML."""
        locale = self._locale(locale)
        template = self.env.get_template(f"{locale}/{name}")
        return finish(template.render(locale=locale, **context)).strip()

    def label(self, locale: str | None, name: str, macro: str, /, **kwargs: Any) -> str:
        """Plain text of macro `macro` in `<locale>/<name>` (for buttons and menus)."""
        locale = self._locale(locale)
        module = self.env.get_template(f"{locale}/{name}").make_module({"locale": locale})
        value = getattr(module, macro)(**kwargs)
        return unescape(finish(str(value))).strip()

    def text(self, locale: str | None, name: str, /, **context: Any) -> str:
        """Plain text of a whole template (for menus and captions that Telegram does not parse)."""
        return unescape(self.render(locale, name, **context))

    def macro_names(self, locale: str, name: str) -> set[str]:
        module = self.env.get_template(f"{locale}/{name}").make_module({"locale": locale})
        return {key for key in dir(module) if not key.startswith("_")}

    def template_names(self, locale: str) -> set[str]:
        base = self.root / locale
        return {str(path.relative_to(base)) for path in base.rglob("*.html")}
