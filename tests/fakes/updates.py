"""Builders of Telegram update JSON, as Telegram would send it for a user's action."""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass
from typing import Any

from tests.fakes.bot_api import BOT_ID, BOT_USERNAME

_message_ids = itertools.count(1)
_callback_ids = itertools.count(1)


@dataclass(frozen=True)
class TgUser:
    id: int
    first_name: str = "Sam"
    language_code: str | None = "en"
    last_name: str | None = None
    username: str | None = None

    def as_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"id": self.id, "is_bot": False, "first_name": self.first_name}
        for key in ("language_code", "last_name", "username"):
            if getattr(self, key) is not None:
                data[key] = getattr(self, key)
        return data


def private_chat(user: TgUser) -> dict[str, Any]:
    return {"id": user.id, "type": "private", "first_name": user.first_name}


def message(user: TgUser, text: str | None = None, *, chat: dict | None = None, **extra: Any) -> dict:
    """A message update; text starting with '/' carries a bot_command entity like Telegram's."""
    msg: dict[str, Any] = {
        "message_id": next(_message_ids),
        "date": int(time.time()),
        "chat": chat or private_chat(user),
        "from": user.as_json(),
    }
    if text is not None:
        msg["text"] = text
        if text.startswith("/"):
            length = len(text.split()[0])
            msg["entities"] = [{"type": "bot_command", "offset": 0, "length": length}]
    msg.update(extra)
    return {"message": msg}


def command(user: TgUser, text: str, **extra: Any) -> dict:
    assert text.startswith("/")
    return message(user, text, **extra)


def sticker(user: TgUser) -> dict:
    return message(
        user,
        sticker={
            "file_id": "sticker",
            "file_unique_id": "sticker-u",
            "type": "regular",
            "width": 512,
            "height": 512,
            "is_animated": False,
            "is_video": False,
        },
    )


def photo(user: TgUser) -> dict:
    return message(user, photo=[{"file_id": "p", "file_unique_id": "pu", "width": 90, "height": 90}])


def contact(user: TgUser, phone: str) -> dict:
    return message(user, contact={"phone_number": phone, "first_name": user.first_name, "user_id": user.id})


def callback(user: TgUser, data: str, *, message_id: int = 1, text: str = "…") -> dict:
    """A tap on an inline button of a message the bot sent to this user."""
    return {
        "callback_query": {
            "id": str(next(_callback_ids)),
            "from": user.as_json(),
            "chat_instance": str(user.id),
            "data": data,
            "message": {
                "message_id": message_id,
                "date": int(time.time()),
                "chat": private_chat(user),
                "from": {"id": BOT_ID, "is_bot": True, "first_name": "Shop", "username": BOT_USERNAME},
                "text": text,
            },
        }
    }


def my_chat_member(user: TgUser, *, old: str, new: str) -> dict:
    """The user blocked (new='kicked') or unblocked (new='member') the bot."""
    bot = {"id": BOT_ID, "is_bot": True, "first_name": "Shop", "username": BOT_USERNAME}

    def member(status: str) -> dict:
        return {"user": bot, "status": status, **({"until_date": 0} if status == "kicked" else {})}

    return {
        "my_chat_member": {
            "chat": private_chat(user),
            "from": user.as_json(),
            "date": int(time.time()),
            "old_chat_member": member(old),
            "new_chat_member": member(new),
        }
    }
