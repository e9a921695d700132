"""A stand-in for the Hugging Face hub's HTTP API that fails on cue, for fault tests.

It answers the three calls `huggingface_hub.snapshot_download` makes (repo info, file tree, file
download) the way huggingface.co does for four kinds of model, named by the repository:

- `org/gated`: info and tree answer, every file answers 401 with `X-Error-Code: GatedRepo`;
- `org/missing`: info answers 401 with `X-Error-Code: RepoNotFound` (the hub's answer for a
  missing or private repository);
- any model asked at a revision other than `main`: 404 with `X-Error-Code: RevisionNotFound`;
- `org/down`: every call answers 503.

Point `HF_ENDPOINT` at `url` to use it.
"""

from __future__ import annotations

import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

SHA = "0" * 40
INFO = re.compile(r"^/api/models/(?P<repo>[^/]+/[^/]+)/revision/(?P<rev>[^/?]+)")
TREE = re.compile(r"^/api/models/(?P<repo>[^/]+/[^/]+)/tree/(?P<rev>[^/?]+)")
FILE = re.compile(r"^/(?P<repo>[^/]+/[^/]+)/resolve/(?P<rev>[^/]+)/(?P<file>.+)$")


class _Hub(BaseHTTPRequestHandler):
    def log_message(self, *args: object) -> None:  # keep test output clean
        pass

    def _answer(self, status: int, body: object = None, headers: dict[str, str] | None = None) -> None:
        data = json.dumps(body if body is not None else {"error": "stand-in hub"}).encode()
        self.send_response(status)
        for key, value in {"Content-Type": "application/json", **(headers or {})}.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        path = self.path.split("?")[0]
        match = INFO.match(path) or TREE.match(path) or FILE.match(path)
        if match is None:
            return self._answer(404)
        repo, rev = match["repo"], match["rev"]
        if repo.endswith("/down"):
            return self._answer(503)
        if repo.endswith("/missing"):
            return self._answer(401, headers={"X-Error-Code": "RepoNotFound",
                                              "X-Error-Message": "Repository not found"})
        if rev not in ("main", SHA):
            return self._answer(404, headers={"X-Error-Code": "RevisionNotFound",
                                              "X-Error-Message": "Invalid rev id"})
        if FILE.match(path):  # a gated model: metadata is public, files are not
            return self._answer(401, headers={"X-Error-Code": "GatedRepo",
                                              "X-Error-Message": "Access to model is restricted."})
        if TREE.match(path):
            return self._answer(200, [{"type": "file", "path": "config.json", "size": 2, "oid": "1" * 40}])
        return self._answer(200, {"id": repo, "sha": SHA, "siblings": [{"rfilename": "config.json"}]})

    do_HEAD = do_GET


class StandInHub:
    """Serves `_Hub` on a free local port in a background thread; use as a context manager."""

    def __enter__(self) -> StandInHub:
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _Hub)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
