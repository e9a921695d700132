"""The vLLM backend on the stand-in vLLM (tests/standins/vllm): every field sent, seeds, greedy,
finish reasons and retries, and the engine's child process (why a daemonic replica cannot work)."""

from __future__ import annotations

import multiprocessing

import pytest

from mta_probe.errors import BackendError, BadInputError
from mta_probe.sampling import SEED_SCHEME, ModelRef, SamplingSettings, beyond_context, open_sampler
from mta_probe.sampling.base import SEED_STRIDE
from mta_probe.sampling.protocol import engine_fields

CHAT = ModelRef("m", "org/m", None, True, 64)
RAW = ModelRef("m", "org/m", None, False, 64)


def test_every_sampling_field_is_explicit_and_each_prompt_has_its_seed(standin_vllm) -> None:
    sampler = open_sampler("vllm", CHAT, tensor_parallel_size=1, seed=5)
    llm = sampler.inner.engine.llm
    assert (llm.model, llm.options["seed"], llm.options["enable_prefix_caching"]) == ("org/m", 5, True)
    settings = SamplingSettings(temperature=0.7, top_p=0.9, max_tokens=9)
    out = sampler.sample(["ab", "c"], 3, settings, seed=[10 * SEED_STRIDE, 20 * SEED_STRIDE])
    requests, params = llm.calls[0]
    assert requests[1] == {"prompt_token_ids": [ord(ch) for ch in "<u>c</u><a>"]}  # no second BOS
    sent = [{name: getattr(p, name) for name in engine_fields(settings, 3, 0)} for p in params]
    assert sent[0] == {"n": 3, "temperature": 0.7, "top_p": 0.9, "top_k": -1, "min_p": 0.0,
                       "repetition_penalty": 1.0, "presence_penalty": 0.0, "frequency_penalty": 0.0,
                       "max_tokens": 9, "min_tokens": 0, "seed": 10 * SEED_STRIDE, "stop": [],
                       "stop_token_ids": [], "ignore_eos": False, "skip_special_tokens": True,
                       "include_stop_str_in_output": False}
    assert sent[1]["seed"] == 20 * SEED_STRIDE
    assert [len(c) for c in out] == [3, 3]
    for completion in out[0]:
        assert completion.tokens == len(completion.token_ids) <= 9
        assert completion.finish_reason in ("stop", "length") and completion.scored
        assert (completion.token_ids[-1] == 2) == (completion.finish_reason == "stop")  # EOS counted
    assert SEED_SCHEME  # recorded in run.json by the probe


def test_stop_strings_reach_the_engine(standin_vllm) -> None:
    sampler = open_sampler("vllm", RAW)
    sampler.sample(["q"], 2, SamplingSettings(max_tokens=4, stop=("\nProblem:", "\nQ:")), seed=[0])
    params = sampler.inner.engine.llm.calls[0][1][0]
    assert (params.stop, params.include_stop_str_in_output) == (["\nProblem:", "\nQ:"], False)


def test_prompts_that_fill_the_context_are_found_before_vllm_refuses_them(standin_vllm) -> None:
    sampler = open_sampler("vllm", RAW, max_model_len=12)
    assert beyond_context(sampler, ["short", "x" * 11, "y" * 40]) == [(1, 12, 12), (2, 41, 12)]
    with pytest.raises(ValueError, match="longer than the maximum model length of 12"):
        sampler.sample(["y" * 40], 1, SamplingSettings(max_tokens=2), seed=[0])  # what vLLM itself says


def test_an_int_seed_spaces_prompts_by_the_stride(standin_vllm) -> None:
    sampler = open_sampler("vllm", RAW)
    sampler.sample(["a", "b", "c"], 2, SamplingSettings(max_tokens=4), seed=7)
    assert [p.seed for p in sampler.inner.engine.llm.calls[0][1]] == [7, 7 + SEED_STRIDE, 7 + 2 * SEED_STRIDE]


def test_child_i_is_drawn_from_seed_plus_i_as_in_vllm(standin_vllm) -> None:
    sampler = open_sampler("vllm", RAW)
    settings = SamplingSettings(max_tokens=12)
    together = sampler.sample(["q"], 4, settings, seed=[1000])[0]
    alone = [sampler.sample(["q"], 1, settings, seed=[1000 + i])[0][0] for i in range(4)]
    assert together == alone
    assert len({c.text for c in together}) > 1


def test_a_request_may_start_at_sample_j_with_its_own_count(standin_vllm) -> None:
    # Adaptive rounds: samples 3..4 of one problem and 0..5 of another are what a call from 0 drew.
    sampler = open_sampler("vllm", RAW)
    settings = SamplingSettings(max_tokens=12)
    whole = sampler.sample(["q", "r"], 6, settings, seed=[1000, 5000])
    later = sampler.sample(["q", "r"], [2, 6], settings, seed=[1000, 5000], start=[3, 0])
    assert later == [whole[0][3:5], whole[1]]
    assert [(p.n, p.seed) for p in sampler.inner.engine.llm.calls[-1][1]] == [(2, 1003), (6, 5000)]


def test_only_seeded_requests_can_continue_a_problem(standin_vllm) -> None:
    # without request seeds nothing fixes sample j, so adaptive rounds must refuse the engine
    assert open_sampler("vllm", RAW).continues is True
    assert open_sampler("vllm", RAW, request_seeds=False).continues is False


def test_greedy_with_n_above_one_is_refused_as_vllm_refuses_it(standin_vllm) -> None:
    with pytest.raises(ValueError, match="n must be 1 when using greedy sampling, got 3"):
        standin_vllm.SamplingParams(n=3, temperature=0.0)  # what the engine itself says
    sampler = open_sampler("vllm", RAW)
    with pytest.raises(BadInputError, match="greedy decoding gives one completion per prompt, not n=3"):
        sampler.sample(["ab"], 3, SamplingSettings(greedy=True, max_tokens=8), seed=0)
    assert sampler.inner.engine.llm.calls == []  # refused before any request
    sampler.sample(["ab"], 1, SamplingSettings(temperature=0.7, greedy=True, max_tokens=8), seed=0)
    requests, params = sampler.inner.engine.llm.calls[0]
    assert requests == [{"prompt_token_ids": [1, 97, 98]}]
    assert (params[0].n, params[0].temperature, params[0].top_p) == (1, 0.0, 1.0)


def test_aborted_samples_are_drawn_again_from_their_own_seed(standin_vllm) -> None:
    sampler = open_sampler("vllm", RAW)
    settings = SamplingSettings(max_tokens=10)
    clean = sampler.sample(["q"], 3, settings, seed=[500])[0]
    standin_vllm.FAULTS.update({"501": ["abort"], "502": ["error", "abort"]})
    fresh = open_sampler("vllm", RAW)
    assert fresh.sample(["q"], 3, settings, seed=[500])[0] == clean
    redraws = [params for _, params in fresh.inner.engine.llm.calls[1:]]
    assert [[p.seed for p in ps] for ps in redraws] == [[501, 502], [502]]
    assert all(p.n == 1 for ps in redraws for p in ps)


def test_a_sample_that_keeps_failing_is_returned_as_a_failure(standin_vllm) -> None:
    standin_vllm.FAULTS.update({"701": ["error"] * 5, "702": ["repetition"]})
    sampler = open_sampler("vllm", RAW)
    out = sampler.sample(["q"], 3, SamplingSettings(max_tokens=10), seed=[700])[0]
    assert [c.finish_reason for c in out[1:]] == ["error", "repetition"]
    assert out[0].scored and not out[1].scored and not out[2].scored
    # errors are drawn again (2 rounds), a repetition would repeat itself and is not
    assert [[p.seed for p in ps] for _, ps in sampler.inner.engine.llm.calls[1:]] == [[701], [701]]


def test_request_seeds_off_sends_none(standin_vllm) -> None:
    sampler = open_sampler("vllm", RAW, request_seeds=False)
    sampler.sample(["a", "b"], 2, SamplingSettings(max_tokens=4), seed=[3, 4])
    assert [p.seed for p in sampler.inner.engine.llm.calls[0][1]] == [None, None]


def _engine_in(pipe, standins: str) -> None:
    import sys

    sys.path.insert(0, standins)
    try:
        import vllm

        vllm.LLM(model="m")
        pipe.send("started")
    except Exception as error:  # noqa: BLE001 (any failure is the answer, reported to the test)
        pipe.send(f"{type(error).__name__}: {error}")


def test_an_engine_cannot_start_inside_a_daemonic_process(standin_vllm) -> None:
    from enginestub import STANDINS

    context = multiprocessing.get_context("fork")
    parent, child = context.Pipe()
    replica = context.Process(target=_engine_in, args=(child, str(STANDINS)), daemon=True)  # the old Replica
    replica.start()
    replica.join(30)
    assert "daemonic processes are not allowed to have children" in parent.recv()


@pytest.mark.parametrize(("options", "message"), [
    ({"tensor_parallel_size": 0}, "must be >= 1"),
    ({"nodes": 2}, "--nodes 2 needs --data-parallel > 1"),
    ({"problems_per_batch": 0}, "must be >= 1"),
])
def test_layouts_are_refused_before_an_engine_loads(standin_vllm, options: dict, message: str) -> None:
    with pytest.raises(BadInputError, match=message):
        open_sampler("vllm", RAW, **options)


def test_unknown_engine_arguments_fail_like_vllm(standin_vllm) -> None:
    with pytest.raises(TypeError, match="unexpected keyword argument 'bogus'"):
        standin_vllm.LLM(model="m", bogus=1)
    with pytest.raises(ValueError, match="not supported for single-process usage"):
        standin_vllm.LLM(model="m", data_parallel_size=2)


def test_missing_vllm_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    from mta_probe import sampling

    monkeypatch.setattr(sampling, "_importable", lambda module: module != "vllm")
    assert sampling.default_backend() == "hf"
    with pytest.raises(BackendError, match=r"pip install 'mta\[vllm\]'"):
        open_sampler("vllm", RAW)
