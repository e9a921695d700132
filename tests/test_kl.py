"""The KL probe of Appendix I, on tiny random Llamas built offline (conftest `tiny_llama_dir`)."""

from __future__ import annotations

import json
import math
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from tinymodel import TINY_WORDS, build_tiny_tokenizer

from mta_probe.errors import BadInputError
from mta_probe.kl import KL_RECORDS, KLSettings, k3_per_token, probe_kl
from mta_probe.tasks import TaskOptions

PROMPTS = ["what is two plus three ?", "the sum of one and five is", "nine minus four equals",
           "so what is the answer ?"]
MAX_TOKENS = 10


def write_task(folder: Path, prompts: list[str] = PROMPTS) -> Path:
    path = folder / "tiny.jsonl"
    path.write_text("".join(json.dumps({"id": f"p{i}", "prompt": text, "answer": "five"}) + "\n"
                            for i, text in enumerate(prompts)))
    return path


def settings(policy: Path, reference: Path, task: Path, out: Path, **extra) -> KLSettings:
    return KLSettings(policy=str(policy), reference=str(reference), task=str(task),
                      max_tokens=MAX_TOKENS, device="cpu", out=out,
                      task_options=TaskOptions(verifier="exact"), **extra)


@pytest.fixture(scope="module")
def perturbed_llama_dir(tiny_llama_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The fixture model with Gaussian noise (std 0.05) on every weight: a 'trained policy'.

    Its EOS output row is a copy of the row of "answer", scaled up, so greedy decoding stops
    where it would say "answer": responses end at different lengths, and the token mean differs
    from the mean of per-problem means.
    """
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tiny_llama_dir)
    model = AutoModelForCausalLM.from_pretrained(tiny_llama_dir, dtype=torch.float32)
    generator = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.add_(0.05 * torch.randn(parameter.shape, generator=generator))
        head = model.get_output_embeddings().weight
        head[tokenizer.eos_token_id] = 1.1 * head[tokenizer.convert_tokens_to_ids("answer")]
    folder = tmp_path_factory.mktemp("perturbed_llama")
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def read_lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


# --- the estimator on hand-made log-probs -------------------------------------------------

@pytest.mark.parametrize("p_ref, p_policy", [
    (0.2, 0.5),    # the reference likes the token less: ratio 0.4
    (0.9, 0.3),    # the reference likes it more: ratio 3
    (0.5, 0.5),    # equal: exactly 0
    (1e-6, 0.99),  # the reference all but rules the token out
])
def test_k3_matches_equation_1(p_ref: float, p_policy: float) -> None:
    ratio = p_ref / p_policy
    expected = ratio - math.log(ratio) - 1.0
    got = k3_per_token([math.log(p_ref)], [math.log(p_policy)])
    assert got[0] == pytest.approx(expected, rel=1e-12, abs=1e-15)


def test_k3_is_nonnegative_and_precise_near_zero() -> None:
    rng = np.random.default_rng(0)
    ref, policy = rng.normal(-3, 2, 10_000), rng.normal(-3, 2, 10_000)
    assert (k3_per_token(ref, policy) >= 0).all()
    # d = 1e-8 gives d^2/2 + d^3/6 = 5e-17; exp(d) - d - 1 evaluated naively rounds to 0 or
    # to noise of 1e-16 (float64 spacing near 1 is 2.2e-16).
    tiny = k3_per_token([1e-8], [0.0])[0]
    assert tiny == pytest.approx(5e-17, rel=1e-6, abs=0)


def test_k3_refuses_mismatched_lengths() -> None:
    with pytest.raises(BadInputError, match="reference log-probs"):
        k3_per_token([-1.0, -2.0], [-1.0])


@pytest.mark.parametrize("extra, message", [
    ({"batch_size": 0}, "batch_size must be >= 1"),
    ({"max_tokens": 0}, "max_tokens must be >= 1"),
])
def test_bad_numbers_are_refused(tiny_llama_dir: Path, tmp_path: Path, extra: dict,
                                 message: str) -> None:
    base = settings(tiny_llama_dir, tiny_llama_dir, write_task(tmp_path), tmp_path / "run")
    with pytest.raises(BadInputError, match=message):
        probe_kl(replace(base, **extra))


# --- whole probe ----------------------------------------------------------------------

def test_identical_models_give_exactly_zero(tiny_llama_dir: Path, tmp_path: Path) -> None:
    task = write_task(tmp_path)
    result = probe_kl(settings(tiny_llama_dir, tiny_llama_dir, task, tmp_path / "run"))
    assert result.payload["tokens"] > len(PROMPTS)
    assert result.payload["kl_token_mean"] == 0.0
    assert result.payload["kl_problem_mean"] == 0.0
    assert all(r["kl_sum"] == 0.0 for r in read_lines(tmp_path / "run" / KL_RECORDS))
    saved = json.loads((tmp_path / "run" / "kl.json").read_text())
    assert saved["kl_token_mean"] == 0.0 and saved["num_problems"] == len(PROMPTS)


def _direct_kl(policy_dir: Path, reference_dir: Path, prompt: str, max_tokens: int
               ) -> tuple[list[int], list[float]]:
    """Greedy decoding by a plain argmax loop and per-token k3 from full forward passes."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(policy_dir)
    policy = AutoModelForCausalLM.from_pretrained(policy_dir, dtype=torch.float32).eval()
    reference = AutoModelForCausalLM.from_pretrained(reference_dir, dtype=torch.float32).eval()
    text = tokenizer.apply_chat_template([{"role": "user", "content": prompt}],
                                         add_generation_prompt=True, tokenize=False)
    ids = tokenizer(text, add_special_tokens=False).input_ids
    response, values = [], []
    with torch.no_grad():
        for _ in range(max_tokens):
            prefix = torch.tensor([ids + response])
            policy_lp = torch.log_softmax(policy(prefix).logits[0, -1].double(), dim=-1)
            reference_lp = torch.log_softmax(reference(prefix).logits[0, -1].double(), dim=-1)
            token = int(policy_lp.argmax())
            d = float(reference_lp[token] - policy_lp[token])
            values.append(math.exp(d) - d - 1.0)
            response.append(token)
            if token == tokenizer.eos_token_id:
                break
    return response, values


def test_kl_matches_a_direct_computation(tiny_llama_dir: Path, perturbed_llama_dir: Path,
                                         tmp_path: Path) -> None:
    task = write_task(tmp_path)
    result = probe_kl(settings(perturbed_llama_dir, tiny_llama_dir, task, tmp_path / "run"))
    records = {r["problem_id"]: r for r in read_lines(tmp_path / "run" / KL_RECORDS)}
    all_values: list[float] = []
    for index, prompt in enumerate(PROMPTS):
        response, values = _direct_kl(perturbed_llama_dir, tiny_llama_dir, prompt, MAX_TOKENS)
        record = records[f"p{index}"]
        assert record["response_ids"] == response  # the policy's own argmax decoding
        assert record["kl_sum"] == pytest.approx(sum(values), rel=1e-5, abs=1e-8)
        all_values += values
    expected = sum(all_values) / len(all_values)
    assert expected > 1e-3  # the perturbation must move the model, or the check proves nothing
    assert result.payload["tokens"] == len(all_values)
    assert len({r["tokens"] for r in records.values()}) > 1  # else token and problem means agree
    assert result.payload["finish_reasons"]["stop"] >= 1  # an emitted EOS is scored too
    assert result.payload["finish_reasons"]["length"] >= 1
    per_problem = [r["kl_sum"] / r["tokens"] for r in records.values()]
    assert result.payload["kl_problem_mean"] == pytest.approx(np.mean(per_problem), rel=1e-12)
    assert result.payload["kl_problem_mean"] != pytest.approx(expected, rel=1e-3)
    assert result.payload["kl_token_mean"] == pytest.approx(expected, rel=1e-5)
    low, high = result.payload["kl_token_mean_interval"]
    assert low <= result.payload["kl_token_mean"] <= high


def test_different_vocabularies_are_refused(tiny_llama_dir: Path, tmp_path: Path) -> None:
    import torch
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    # Same size, but two words swap ids: only the id check can tell.
    words = ["[UNK]", "</s>", *TINY_WORDS]
    words[2], words[3] = words[3], words[2]
    core = Tokenizer(models.WordLevel(vocab={w: i for i, w in enumerate(words)}, unk_token="[UNK]"))
    core.pre_tokenizer = pre_tokenizers.Split(" ", behavior="removed")
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=core, eos_token="</s>", pad_token="</s>")
    assert len(tokenizer) == len(build_tiny_tokenizer())
    torch.manual_seed(0)
    model = LlamaForCausalLM(LlamaConfig(vocab_size=len(tokenizer), hidden_size=16,
                                         intermediate_size=32, num_hidden_layers=1,
                                         num_attention_heads=2, num_key_value_heads=1))
    other = tmp_path / "other"
    model.save_pretrained(other)
    tokenizer.save_pretrained(other)
    with pytest.raises(BadInputError, match="do not share a vocabulary"):
        probe_kl(settings(tiny_llama_dir, other, write_task(tmp_path), tmp_path / "run"))
    assert not (tmp_path / "run").exists()  # refused before any run directory is made


def test_resume_scores_only_the_missing_problem(tiny_llama_dir: Path, perturbed_llama_dir: Path,
                                                tmp_path: Path) -> None:
    task, out = write_task(tmp_path), tmp_path / "run"
    first = probe_kl(settings(perturbed_llama_dir, tiny_llama_dir, task, out))
    records_path = out / KL_RECORDS
    lines = records_path.read_text().splitlines(keepends=True)
    # Drop the last record and leave half a line behind, as a kill mid-write would.
    records_path.write_text("".join(lines[:-1]) + lines[-1][:15])
    seen = []
    second = probe_kl(settings(perturbed_llama_dir, tiny_llama_dir, task, out),
                      progress=seen.append)
    assert [p.resumed for p in seen] == [len(PROMPTS) - 1]
    ids = [r["problem_id"] for r in read_lines(records_path)]
    assert sorted(ids) == sorted(f"p{i}" for i in range(len(PROMPTS)))
    assert second.payload["kl_token_mean"] == first.payload["kl_token_mean"]
    assert second.payload["kl_token_mean_interval"] == first.payload["kl_token_mean_interval"]


def test_batched_generation_scores_the_same_trajectories(tiny_llama_dir: Path,
                                                         perturbed_llama_dir: Path,
                                                         tmp_path: Path) -> None:
    task = write_task(tmp_path)
    single = probe_kl(settings(perturbed_llama_dir, tiny_llama_dir, task, tmp_path / "one"))
    batched = probe_kl(settings(perturbed_llama_dir, tiny_llama_dir, task, tmp_path / "four",
                                batch_size=4))
    assert batched.payload["tokens"] == single.payload["tokens"]
    assert batched.payload["kl_token_mean"] == pytest.approx(single.payload["kl_token_mean"],
                                                             rel=1e-5)
