"""A local server that answers like `vllm serve`'s OpenAI API, records every request body, and
fails on cue: 503s first (`failures`), planned finish reasons (`planned`), a body that is not
JSON (`garbled`); a test stops it to make it go away mid-run."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class VLLMServe(BaseHTTPRequestHandler):
    """Answers like vLLM's OpenAI server; `failures` 503s first, `planned` maps a seed to the
    finish reasons of its successive requests (vLLM passes abort and repetition through)."""

    bodies: list[tuple[str, dict]] = []
    failures = 0
    planned: dict[int, list[str]] = {}
    garbled = False  # answer 200 with a body that is not JSON
    window: int | None = None  # the context window, when a test sets one
    delay = 0.0  # seconds before each answer, one answer at a time: a run slow enough to stop under it
    serial = threading.Lock()
    gone = False  # set when the server stops: requests still waiting get their connection cut
    lock = threading.Lock()

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        if VLLMServe.delay:
            with VLLMServe.serial:
                time.sleep(VLLMServe.delay)
        if VLLMServe.gone:
            self.connection.shutdown(socket.SHUT_RDWR)
            self.close_connection = True
            return
        with VLLMServe.lock:
            VLLMServe.bodies.append((self.path, body))
            fail = VLLMServe.failures > 0
            VLLMServe.failures -= fail
        if fail:
            return self._send(503, {"error": {"message": "busy"}}, {"retry-after-ms": "5"})
        if VLLMServe.garbled:
            return self._send_raw(200, b'{"id": "x", "choices": [{"index": 0, "te')
        chat = self.path.endswith("/chat/completions")
        choices = []
        for i in reversed(range(body["n"])):  # out of order: the client must sort by index
            child = body["seed"] + i  # vLLM draws child i from seed + i
            with VLLMServe.lock:
                planned = VLLMServe.planned.get(child, [])
                reason = planned.pop(0) if planned else ("length" if child % 3 == 0 else "stop")
            # "length" means the cap was reached: max_tokens, or the room the window leaves (vLLM
            # 0.32's server lowers max_tokens to it; the prompt counts 1 token here)
            tokens = body["max_tokens"] if reason == "length" else child % 4 + 1
            if VLLMServe.window is not None and 1 + tokens > VLLMServe.window:
                tokens, reason = VLLMServe.window - 1, "length"
            choice = {"index": i, "finish_reason": reason, "token_ids": list(range(tokens))}
            if chat:
                choice |= {"message": {"role": "assistant", "content": f"c{child}"},
                           "logprobs": {"content": [{"token": "x", "logprob": 0.0, "top_logprobs": []}] * tokens}}
            else:
                choice |= {"text": f"t{child}", "logprobs": {"tokens": ["x"] * tokens, "token_logprobs": [0.0] * tokens,
                                                             "text_offset": [0] * tokens, "top_logprobs": None}}
            choices.append(choice)
        obj = "chat.completion" if chat else "text_completion"
        return self._send(200, {"id": "x", "object": obj, "created": 0, "model": body["model"], "choices": choices,
                                "usage": {"prompt_tokens": 1, "completion_tokens": 99, "total_tokens": 100}})

    def _send(self, status: int, payload: dict, headers: dict | None = None) -> None:
        self._send_raw(status, json.dumps(payload).encode(), headers)

    def _send_raw(self, status: int, data: bytes, headers: dict | None = None) -> None:
        self.send_response(status)
        for key, value in {"Content-Type": "application/json", "Content-Length": str(len(data)),
                           **(headers or {})}.items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args) -> None:
        pass


@contextmanager
def serve(port: int = 0) -> Iterator[str]:
    """Serve on `port` (0: a free one) with fresh state; yields the base URL (`.../v1`)."""
    VLLMServe.bodies, VLLMServe.failures, VLLMServe.planned = [], 0, {}
    VLLMServe.garbled, VLLMServe.delay, VLLMServe.gone, VLLMServe.window = False, 0.0, False, None
    server = ThreadingHTTPServer(("127.0.0.1", port), VLLMServe)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    finally:
        VLLMServe.gone = True
        server.shutdown()
        server.server_close()
