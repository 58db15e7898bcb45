"""Inline buttons' callback data: one typed codec, so every button is built and read the same way.

A button's data is `prefix` or `prefix:field:field…`, the wire format the bot has always sent (`faqv:12:1`,
`loy:y:COFFEE:ab12cd34ef56`), so buttons already in customers' chats keep working. Each kind of button is
a frozen dataclass subclassing `CallbackData` with its prefix (`class FaqVote(CallbackData,
prefix="faqv")`); its fields are typed, and only these types are allowed:

- `int`: ASCII digits in canonical form, 0 … 2**31 − 1, the database's INTEGER, so a forged id never
  reaches a query ("value out of int32 range" on PostgreSQL); `Annotated[int, Limit(n)]` narrows it;
- `bool`: "1" or "0";
- `str`: a token of letters, digits, "_" and "-", at most 24 characters (`Annotated[str, Limit(n)]`);
- `Literal["a", "b"]`: one of those words;
- `int | None` (or another of these `| None`) as the last field: left out of the data when None.

`pack()` validates the values and Telegram's 64-byte limit, raising `InvalidCallbackData`; `parse()`
returns None for anything else (random, outdated, oversized data). Handlers are registered with
`ButtonHandler(callback, Kind)`, which takes only data that parses, and read it with `Kind.of(update)`;
what no handler takes gets the "no longer active" alert from `bot/fallback.py`.
"""

from __future__ import annotations

import dataclasses
import re
import types
import typing
from dataclasses import dataclass
from typing import Annotated, Any, ClassVar, Literal, Self

from telegram import Update
from telegram.ext import CallbackQueryHandler

INT_MAX = 2**31 - 1  # PostgreSQL INTEGER (and what SQLite ids stay within)
DATA_MAX_BYTES = 64  # Telegram refuses longer callback data
TOKEN_MAX = 24
SEPARATOR = ":"
DIGITS = re.compile(r"0|[1-9][0-9]*")  # ASCII only: int() would also take "١٢", "1_000" and " 7"
TOKEN = re.compile(r"[A-Za-z0-9_-]+")


def parse_id(text: str) -> int | None:
    """A database id typed by a merchant ("/faq edit 12"), or None when it is not one (out of range,
    non-ASCII digits)."""
    return (
        int(text)
        if DIGITS.fullmatch(text) and len(text) <= len(str(INT_MAX)) and int(text) <= INT_MAX
        else None
    )


class InvalidCallbackData(ValueError):
    """A button was built with values its kind does not allow (a bug, raised when packing)."""


@dataclass(frozen=True)
class Limit:
    """The largest int, or the longest str, a field allows (`Annotated[int, Limit(999)]`)."""

    max: int


@dataclass(frozen=True)
class _Field:
    name: str
    kind: type | tuple[str, ...]  # int, bool, str, or the words of a Literal
    limit: int
    optional: bool

    def encode(self, value: object) -> str:
        if self.kind is bool:
            if not isinstance(value, bool):
                raise InvalidCallbackData(f"{self.name} must be a bool, not {value!r}")
            return "1" if value else "0"
        if self.kind is int:
            if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= self.limit:
                raise InvalidCallbackData(f"{self.name} must be an int in 0…{self.limit}, not {value!r}")
            return str(value)
        text = str(value) if isinstance(value, str) else None
        if isinstance(self.kind, tuple):
            if text not in self.kind:
                raise InvalidCallbackData(f"{self.name} must be one of {self.kind}, not {value!r}")
            return text
        if text is None or not TOKEN.fullmatch(text) or len(text) > self.limit:
            raise InvalidCallbackData(f"{self.name} must be a token of at most {self.limit}, not {value!r}")
        return text

    def decode(self, text: str) -> object:
        """The field's value, or raises ValueError."""
        if self.kind is bool:
            if text not in ("0", "1"):
                raise ValueError(text)
            return text == "1"
        if self.kind is int:
            if not DIGITS.fullmatch(text) or len(text) > len(str(self.limit)) or int(text) > self.limit:
                raise ValueError(text)
            return int(text)
        if isinstance(self.kind, tuple):
            if text not in self.kind:
                raise ValueError(text)
            return text
        if not TOKEN.fullmatch(text) or len(text) > self.limit:
            raise ValueError(text)
        return text


def _field_of(name: str, hint: Any) -> _Field:
    limit: int | None = None
    if typing.get_origin(hint) is Annotated:
        hint, *extras = typing.get_args(hint)
        limit = next((extra.max for extra in extras if isinstance(extra, Limit)), None)
    optional = False
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        members = [arg for arg in typing.get_args(hint) if arg is not type(None)]
        if len(members) != 1:
            raise TypeError(f"callback field {name}: only `X | None` unions are allowed")
        hint, optional = members[0], True
    if typing.get_origin(hint) is Literal:
        words = typing.get_args(hint)
        if not all(isinstance(word, str) and TOKEN.fullmatch(word) for word in words):
            raise TypeError(f"callback field {name}: Literal words must be tokens")
        return _Field(name, tuple(words), 0, optional)
    if hint is bool:
        return _Field(name, bool, 1, optional)
    if hint is int:
        return _Field(name, int, min(limit if limit is not None else INT_MAX, INT_MAX), optional)
    if hint is str:
        return _Field(name, str, limit if limit is not None else TOKEN_MAX, optional)
    raise TypeError(f"callback field {name}: {hint!r} is not int, bool, str or a Literal")


class CallbackData:
    """Base of every kind of button data; subclasses are frozen dataclasses with a unique prefix."""

    prefix: ClassVar[str]
    kinds: ClassVar[dict[str, type[CallbackData]]] = {}  # prefix -> kind, every kind the bot has

    def __init_subclass__(cls, *, prefix: str, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if (
            not prefix
            or prefix in CallbackData.kinds
            or not all(TOKEN.fullmatch(p) for p in prefix.split(":"))
        ):
            raise TypeError(f"callback prefix {prefix!r} is empty, malformed or taken")
        cls.prefix = prefix
        CallbackData.kinds[prefix] = cls

    @classmethod
    def _fields(cls) -> tuple[_Field, ...]:
        cached = cls.__dict__.get("_spec")
        if cached is None:  # resolved on first use: the dataclass decorator runs after __init_subclass__
            hints = typing.get_type_hints(cls, include_extras=True)
            cached = tuple(_field_of(f.name, hints[f.name]) for f in dataclasses.fields(cls))  # type: ignore[arg-type]
            if any(f.optional for f in cached[:-1]):
                raise TypeError(f"{cls.__name__}: only the last callback field may be optional")
            cls._spec = cached  # type: ignore[attr-defined]
        return cached

    def pack(self) -> str:
        """The callback data for this button; raises InvalidCallbackData for a value out of bounds."""
        parts = [self.prefix]
        for field in self._fields():
            value = getattr(self, field.name)
            if value is None and field.optional:
                continue  # only the last field may be left out
            parts.append(field.encode(value))
        data = SEPARATOR.join(parts)
        if len(data.encode()) > DATA_MAX_BYTES:
            raise InvalidCallbackData(f"{data!r} is longer than Telegram's {DATA_MAX_BYTES} bytes")
        return data

    @classmethod
    def parse(cls, data: object) -> Self | None:
        """The button this data stands for, or None when it is not a valid one of this kind."""
        if not isinstance(data, str) or len(data.encode()) > DATA_MAX_BYTES:
            return None
        if data != cls.prefix and not data.startswith(cls.prefix + SEPARATOR):
            return None
        parts = data[len(cls.prefix) + 1 :].split(SEPARATOR) if data != cls.prefix else []
        fields = cls._fields()
        if fields and fields[-1].optional and len(parts) == len(fields) - 1:
            parts.append("")  # the optional last field was left out
        if len(parts) != len(fields):
            return None
        values: dict[str, object] = {}
        for field, text in zip(fields, parts, strict=True):
            if field.optional and text == "" and field is fields[-1]:
                if data.endswith(SEPARATOR):
                    return None  # "faqh:" is not the canonical "faqh"
                values[field.name] = None
                continue
            try:
                values[field.name] = field.decode(text)
            except ValueError:
                return None
        return cls(**values)

    @classmethod
    def of(cls, update: Update) -> Self:
        """The tapped button of an update a `ButtonHandler` for this kind took."""
        query = update.callback_query
        button = cls.parse(query.data if query is not None else None)
        if button is None:
            raise ValueError(f"expected {cls.__name__} callback data")
        return button


class ButtonHandler(CallbackQueryHandler):
    """A CallbackQueryHandler that takes only data parsing as `kind` (PTB's own would also take a query
    without data, and a regex is one more copy of the format)."""

    def __init__(self, callback: Any, kind: type[CallbackData]) -> None:
        super().__init__(callback)
        self.kind = kind

    def check_update(self, update: object) -> bool | None:
        if not isinstance(update, Update) or update.callback_query is None:
            return None
        return self.kind.parse(update.callback_query.data) is not None
