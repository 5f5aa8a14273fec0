"""A ceiling on request bodies, so one request cannot exhaust the server's memory.

Gradio limits uploaded files (``max_file_size``) but reads any other request
body whole: a JSON call to ``/answer`` with a gigabyte of history would be
held in memory before the question-length check could refuse it.  This ASGI
middleware refuses such a body with 413 once it passes ``limit`` bytes,
whether the client announced its length or streams it in chunks.  File
uploads keep Gradio's own, larger limit.
"""

from __future__ import annotations

import json

#: Far above any real call: a question is at most a few thousand characters,
#: and a history of a hundred of them fits many times over.
MAX_REQUEST_BYTES = 1024 * 1024

UPLOAD_PATH_SUFFIX = "/upload"


class BodyLimit:
    def __init__(self, app, limit: int = MAX_REQUEST_BYTES):
        self.app = app
        self.limit = limit

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope["path"].rstrip("/").endswith(UPLOAD_PATH_SUFFIX):
            return await self.app(scope, receive, send)
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.limit:
            return await self._refuse(send)
        messages, size = [], 0
        while True:
            message = await receive()
            messages.append(message)
            if message["type"] != "http.request":
                break
            size += len(message.get("body", b""))
            if size > self.limit:
                return await self._refuse(send)
            if not message.get("more_body"):
                break

        async def replay():
            return messages.pop(0) if messages else await receive()

        return await self.app(scope, replay, send)

    async def _refuse(self, send):
        body = json.dumps({"error": f"request body over the {self.limit}-byte limit"}).encode()
        await send({"type": "http.response.start", "status": 413,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})
