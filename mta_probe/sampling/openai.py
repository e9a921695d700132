"""Sampling from any OpenAI-compatible server (vLLM serve, SGLang, llama.cpp server, TGI).

Built on the `openai` client library (`pip install 'mta[openai]'`): one client per sampler, so
connections are pooled and reused; its own retries (connection errors, 408, 409, 429, 5xx, with
exponential back-off that honours the server's retry-after) and timeouts. One request per
prompt: `/v1/completions` with the raw prompt, or `/v1/chat/completions` with the prompt as one
user turn when `chat`; `n` asks for all samples of a prompt at once.

Every sampling field is sent (`protocol.engine_fields`): OpenAI's own fields as arguments, the
others (top_k, min_p, repetition_penalty, ...) in `extra_body`, where vLLM and SGLang read them.
Left out, `vllm serve` would fill them from the model's generation_config.json. A server that
ignores `seed` does not repeat its output, and mta cannot tell; vLLM's server repeats only in
batch-invariant mode (`VLLM_BATCH_INVARIANT=1`).

Token counts come from the returned token ids (vLLM's `return_token_ids`), else from the
per-token logprobs the request asks for, else `usage.completion_tokens / n` (exact only for
n == 1). Finish reasons pass through; "abort" and "error" samples are drawn again as one-sample
requests seeded seed + i (vLLM seeds child i so), anything but stop/length is never scored.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor, as_completed
from typing import Any

from mta_probe.errors import BackendError, BadInputError
from mta_probe.sampling.base import Completion, Sampler, SamplingSettings, continued_seeds, prompt_seeds
from mta_probe.sampling.models import ModelRef
from mta_probe.sampling.protocol import (
    NON_OPENAI_FIELDS,
    engine_fields,
    finish_reason,
    retry_failed,
)

def import_openai():
    """Import the openai client library, or raise BackendError naming the extra."""
    try:
        import openai
    except ImportError as error:
        raise BackendError(f"the openai backend needs the openai client: pip install 'mta[openai]' ({error})") from error
    return openai


class OpenAISampler(Sampler):
    """Client of an OpenAI-compatible HTTP server.

    Args:
        model: the resolved model; its `path` is the model name sent to the server unless
            `served_name` is given.
        chat: use `/chat/completions`; None takes `model.chat`.
        base_url: the server's API root, e.g. "http://localhost:8000/v1".
        served_name: the name the server knows the model by.
        api_key: bearer token; None reads OPENAI_API_KEY ("EMPTY" when unset: vLLM needs none).
        timeout: seconds per HTTP request.
        retries: the client's extra attempts after a connection error or a 408/409/429/5xx.
        concurrency: requests in flight at once (the server batches them).
    """

    name = "openai"
    prompts_per_call = 64  # the server batches concurrent requests

    def __init__(self, model: ModelRef, chat: bool | None = None, *,
                 base_url: str = "http://localhost:8000/v1", served_name: str | None = None,
                 api_key: str | None = None, timeout: float = 600.0, retries: int = 3,
                 concurrency: int = 8) -> None:
        if concurrency < 1 or retries < 0 or not timeout > 0:
            raise BadInputError("concurrency must be >= 1, retries >= 0 and timeout > 0")
        openai = import_openai()
        self.chat = model.chat if chat is None else chat
        self.base_url = base_url.rstrip("/")
        self.served_name = served_name or model.path
        self.concurrency = concurrency
        self.openai, self.attempts = openai, retries + 1
        self.client = openai.OpenAI(base_url=self.base_url, timeout=timeout, max_retries=retries,
                                    api_key=api_key or os.environ.get("OPENAI_API_KEY") or "EMPTY")

    # A server seeds child i of a request seeded s from s + i (vLLM's does; one that ignores seeds
    # repeats nothing anyway), so samples j.. of a problem are a request seeded s + j.
    continues = True

    def sample(self, prompts: list[str], n: int | list[int], settings: SamplingSettings,
               seed: int | list[int], start: list[int] | None = None) -> list[list[Completion]]:
        """Return n completions for each prompt (prompt i is seeded with seed[i], or with
        seed + i * SEED_STRIDE for an int); n may be one count per prompt, and `start` the index
        of each prompt's first sample (its request is then seeded seed[i] + start[i]).

        Raises:
            BadInputError: greedy decoding with n > 1.
            BackendError: the server is unreachable after the client's retries, or refuses.
        """
        counts = _counts(n, len(prompts), settings)
        seeds = continued_seeds(prompt_seeds(seed, len(prompts)), start)
        results = self._requests([(p, count, s) for p, count, s in zip(prompts, counts, seeds)], settings)

        def redraw(failed: list[tuple[int, int]]) -> list[Completion]:
            return [c[0] for c in self._requests([(prompts[p], 1, seeds[p] + i) for p, i in failed], settings)]

        return retry_failed(results, redraw)

    def stream(self, prompts: list[str], n: int | list[int], settings: SamplingSettings,
               seeds: list[int], start: list[int] | None = None) -> Iterator[tuple[int, list[Completion]]]:
        """(prompt index, its n completions) as each prompt's request finishes, so that a server
        that goes away mid-call costs only the prompts still in flight: the others are already
        verified and on disk. Same requests, seeds and redraws as `sample`.

        Raises:
            BadInputError, BackendError: as `sample`, at the first prompt that fails.
        """
        counts = _counts(n, len(prompts), settings)
        seeds = continued_seeds(seeds, start)
        with ThreadPoolExecutor(max_workers=self.concurrency) as pool:
            futures = {pool.submit(self._drawn, prompt, count, seed, settings): i
                       for i, (prompt, count, seed) in enumerate(zip(prompts, counts, seeds))}
            try:
                for future in as_completed(futures):
                    yield futures[future], future.result()
            finally:
                for future in futures:
                    future.cancel()

    def _drawn(self, prompt: str, n: int, seed: int, settings: SamplingSettings) -> list[Completion]:
        """One prompt's n completions, its aborted or errored samples drawn again (seed + i)."""
        def redraw(failed: list[tuple[int, int]]) -> list[Completion]:
            return [self._one(prompt, 1, seed + i, settings)[0] for _, i in failed]

        return retry_failed([self._one(prompt, n, seed, settings)], redraw)[0]

    def close(self) -> None:
        """Close the client's connection pool."""
        self.client.close()

    def request(self, prompt: str, n: int, settings: SamplingSettings, seed: int) -> dict[str, Any]:
        """The keyword arguments of one client call (public so tests and users see what is sent)."""
        fields = engine_fields(settings, n, seed)
        extra = {name: fields.pop(name) for name in NON_OPENAI_FIELDS}
        extra["return_token_ids"] = True  # vLLM's extension; other servers ignore it
        kwargs: dict[str, Any] = {"model": self.served_name, **fields, "extra_body": extra}
        if self.chat:
            kwargs["messages"] = [{"role": "user", "content": prompt}]
            kwargs["logprobs"] = True
            # OpenAI renamed max_tokens for chat; vLLM reads either, older servers the first.
            kwargs["max_completion_tokens"] = fields["max_tokens"]
        else:
            kwargs["prompt"] = prompt
            kwargs["logprobs"] = 0
        return kwargs

    def _requests(self, jobs: list[tuple[str, int, int]], settings: SamplingSettings) -> list[list[Completion]]:
        with ThreadPoolExecutor(max_workers=self.concurrency) as pool:
            return list(pool.map(lambda job: self._one(*job, settings), jobs))

    def _one(self, prompt: str, n: int, seed: int, settings: SamplingSettings) -> list[Completion]:
        create = self.client.chat.completions.create if self.chat else self.client.completions.create
        route = f"{self.base_url}/{'chat/' if self.chat else ''}completions"
        try:
            reply = create(**self.request(prompt, n, settings, seed))
        except self.openai.APIConnectionError as error:  # timeouts included
            raise BackendError(f"cannot reach {route} after {self.attempts} attempts: {error}") from error
        except self.openai.APIStatusError as error:
            detail = str(error).splitlines()[0][:300]
            raise BackendError(f"{route} refused the request: HTTP {error.status_code}: {detail}") from error
        except self.openai.APIError as error:  # an answer the client cannot read
            raise BackendError(f"{route}: {type(error).__name__}: {str(error).splitlines()[0][:300]}") from error
        except ValueError as error:  # the client parses a 200 body as JSON and lets that error out
            raise BackendError(f"{route} answered with a body that is not JSON ({error})") from error
        choices = sorted(reply.choices, key=lambda c: c.index)
        if len(choices) != n:
            raise BackendError(f"{route} returned {len(choices)} choices, asked {n}")
        usage = reply.usage.completion_tokens if reply.usage else 0
        return [self._completion(choice, usage // n) for choice in choices]

    def _completion(self, choice: Any, tokens_if_unknown: int) -> Completion:
        if self.chat:
            text = (choice.message.content if choice.message else None) or ""
            per_token = choice.logprobs.content if choice.logprobs else None
        else:
            text = choice.text or ""
            per_token = choice.logprobs.tokens if choice.logprobs else None
        token_ids = tuple(getattr(choice, "token_ids", None) or ())
        tokens = len(token_ids) or (len(per_token) if per_token is not None else tokens_if_unknown)
        return Completion(text=text, tokens=tokens, finish_reason=finish_reason(choice.finish_reason),
                          token_ids=token_ids)


def _counts(n: int | list[int], prompts: int, settings: SamplingSettings) -> list[int]:
    """One count per prompt, each checked (n >= 1; greedy allows 1) before any request."""
    counts = [n] * prompts if isinstance(n, int) else list(n)
    if any(count < 1 for count in counts):
        raise BadInputError(f"n must be >= 1, got {min(counts)}")
    engine_fields(settings, max(counts, default=1), None)  # refuse greedy with n > 1
    return counts
