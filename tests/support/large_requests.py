"""The scripted OpenAI-compatible server without aiohttp's 1 MB limit on request bodies.

Inference servers take whatever history a client sends; a test in which a model writes megabytes into a
tool call needs the next request, which carries that call back, to reach the model too.
"""

from __future__ import annotations

from aiohttp import web

from tests.support.openai_server import ScriptedOpenAIServer

MAX_REQUEST_BYTES = 64 * 2**20


class LargeRequestServer(ScriptedOpenAIServer):
    def app(self) -> web.Application:
        app = web.Application(middlewares=[self._auth], client_max_size=MAX_REQUEST_BYTES)
        app.router.add_post("/v1/chat/completions", self._chat)
        app.router.add_get("/v1/models", self._models)
        return app
