"""Localized message rendering: Jinja2 templates per locale, HTML-escaped for Telegram's HTML parse mode.

A message is a template file, `templates/<locale>/<feature>/<name>.html`. Short strings (button labels,
menu descriptions) are macros in a template file and read with `label`, unescaped, because Telegram shows
them as plain text.
"""

from __future__ import annotations

from html import unescape
from pathlib import Path
from typing import Any

from jinja2 import BytecodeCache, Environment, FileSystemLoader, StrictUndefined, select_autoescape
from jinja2.bccache import Bucket
from markupsafe import Markup, escape

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
        )
        env.filters["isolate"] = isolate
        env.globals.update(globals_)
        _ENVIRONMENTS[key] = env
    return env


class Templates:
    """One Jinja2 environment over `templates/`; renders by locale with a fallback-free lookup."""

    def __init__(self, root: Path, *, default_locale: str = "en", globals_: dict[str, Any] | None = None):
        self.root = root
        self.default_locale = default_locale
        self.env = _environment(root, tuple(sorted((globals_ or {}).items())))

    def _locale(self, locale: str | None) -> str:
        return locale if locale in LOCALES else self.default_locale

    def render(self, locale: str | None, name: str, /, **context: Any) -> str:
        """Render `<locale>/<name>` to an HTML string ready for parse_mode=HTML."""
        locale = self._locale(locale)
        template = self.env.get_template(f"{locale}/{name}")
        return template.render(locale=locale, **context).strip()

    def label(self, locale: str | None, name: str, macro: str, /, **kwargs: Any) -> str:
        """Plain text of macro `macro` in `<locale>/<name>` (for buttons and menus)."""
        locale = self._locale(locale)
        module = self.env.get_template(f"{locale}/{name}").make_module({"locale": locale})
        value = getattr(module, macro)(**kwargs)
        return unescape(str(value)).strip()

    def text(self, locale: str | None, name: str, /, **context: Any) -> str:
        """Plain text of a whole template (for menus and captions that Telegram does not parse)."""
        return unescape(self.render(locale, name, **context))

    def macro_names(self, locale: str, name: str) -> set[str]:
        module = self.env.get_template(f"{locale}/{name}").make_module({"locale": locale})
        return {key for key in dir(module) if not key.startswith("_")}

    def template_names(self, locale: str) -> set[str]:
        base = self.root / locale
        return {str(path.relative_to(base)) for path in base.rglob("*.html")}
