"""Every template of both locales keeps its line breaks: text at the end of one source line never runs into
the text of the next one in the rendered message (the whitespace policy of bot/i18n.py)."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from typing import Any

import pytest
from jinja2 import Environment, meta

from bot.i18n import TAG, Templates, finish
from bot.resources import templates_dir

TEMPLATES = Templates(templates_dir(), globals_={"shop_name": "Shop", "currency": "USD"})
MARK = re.compile(r"\x02(\d+)\x03")
LEADING_CLOSERS = re.compile(r"[ \t]*(?:\{%-?\s*(?:end\w+|else|elif\b[^%]*)\s*[-+]?%\}[ \t]*)+")


class Sample(int):
    """A value that stands for anything a template asks for: a number (2), a text, a record whose every
    attribute and item is a Sample again, a list of two Samples; true in every condition."""

    def __new__(cls) -> Sample:
        return super().__new__(cls, 2)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        return SAMPLES.get(name, Sample())

    def __getitem__(self, key: Any) -> Any:
        return SAMPLES.get(key, Sample()) if isinstance(key, str) else Sample()

    def __iter__(self):
        return iter([Sample(), Sample()])

    def __len__(self) -> int:
        return 2


# Values whose type a filter insists on.
SAMPLES: dict[str, Any] = {
    "date": date(2026, 3, 1),
    "available_on": date(2026, 3, 1),
    "pending_until": datetime(2026, 3, 15, 12, tzinfo=UTC),
    "until": datetime(2026, 3, 1, 12, tzinfo=UTC),
    "birthday": date(1990, 3, 1),
    "start": date(2026, 2, 1),
    "end": date(2026, 2, 28),
    "at": datetime(2026, 3, 1, 12, tzinfo=UTC),
    "expires_at": datetime(2026, 3, 1, 12, tzinfo=UTC),
}


def instrument(source: str) -> str:
    """Mark the start of every source line that holds more than tags with its line number (after tags that
    close a branch opened above, so the mark belongs to this line), never inside a tag."""
    spans = [match.span() for match in TAG.finditer(source)]
    out, line_start = [], 0
    for number, line in enumerate(source.split("\n"), start=1):
        line_end = line_start + len(line)
        inside = any(start < line_start < end for start, end in spans)
        bare = TAG.sub("", line).strip()
        if bare and not inside:
            closers = LEADING_CLOSERS.match(line)
            cut = closers.end() if closers else 0
            line = f"{line[:cut]}\x02{number}\x03{line[cut:]}"
        out.append(line)
        line_start = line_end + 1
    return "\n".join(out)


def glued(env: Environment, source: str, context: dict[str, Any]) -> list[str]:
    output = finish(env.from_string(instrument(source)).render(context))
    problems, previous, position = [], None, 0
    for mark in MARK.finditer(output):
        before = MARK.sub("", output[position : mark.start()])
        if previous is not None and before.strip() and not before.rstrip(" \t").endswith("\n"):
            problems.append(f"line {previous} runs into line {mark.group(1)}: {before[-40:]!r}")
        previous, position = mark.group(1), mark.end()
    return problems


ALL = [(locale, name) for locale in ("en", "ar") for name in sorted(TEMPLATES.template_names(locale))]


@pytest.mark.parametrize(("locale", "name"), ALL, ids=[f"{locale}/{name}" for locale, name in ALL])
def test_no_two_source_lines_become_one(locale, name):
    source = (templates_dir() / locale / name).read_text(encoding="utf-8")
    names = meta.find_undeclared_variables(TEMPLATES.env.parse(source))
    # f and d: the figures the analytics macros read from the context they are imported with.
    context = {name: SAMPLES.get(name, Sample()) for name in names | {"f", "d"}} | {"locale": locale}
    assert glued(TEMPLATES.env, source, context) == []


def test_the_check_sees_a_line_run_into_the_next():
    """The check itself: under plain trim_blocks the broadcast summary lost its line break."""
    source = "{% if done %}Broadcast done.{% endif %}\n{{ sent }} of 9 sent"
    plain = Environment(trim_blocks=True, lstrip_blocks=True, autoescape=True)
    assert glued(plain, source, {"done": True, "sent": 8}) == ["line 1 runs into line 2: 'Broadcast done.'"]
    assert glued(TEMPLATES.env, source, {"done": True, "sent": 8}) == []
    assert TEMPLATES.env.from_string(source).render(done=True, sent=8) != "Broadcast done.8 of 9 sent"
