"""mta's vLLM backend on the real engine (vLLM 0.32's CPU build, .venv-vllm): seeds, finish
reasons, the window, the limits vLLM puts on a request, and the probes (pass@k with a resume,
contamination, the KL's log-probs) on the embedded SmolLM2-135M. One engine for the session
(`real_vllm`); skipped where the real vllm is absent (tests/realvllm.py)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from realvllm import WINDOW, assert_one_request_per_problem, require_real_vllm, view
from vllm_words import FULL, GREEDY_N, OVER, TOO_MANY

from mta_probe.errors import BadInputError
from mta_probe.sampling import SamplingSettings, beyond_context

pytestmark = pytest.mark.vllm
vllm = require_real_vllm()

EOS = 2  # SmolLM2's <|im_end|>


def test_child_j_of_a_request_is_drawn_from_seed_plus_j(real_vllm) -> None:
    # The rule mta's seeds, resumes and adaptive rounds rest on (and the stand-in copies).
    sampler = view(real_vllm.sampler, chat=True)
    settings = SamplingSettings(max_tokens=24)
    together = sampler.sample(["Say hi."], 4, settings, seed=[1000])[0]
    alone = [sampler.sample(["Say hi."], 1, settings, seed=[1000 + j])[0][0] for j in range(4)]
    assert together == alone
    assert len({c.text for c in together}) == 4
    assert sampler.sample(["Say hi."], 2, settings, seed=[1000], start=[2])[0] == together[2:]
    assert sampler.sample(["Say hi."], 4, settings, seed=[1000])[0] == together  # the same again


def test_finish_reasons_token_counts_and_stop_strings(real_vllm) -> None:
    sampler = view(real_vllm.sampler, chat=True)
    out = sampler.sample(["Say hi.", "Name a colour."], 8, SamplingSettings(max_tokens=12), seed=[0, 1 << 16])
    completions = [c for row in out for c in row]
    assert {c.finish_reason for c in completions} == {"stop", "length"}
    for c in completions:
        assert c.tokens == len(c.token_ids) <= 12
        if c.finish_reason == "stop":  # vLLM counts the EOS it stopped on
            assert c.token_ids[-1] == EOS and "<|im_end|>" not in c.text
        else:
            assert c.tokens == 12 and EOS not in c.token_ids
    raw = view(real_vllm.sampler, chat=False)
    cut = raw.sample(["1, 2, 3, 4,"], 4, SamplingSettings(max_tokens=24, stop=(",",)), seed=[7])[0]
    assert all("," not in c.text and c.finish_reason in ("stop", "length") for c in cut)
    assert any(c.finish_reason == "stop" for c in cut)


def test_vllm_refuses_a_full_window_and_cuts_an_answer_at_it(real_vllm) -> None:
    llm = real_vllm.sampler.engine.llm
    params = vllm.SamplingParams(max_tokens=10, seed=0, n=2, ignore_eos=True)
    for length, words in ((WINDOW, FULL), (WINDOW + 1, OVER)):
        with pytest.raises(vllm.exceptions.VLLMValidationError) as refused:
            llm.generate([{"prompt_token_ids": [504] * length}], [params], use_tqdm=False)
        assert str(refused.value) == words.format(window=WINDOW, length=length)  # as the stand-in says
    # max_tokens is not clamped: the answer stops at the window, reported as "length" (item 9)
    out = llm.generate([{"prompt_token_ids": [504] * (WINDOW - 3)}], [params], use_tqdm=False)
    assert [(len(o.token_ids), o.finish_reason) for o in out[0].outputs] == [(3, "length")] * 2


def test_mta_refuses_a_prompt_without_room_for_max_tokens_before_any_request(real_vllm, monkeypatch) -> None:
    sampler = view(real_vllm.sampler, chat=False)
    calls = []
    generate = sampler.engine.llm.generate
    monkeypatch.setattr(sampler.engine.llm, "generate", lambda *a, **k: calls.append(a) or generate(*a, **k))
    prompt = "one two three " * ((WINDOW - 30) // 3)  # leaves room for a short answer
    length = len(sampler.encode(prompt))
    room = WINDOW - length
    assert 10 <= room <= 40
    assert beyond_context(sampler, ["hi", prompt], max_tokens=room + 1) == [(1, length, WINDOW)]
    assert beyond_context(sampler, ["hi", prompt], max_tokens=room) == []
    with pytest.raises(BadInputError, match=f"prompt 1 has {length} tokens: with max-tokens {room + 1} it needs "
                                            f"{WINDOW + 1} of the model's context window of {WINDOW} tokens"):
        sampler.sample(["hi", prompt], 1, SamplingSettings(max_tokens=room + 1), seed=[0, 1])
    assert calls == []
    done = sampler.sample([prompt], 1, SamplingSettings(max_tokens=room), seed=[0])[0][0]
    assert done.tokens <= room and calls


def test_what_vllm_changes_or_refuses_in_a_request(real_vllm, monkeypatch) -> None:
    assert vllm.SamplingParams(temperature=0.005).temperature == 0.01  # raised silently (a warning)
    for kwargs, words in (({"n": 16385}, TOO_MANY.format(limit=16384, n=16385)),
                          ({"n": 3, "temperature": 0.0}, GREEDY_N.format(n=3))):
        with pytest.raises(vllm.exceptions.VLLMValidationError) as refused:
            vllm.SamplingParams(**kwargs)
        assert str(refused.value) == words
    sampler = view(real_vllm.sampler, chat=True)
    with pytest.raises(BadInputError, match="temperature 0.005 is below 0.01, which vLLM raises to 0.01"):
        sampler.sample(["Say hi."], 2, SamplingSettings(temperature=0.005, max_tokens=4), seed=[0])
    # vLLM's limit on n, on a scale that runs fast: mta splits the request at its own seeds
    monkeypatch.setenv("VLLM_MAX_N_SEQUENCES", "3")
    with pytest.raises(vllm.exceptions.VLLMValidationError, match="n must be at most 3, got 7"):
        vllm.SamplingParams(n=7)
    settings = SamplingSettings(max_tokens=8)
    seven = sampler.sample(["Say hi."], 7, settings, seed=[5000])[0]
    assert seven == [sampler.sample(["Say hi."], 1, settings, seed=[5000 + j])[0][0] for j in range(7)]


@pytest.fixture
def probes_share_the_engine(real_vllm, monkeypatch):
    """The probes open the session's engine (in the prompt format they ask for), and find the
    model converted under its MTA_HOME."""
    from realvllm import ENGINE

    import mta_probe.sampling as sampling

    def opened(backend, model, *, chat=None, **options):
        assert backend == "vllm" and options == ENGINE, (backend, options)
        return view(real_vllm.sampler, model.chat if chat is None else chat)

    monkeypatch.setattr(sampling, "open_sampler", opened)
    monkeypatch.setenv("MTA_HOME", str(real_vllm.home))
    return real_vllm


def test_passk_on_the_real_engine_resumes_to_the_same_samples(probes_share_the_engine, tmp_path: Path) -> None:
    from realvllm import ENGINE

    from mta_probe.passk import probe_passk
    from mta_probe.passk_settings import PassKSettings
    from mta_probe.runs import read_records

    run = tmp_path / "run"
    settings = PassKSettings(task="arith-quick", n=4, limit=2, backend="vllm", engine_options=dict(ENGINE),
                             sampling=SamplingSettings(max_tokens=48), out=run, verify_workers=1)
    first = probe_passk(settings)
    records = list(read_records(run / "samples.jsonl"))
    assert len(records) == 8 and {r["finish_reason"] for r in records} <= {"stop", "length"}
    assert first.payload["num_samples"] == 8 and first.payload["failed_generations"] == {}
    # each problem's samples are what one request seeded by its problem draws
    assert_one_request_per_problem(probes_share_the_engine.sampler, records)
    # a run killed after five samples resumes to the same eight
    lines = (run / "samples.jsonl").read_text().splitlines(keepends=True)
    (run / "samples.jsonl").write_text("".join(lines[:5]))
    (run / "passk.json").unlink()
    again = probe_passk(settings)
    resumed = list(read_records(run / "samples.jsonl"))
    key = lambda r: (r["problem_id"], r["sample_index"])  # noqa: E731
    assert sorted((key(r), r["completion"]) for r in resumed) == sorted((key(r), r["completion"]) for r in records)
    assert again.payload["pass_at_k"] == first.payload["pass_at_k"]


def test_contamination_probe_on_the_real_engine(probes_share_the_engine, tmp_path: Path) -> None:
    from realvllm import ENGINE

    from mta_probe.contam import ContamSettings, probe_contamination
    from mta_probe.runs import read_records

    run = tmp_path / "contam"
    result = probe_contamination(ContamSettings(task="humaneval", limit=2, portions=(0.6,), backend="vllm",
                                                engine_options=dict(ENGINE), out=run))
    records = list(read_records(run / "contam.jsonl"))
    assert len(records) == 2 and all(0.0 <= r["rouge_l"] <= 1.0 and r["tokens"] <= r["budget"] for r in records)
    raw = view(probes_share_the_engine.sampler, chat=False)
    for r in records:  # greedy: exactly what the engine continues the prefix with
        again = raw.sample([r["prefix"]], 1, SamplingSettings(greedy=True, temperature=0.0, stop=(),
                                                               max_tokens=r["budget"]), seed=[0])[0][0]
        assert again.text == r["completion"]
    assert json.loads((run / "contam.json").read_text())["settings"]["backend"] == "vllm" == result.payload["settings"]["backend"]


def test_mtas_kl_log_probs_agree_with_the_engines(real_vllm) -> None:
    """The KL indicator's teacher-forced log-probs (`kl.response_logprobs`, transformers in
    float32) against vLLM's own log-prob of each token it sampled, same checkpoint, float32."""
    import torch
    from transformers import AutoModelForCausalLM

    from mta_probe.kl import k3_per_token, response_logprobs

    sampler = view(real_vllm.sampler, chat=True)
    prompt = sampler.encode("Name a colour.")
    params = vllm.SamplingParams(n=2, max_tokens=24, seed=11, logprobs=0, temperature=1.0)
    outputs = real_vllm.sampler.engine.llm.generate([{"prompt_token_ids": prompt}], [params], use_tqdm=False)
    model = AutoModelForCausalLM.from_pretrained(real_vllm.checkpoint, dtype=torch.float32).eval()
    for output in outputs[0].outputs:
        response = list(output.token_ids)
        engine = [step[token].logprob for step, token in zip(output.logprobs, response)]
        mine = response_logprobs(model, "cpu", prompt, response)
        assert len(mine) == len(engine) == len(response) > 0
        for a, b in zip(mine, engine):
            assert math.isclose(a, b, rel_tol=1e-3, abs_tol=1e-3), (a, b)
        assert float(k3_per_token(engine, mine).max()) < 1e-5  # the KL between the two is nil
