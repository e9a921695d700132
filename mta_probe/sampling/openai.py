"""Sampling from any OpenAI-compatible server (vLLM serve, SGLang, llama.cpp server, TGI).

Uses only the standard library (`urllib`), so the `openai` package is not needed. One request
per prompt: `/v1/completions` with the raw prompt, or `/v1/chat/completions` with the prompt
as one user turn when `chat`; `n` asks the server for all samples of a prompt at once and
request i of a call carries `seed + i`. Servers that honour `seed` (vLLM does) repeat their
output; servers that ignore it do not, and mta cannot tell.

Token counts come from the per-token logprobs the request asks for (one entry per generated
token). A server that returns no logprobs gets its `usage.completion_tokens` split evenly
over the n choices: an approximation, exact only when n == 1.
"""

from __future__ import annotations

import json
import os
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor

from mta_probe.errors import BackendError, BadInputError
from mta_probe.sampling.base import Completion, SamplingSettings, prompt_seeds
from mta_probe.sampling.models import ModelRef

RETRYABLE_STATUS = {408, 429, 500, 502, 503, 504}


class OpenAISampler:
    """Client of an OpenAI-compatible HTTP server.

    Args:
        model: the resolved model; its `path` is the model name sent to the server unless
            `served_name` is given.
        chat: use `/chat/completions`; None takes `model.chat`.
        base_url: the server's API root, e.g. "http://localhost:8000/v1".
        served_name: the name the server knows the model by.
        api_key: bearer token; None reads OPENAI_API_KEY (and sends none when unset).
        timeout: seconds per HTTP request.
        retries: extra attempts after a connection error or a 408/429/5xx answer.
        backoff: seconds before the first retry, doubled after each.
        concurrency: requests in flight at once (the server batches them).
    """

    name = "openai"
    prompts_per_call = 64  # the server batches concurrent requests

    def __init__(
        self,
        model: ModelRef,
        chat: bool | None = None,
        *,
        base_url: str = "http://localhost:8000/v1",
        served_name: str | None = None,
        api_key: str | None = None,
        timeout: float = 600.0,
        retries: int = 3,
        backoff: float = 1.0,
        concurrency: int = 8,
    ) -> None:
        if concurrency < 1 or retries < 0:
            raise BadInputError("concurrency must be >= 1 and retries >= 0")
        self.chat = model.chat if chat is None else chat
        self.base_url = base_url.rstrip("/")
        self.served_name = served_name or model.path
        self.api_key = api_key if api_key is not None else os.environ.get("OPENAI_API_KEY")
        self.timeout, self.retries, self.backoff = timeout, retries, backoff
        self.concurrency = concurrency

    def sample(
        self, prompts: list[str], n: int, settings: SamplingSettings, seed: int | list[int]
    ) -> list[list[Completion]]:
        """Return n completions for each prompt (request i is seeded with seed + i, or seed[i]).

        Raises:
            BackendError: the server is unreachable after the retries, or refuses a request.
        """
        if n < 1:
            raise BadInputError(f"n must be >= 1, got {n}")
        jobs = list(zip(prompts, [n] * len(prompts), [settings] * len(prompts), prompt_seeds(seed, len(prompts))))
        with ThreadPoolExecutor(max_workers=self.concurrency) as pool:
            return list(pool.map(lambda job: self._one(*job), jobs))

    def close(self) -> None:
        """Nothing to free: each request opens and closes its own connection."""

    def request_body(self, prompt: str, n: int, settings: SamplingSettings, seed: int) -> dict:
        """The JSON body of one request (public so tests and users can see what is sent)."""
        greedy = settings.greedy or settings.temperature <= 0
        body: dict = {
            "model": self.served_name,
            "n": n,
            "seed": seed,
            "temperature": 0.0 if greedy else settings.temperature,
            "top_p": 1.0 if greedy else settings.top_p,
            "max_tokens": settings.max_tokens,
        }
        if settings.stop:  # OpenAI's own API takes at most four; BASE_MODEL_STOP has four
            body["stop"] = list(settings.stop)
        if self.chat:
            body["messages"] = [{"role": "user", "content": prompt}]
            body["logprobs"] = True
        else:
            body["prompt"] = prompt
            body["logprobs"] = 0
        return body

    def _one(self, prompt: str, n: int, settings: SamplingSettings, seed: int) -> list[Completion]:
        route = "/chat/completions" if self.chat else "/completions"
        reply = self._post(route, self.request_body(prompt, n, settings, seed))
        choices = sorted(reply.get("choices", []), key=lambda c: c.get("index", 0))
        if len(choices) != n:
            raise BackendError(f"{self.base_url}{route} returned {len(choices)} choices, asked {n}")
        usage = (reply.get("usage") or {}).get("completion_tokens", 0)
        return [self._completion(choice, usage // n) for choice in choices]

    def _completion(self, choice: dict, tokens_if_unknown: int) -> Completion:
        if self.chat:
            text = (choice.get("message") or {}).get("content") or ""
            logprobs = (choice.get("logprobs") or {}).get("content")
        else:
            text = choice.get("text") or ""
            logprobs = (choice.get("logprobs") or {}).get("tokens")
        tokens = len(logprobs) if logprobs is not None else tokens_if_unknown
        reason = "length" if choice.get("finish_reason") == "length" else "stop"
        return Completion(text=text, tokens=tokens, finish_reason=reason)

    def _post(self, route: str, body: dict) -> dict:
        url = f"{self.base_url}{route}"
        headers = {"Content-Type": "application/json"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        data = json.dumps(body).encode()
        delay, failure = self.backoff, ""
        for attempt in range(self.retries + 1):
            if attempt:
                time.sleep(delay)
                delay *= 2
            request = urllib.request.Request(url, data=data, headers=headers, method="POST")
            try:
                with urllib.request.urlopen(request, timeout=self.timeout) as response:
                    return json.loads(response.read())
            except urllib.error.HTTPError as error:
                detail = error.read().decode(errors="replace")[:500]
                failure = f"HTTP {error.code}: {detail}"
                if error.code not in RETRYABLE_STATUS:
                    raise BackendError(f"{url} refused the request: {failure}") from error
            except (urllib.error.URLError, ConnectionError, TimeoutError) as error:
                failure = str(getattr(error, "reason", error))
            except ValueError as error:
                raise BackendError(f"{url} answered with something other than JSON") from error
        raise BackendError(f"cannot reach {url} after {self.retries + 1} attempts: {failure}")
