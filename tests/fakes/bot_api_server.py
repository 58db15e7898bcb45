"""FakeBotApi behind a real loopback HTTP server, for end-to-end runs of `python -m bot run`."""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from tests.fakes.bot_api import FakeBotApi


async def _read_params(request: web.Request) -> dict[str, Any]:
    if request.content_type == "application/json":
        return await request.json()
    params: dict[str, Any] = {}
    if request.content_type.startswith("multipart/"):
        reader = await request.multipart()
        async for part in reader:
            data = await part.read()
            if part.filename:
                params.setdefault("_files", {})[part.name] = (part.filename, data)
            else:
                params[part.name] = data.decode()
    else:
        params.update(await request.post())
    for key, value in list(params.items()):
        if isinstance(value, str):
            try:
                params[key] = json.loads(value)
            except json.JSONDecodeError:
                pass
    return params


class FakeBotApiServer:
    """Serves `/bot<token>/<method>` on 127.0.0.1 with an ephemeral port."""

    def __init__(self, api: FakeBotApi) -> None:
        self.api = api
        self.tokens_seen: set[str] = set()
        app = web.Application()
        app.router.add_route("*", "/bot{token}/{method}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        self.url = ""

    async def _handle(self, request: web.Request) -> web.Response:
        self.tokens_seen.add(request.match_info["token"])
        params = await _read_params(request)
        status, body = await self.api.handle(request.match_info["method"], params)
        return web.json_response(body, status=status)

    async def __aenter__(self) -> FakeBotApiServer:
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self._runner.cleanup()
