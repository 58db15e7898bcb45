"""A fake Telegram Bot API: the only thing faked in the test suite.

`FakeBotApi` answers Bot API methods the way Telegram does and records every call. It is reachable two ways:
`FakeRequest`, an in-process `telegram.request.BaseRequest` for unit tests, and `FakeBotApiServer`, a loopback
HTTP server that a real `python -m bot run` process talks to through TELEGRAM_API_URL.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from telegram.request import BaseRequest, RequestData

BOT_ID = 7000000001
BOT_USERNAME = "test_shop_bot"


@dataclass
class ApiCall:
    method: str
    params: dict[str, Any]

    @property
    def chat_id(self) -> int | None:
        value = self.params.get("chat_id")
        return int(value) if value is not None else None

    @property
    def text(self) -> str | None:
        return self.params.get("text") or self.params.get("caption")


@dataclass
class ApiError:
    """A canned failure: Telegram's error JSON with the matching HTTP status."""

    code: int
    description: str
    retry_after: int | None = None

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"ok": False, "error_code": self.code, "description": self.description}
        if self.retry_after is not None:
            body["parameters"] = {"retry_after": self.retry_after}
        return body


def too_many_requests(retry_after: int = 1) -> ApiError:
    return ApiError(429, f"Too Many Requests: retry after {retry_after}", retry_after)


def blocked_by_user() -> ApiError:
    return ApiError(403, "Forbidden: bot was blocked by the user")


@dataclass
class FakeBotApi:
    """Telegram's side of the conversation: answers methods, records calls, queues updates."""

    calls: list[ApiCall] = field(default_factory=list)
    # method -> errors to return, oldest first; (method, chat_id) keys fail for one chat only.
    failures: dict[Any, deque[ApiError]] = field(default_factory=dict)
    _message_ids: itertools.count = field(default_factory=lambda: itertools.count(1000))
    _update_ids: itertools.count = field(default_factory=lambda: itertools.count(1))
    _updates: list[dict[str, Any]] = field(default_factory=list)
    _new_update: asyncio.Event | None = None
    _call_waiters: set[asyncio.Event] = field(default_factory=set)

    # --- test side -------------------------------------------------------------------------------------
    def fail(self, method: str, error: ApiError, *, chat_id: int | None = None, times: int = 1) -> None:
        key = (method, chat_id) if chat_id is not None else method
        self.failures.setdefault(key, deque()).extend([error] * times)

    def push_update(self, update: dict[str, Any]) -> None:
        """Queue an update for getUpdates (end-to-end runs)."""
        update = dict(update)
        update["update_id"] = next(self._update_ids)
        self._updates.append(update)
        if self._new_update is not None:
            self._new_update.set()

    def sent(self, method: str = "sendMessage", *, chat_id: int | None = None) -> list[ApiCall]:
        return [
            call
            for call in self.calls
            if call.method == method and (chat_id is None or call.chat_id == chat_id)
        ]

    def last_text(self, chat_id: int) -> str:
        messages = [c for c in self.calls if c.chat_id == chat_id and c.text is not None]
        assert messages, f"nothing was sent to chat {chat_id}"
        return messages[-1].text or ""

    async def wait_for(self, predicate, timeout: float = 10.0) -> ApiCall:
        """Wait until a call matching `predicate` has been made (end-to-end runs)."""
        found: list[ApiCall] = []
        seen = 0

        def matched() -> bool:
            nonlocal seen
            found.extend(call for call in self.calls[seen:] if predicate(call))
            seen = len(self.calls)
            return bool(found)

        await self.until(matched, timeout, what="no matching Bot API call")
        return found[0]

    async def until(self, condition, timeout: float = 10.0, *, what: str = "condition not met") -> None:
        """Wait until `condition()` holds, checking it again on every new call: no polling interval."""
        deadline = time.monotonic() + timeout
        while not condition():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"{what} within {timeout}s; calls: {self.calls!r}")
            new_call = asyncio.Event()
            self._call_waiters.add(new_call)
            try:
                await asyncio.wait_for(new_call.wait(), remaining)
            except TimeoutError:
                pass
            finally:
                self._call_waiters.discard(new_call)

    def _tell_waiters(self) -> None:
        for waiter in self._call_waiters:
            waiter.set()

    # --- Telegram side ---------------------------------------------------------------------------------
    async def handle(self, method: str, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        """Answer one Bot API call: (HTTP status, JSON body)."""
        if method != "getUpdates":
            self.calls.append(ApiCall(method, params))
            self._tell_waiters()
        error = self._next_failure(method, params.get("chat_id"))
        if error is not None:
            return error.code, error.body()
        if method == "getUpdates":
            return 200, {"ok": True, "result": await self._get_updates(params)}
        return 200, {"ok": True, "result": self._result(method, params)}

    def _next_failure(self, method: str, chat_id: Any) -> ApiError | None:
        for key in ((method, int(chat_id)) if chat_id is not None else None, method):
            queue = self.failures.get(key) if key is not None else None
            if queue:
                return queue.popleft()
        return None

    async def _get_updates(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        offset = int(params.get("offset") or 0)
        self._updates = [u for u in self._updates if u["update_id"] >= offset]
        if not self._updates:
            self._new_update = asyncio.Event()
            try:
                await asyncio.wait_for(self._new_update.wait(), min(float(params.get("timeout") or 0), 1.0))
            except TimeoutError:
                pass
        return list(self._updates)

    def _bot_user(self) -> dict[str, Any]:
        return {
            "id": BOT_ID,
            "is_bot": True,
            "first_name": "Test Shop",
            "username": BOT_USERNAME,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
        }

    def _message(self, params: dict[str, Any], **extra: Any) -> dict[str, Any]:
        chat_id = int(params["chat_id"])
        message = {
            "message_id": next(self._message_ids),
            "date": int(time.time()),
            "chat": {"id": chat_id, "type": "private" if chat_id > 0 else "group", "title": "chat"},
            "from": self._bot_user(),
        }
        # Telegram echoes only inline keyboards; reply keyboards (contact buttons) are not in the message.
        if isinstance(params.get("reply_markup"), dict) and "inline_keyboard" in params["reply_markup"]:
            message["reply_markup"] = params["reply_markup"]
        message.update(extra)
        return message

    def _result(self, method: str, params: dict[str, Any]) -> Any:
        if method == "getMe":
            return self._bot_user()
        if method in ("sendMessage", "editMessageText"):
            if method == "editMessageText" and "inline_message_id" in params:
                return True
            result = self._message(params, text=params.get("text", ""))
            if method == "editMessageText":
                result["message_id"] = int(params["message_id"])
                result["edit_date"] = int(time.time())
            return result
        if method == "sendPhoto":
            photo = {"file_id": "photo-file", "file_unique_id": "photo", "width": 512, "height": 512}
            return self._message(params, photo=[photo], caption=params.get("caption"))
        if method == "sendDocument":
            document = {"file_id": "doc-file", "file_unique_id": "doc", "file_name": "file"}
            return self._message(params, document=document, caption=params.get("caption"))
        if method == "copyMessage":
            return {"message_id": next(self._message_ids)}
        if method == "getMyCommands":
            return []
        if method == "getWebhookInfo":
            return {"url": "", "has_custom_certificate": False, "pending_update_count": 0}
        return True


def decode_params(request_data: RequestData | None) -> dict[str, Any]:
    """The call's parameters as Python values (JSON-encoded ones decoded)."""
    if request_data is None:
        return {}
    params: dict[str, Any] = {}
    for key, value in request_data.json_parameters.items():
        try:
            params[key] = json.loads(value)
        except (TypeError, json.JSONDecodeError):
            params[key] = value
    if request_data.multipart_data:
        params["_files"] = {
            name: (upload[0], upload[1]) if isinstance(upload, tuple) else upload
            for name, upload in request_data.multipart_data.items()
        }
    return params


class FakeRequest(BaseRequest):
    """In-process transport: python-telegram-bot calls the fake without any network."""

    def __init__(self, api: FakeBotApi) -> None:
        self.api = api

    @property
    def read_timeout(self) -> float | None:
        return 5.0

    async def initialize(self) -> None:
        return None

    async def shutdown(self) -> None:
        return None

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: Any = BaseRequest.DEFAULT_NONE,
        write_timeout: Any = BaseRequest.DEFAULT_NONE,
        connect_timeout: Any = BaseRequest.DEFAULT_NONE,
        pool_timeout: Any = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        api_method = url.rsplit("/", 1)[-1]
        status, body = await self.api.handle(api_method, decode_params(request_data))
        return status, json.dumps(body).encode()
