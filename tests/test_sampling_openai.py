"""The OpenAI backend (openai client) against a local HTTP server that answers like `vllm serve`
and records every request body."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from openaiserver import VLLMServe, serve

from mta_probe.errors import BackendError, BadInputError
from mta_probe.sampling import Completion, ModelRef, SamplingSettings, open_sampler
from mta_probe.sampling.base import SEED_STRIDE

pytest.importorskip("openai")


@pytest.fixture
def server_url() -> Iterator[str]:
    with serve() as url:
        yield url


# Every field a server would otherwise fill from its own defaults or generation_config.json.
EXPECTED = {"n": 3, "temperature": 0.6, "top_p": 0.95, "top_k": -1, "min_p": 0.0, "repetition_penalty": 1.0,
            "presence_penalty": 0.0, "frequency_penalty": 0.0, "max_tokens": 7, "min_tokens": 0,
            "stop": [], "stop_token_ids": [], "ignore_eos": False, "skip_special_tokens": True,
            "include_stop_str_in_output": False}


@pytest.mark.parametrize("chat", [False, True])
def test_every_sampling_parameter_is_sent_with_mtas_value(server_url: str, chat: bool) -> None:
    sampler = open_sampler("openai", ModelRef("m", "org/m", None, chat, 64), base_url=server_url)
    settings = SamplingSettings(temperature=0.6, top_p=0.95, max_tokens=7)
    out = sampler.sample(["p0", "p1"], 3, settings, seed=20)
    sampler.close()
    prefix = "c" if chat else "t"
    assert out[0] == [Completion(f"{prefix}20", 1, "stop", (0,)), Completion(f"{prefix}21", 2, "length", (0, 1)),
                      Completion(f"{prefix}22", 3, "stop", (0, 1, 2))]
    assert {path for path, _ in VLLMServe.bodies} == {"/v1/chat/completions" if chat else "/v1/completions"}
    body = next(b for _, b in VLLMServe.bodies if b["seed"] == 20 + SEED_STRIDE)
    assert {key: body.get(key, "MISSING") for key in EXPECTED} == EXPECTED
    assert (body["model"], body["return_token_ids"]) == ("org/m", True)
    if chat:
        assert (body["messages"], body["logprobs"], body["max_completion_tokens"]) == (
            [{"role": "user", "content": "p1"}], True, 7)
    else:
        assert (body["prompt"], body["logprobs"]) == ("p1", 0)


def test_stop_strings_are_sent(server_url: str) -> None:
    sampler = open_sampler("openai", ModelRef("m", "m", None, False, 8), base_url=server_url)
    sampler.sample(["p"], 1, SamplingSettings(max_tokens=4, stop=("\nProblem:", "\nQ:")), seed=0)
    sampler.close()
    assert VLLMServe.bodies[0][1]["stop"] == ["\nProblem:", "\nQ:"]


def test_greedy_sends_temperature_zero_and_refuses_n_above_one(server_url: str) -> None:
    sampler = open_sampler("openai", ModelRef("m", "m", None, False, 8), base_url=server_url)
    with pytest.raises(BadInputError, match="not n=4"):
        sampler.sample(["p"], 4, SamplingSettings(greedy=True, max_tokens=8), seed=0)
    assert VLLMServe.bodies == []
    sampler.sample(["p"], 1, SamplingSettings(temperature=0.8, top_p=0.5, greedy=True, max_tokens=8), seed=0)
    body = VLLMServe.bodies[0][1]
    assert (body["n"], body["temperature"], body["top_p"]) == (1, 0.0, 1.0)


def test_aborted_choices_are_drawn_again_one_by_one_from_seed_plus_index(server_url: str) -> None:
    VLLMServe.planned = {42: ["abort"], 43: ["repetition"], 44: ["error", "error", "error"]}
    sampler = open_sampler("openai", ModelRef("m", "m", None, False, 8), base_url=server_url)
    out = sampler.sample(["p"], 4, SamplingSettings(max_tokens=5), seed=[41])[0]
    assert [(c.text, c.finish_reason) for c in out] == [("t41", "stop"), ("t42", "length"), ("t43", "repetition"),
                                                        ("t44", "error")]
    assert [c.scored for c in out] == [True, True, False, False]
    redraws = [(b["n"], b["seed"]) for _, b in VLLMServe.bodies[1:]]
    assert sorted(redraws) == [(1, 42), (1, 44), (1, 44)]  # abort and error are retried, repetition is not


def test_a_request_may_start_at_sample_j_in_sample_and_in_stream(server_url: str) -> None:
    sampler = open_sampler("openai", ModelRef("m", "m", None, False, 8), base_url=server_url)
    settings = SamplingSettings(max_tokens=5)
    whole = sampler.sample(["p", "q"], 6, settings, seed=[100, 900])
    assert sampler.sample(["p", "q"], [2, 3], settings, seed=[100, 900], start=[4, 1]) == [whole[0][4:6], whole[1][1:4]]
    streamed = dict(sampler.stream(["p", "q"], [2, 3], settings, [100, 900], start=[4, 1]))
    assert streamed == {0: whole[0][4:6], 1: whole[1][1:4]}
    assert sorted((b["n"], b["seed"]) for _, b in VLLMServe.bodies[2:]) == [(2, 104), (2, 104), (3, 901), (3, 901)]
    sampler.close()


def test_the_client_retries_server_errors_then_succeeds(server_url: str) -> None:
    VLLMServe.failures = 2
    sampler = open_sampler("openai", ModelRef("m", "m", None, False, 8), base_url=server_url, retries=2)
    assert len(sampler.sample(["p"], 2, SamplingSettings(max_tokens=8), seed=0)[0]) == 2
    assert len(VLLMServe.bodies) == 3


def test_retries_exhausted_is_one_backend_error(server_url: str) -> None:
    VLLMServe.failures = 5
    sampler = open_sampler("openai", ModelRef("m", "m", None, False, 8), base_url=server_url, retries=1)
    with pytest.raises(BackendError, match=r"/v1/completions refused the request: HTTP 503"):
        sampler.sample(["p"], 1, SamplingSettings(max_tokens=8), seed=0)
    assert len(VLLMServe.bodies) == 2


def test_unreachable_server_is_a_backend_error() -> None:
    sampler = open_sampler("openai", ModelRef("m", "m", None, False, 8), base_url="http://127.0.0.1:9/v1",
                           retries=0, timeout=2)
    with pytest.raises(BackendError, match=r"cannot reach http://127.0.0.1:9/v1/completions after 1 attempts"):
        sampler.sample(["p"], 1, SamplingSettings(max_tokens=8), seed=0)
