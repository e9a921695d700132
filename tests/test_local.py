"""The local backend end to end on a tiny random Llama: metrics, validation against gains.json,
resumption, log-probs, memory-side choices, KL."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest
import torch
from tolerances import assert_tensors_close

from mta_probe.tasks import TaskOptions
from mta_train.dapo import aggregate, low_var_kl
from mta_train.data import training_set
from mta_train.local import METRICS_FILE, train_local
from mta_train.policy import Policy, Sequence
from mta_train.run import train
from mta_train.settings import DapoSettings, LocalSettings, TrainSettings
from mta_train.techniques import get_technique

METRIC_KEYS = {"step", "reward_mean", "accuracy", "entropy", "rollout_entropy", "response_length",
               "groups_kept", "groups_total", "seconds", "loss", "kl"}


@pytest.fixture
def task_file(tmp_path: Path) -> Path:
    path = tmp_path / "sums.jsonl"
    rows = [{"id": str(i), "question": f"what is {w} plus zero ?", "answer": w}
            for i, w in enumerate(["one", "two", "three", "four"])]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def _settings(model: Path, task: Path, technique: str = "random", **dapo) -> TrainSettings:
    """A tiny run. The random model never writes the <think>/<answer> format, so random runs
    use Shao et al.'s coin-only variant: the paper's would pay nothing and never update."""
    values = {"steps": 2, "batch_size": 2, "mini_batch_size": 1, "group_size": 4,
              "max_response_length": 6, "lr": 1e-2, **dapo}
    small = DapoSettings.small(**values)
    return TrainSettings(technique=technique, variant="shao" if technique == "random" else "paper",
                         model=str(model), task=str(task), dapo=small, eval_k=2,
                         eval_max_tokens=4, verify_workers=0,
                         task_options=TaskOptions(verifier="normalized"))


def test_a_run_writes_metrics_history_gains_and_a_changed_model(
        tiny_llama_dir: Path, task_file: Path) -> None:
    result = train(_settings(tiny_llama_dir, task_file))
    records = [json.loads(line) for line in (result.run_dir / METRICS_FILE).open()]
    assert [r["step"] for r in records] == [1, 2]
    assert all(METRIC_KEYS <= set(r) for r in records)
    assert all(r["groups_total"] >= 2 and 0 <= r["groups_kept"] <= r["groups_total"]
               for r in records)
    assert all(0 < r["response_length"] <= 6 and r["entropy"] > 0 for r in records)
    assert records[0]["loss"] != 0.0  # random rewards differ within groups: a real update
    history = [json.loads(line) for line in (result.run_dir / "history.jsonl").open()]
    assert {h["epoch"] for h in history} == {1, 2}
    gains = json.loads((result.run_dir / "gains.json").read_text())
    row = gains["tasks"][str(task_file)]
    assert row["gain"] == pytest.approx(row["after"] - row["before"])
    assert (gains["technique"], gains["variant"], row["metric"]) == ("random", "shao", "avg@2")
    assert gains["protocol"] == "paper" and gains["protocol_settings"]["top_p"] == 0.7
    from transformers import AutoModelForCausalLM  # the trained weights moved
    start = AutoModelForCausalLM.from_pretrained(tiny_llama_dir).state_dict()
    trained = AutoModelForCausalLM.from_pretrained(result.run_dir / "model").state_dict()
    assert any(not torch.equal(start[k], trained[k]) for k in start)
    train_json = json.loads((result.run_dir / "train.json").read_text())
    assert train_json["technique"] == "random" and train_json["settings"]["dapo"]["lr"] == 1e-2


def test_in_training_validation_and_gains_json_agree_on_after(
        tiny_llama_dir: Path, task_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """One protocol: the last validation (live weights) and gains.json's "after" (the saved
    model, loaded again) ask the same questions, get the same answers, report the same number."""
    from mta_probe.sampling.hf import HFSampler

    calls: list[tuple] = []
    real = HFSampler.sample

    def recording(self, prompts, n, sampling, seed):
        out = real(self, prompts, n, sampling, seed)
        # One entry per prompt: a call may hold several problems (the CPU decode engine's).
        calls.extend((prompt, n, sampling, one_seed, tuple(c.text for c in row))
                     for prompt, one_seed, row in zip(prompts, seed, out))
        return out

    monkeypatch.setattr(HFSampler, "sample", recording)
    settings = replace(_settings(tiny_llama_dir, task_file, steps=2, val_every=2), eval_k=3)
    result = train(settings)
    evaluations = [c for c in calls if c[1] == 3]  # k = 3; rollouts sample group_size = 4
    before, validation, after = (evaluations[i * 4:(i + 1) * 4] for i in range(3))  # 4 problems
    assert validation == after
    assert before != after  # the weights moved, so the samples did
    prompt, _, sampling, _, _ = after[0]
    assert "<answer>" in prompt and "plus zero" in prompt  # the training prompt
    assert (sampling.temperature, sampling.top_p, sampling.max_tokens) == (1.0, 0.7, 4)
    records = [json.loads(line) for line in (result.run_dir / METRICS_FILE).open()]
    gains = json.loads((result.run_dir / "gains.json").read_text())
    assert "val/" + str(task_file) not in records[0]
    assert records[1]["val/" + str(task_file)] == gains["tasks"][str(task_file)]["after"]


def test_a_stopped_run_resumes_to_the_same_metrics(tiny_llama_dir: Path, task_file: Path,
                                                   tmp_path: Path) -> None:
    settings = _settings(tiny_llama_dir, task_file, steps=3)
    technique = get_technique("random")
    data = training_set(settings, technique)
    whole = tmp_path / "whole"
    whole.mkdir()
    train_local(settings, technique, data, whole, checkpoint_every=1)

    class Stop(Exception):
        pass

    def stop_at_two(record: dict) -> None:
        if record["step"] == 2:  # after step 2's metrics, before its checkpoint
            raise Stop

    cut = tmp_path / "cut"
    cut.mkdir()
    with pytest.raises(Stop):
        train_local(settings, technique, data, cut, on_step=stop_at_two, checkpoint_every=1)
    resumed = train_local(settings, technique, data, cut, checkpoint_every=1)
    assert resumed.resumed_from == 1
    keys = ("step", "reward_mean", "accuracy", "entropy", "response_length", "loss",
            "pg_clipfrac_high", "greedy_logprob")
    read = lambda d: [{k: json.loads(l)[k] for k in keys} for l in (d / METRICS_FILE).open()]
    assert read(cut) == read(whole)


def test_policy_log_probs_are_the_models_own(tiny_llama_dir: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(tiny_llama_dir)
    policy = Policy(model, DapoSettings.small(), pad_id=1)
    assert model.is_gradient_checkpointing  # LocalSettings' default, active in train mode
    projected = []
    model.get_output_embeddings().register_forward_hook(lambda _m, args, _o: projected.append(args[0].shape[0]))
    sequences = [Sequence((2, 3, 4), (5, 6)), Sequence((7,), (8, 9, 10, 11))]
    logprobs, entropies = policy.score(sequences)
    assert sum(projected) == 6  # the output projection saw the 6 response positions, nothing else
    for seq, lp, ent in zip(sequences, logprobs, entropies):
        ids = torch.tensor([list(seq.prompt_ids) + list(seq.response_ids)])
        with torch.no_grad():
            log_softmax = torch.log_softmax(model(input_ids=ids).logits[0], dim=-1)
        start = len(seq.prompt_ids) - 1
        expected = [log_softmax[start + i, tok].item() for i, tok in enumerate(seq.response_ids)]
        assert lp.tolist() == pytest.approx(expected, rel=1e-5)  # the random model's: -1 to -15
        probs = log_softmax[start:start + len(seq.response_ids)].exp()
        assert ent.tolist() == pytest.approx((-(probs * probs.log()).sum(-1)).tolist(), rel=1e-5)


@pytest.mark.parametrize("chunk", [0, 2])
@pytest.mark.parametrize("softcapped", [False, True])
def test_response_logits_in_chunks_give_the_full_forwards_values_and_gradients(
        tiny_llama_dir: Path, chunk: int, softcapped: bool) -> None:
    """Response positions only, in chunks of 2 tokens or all at once, through the decoder and
    the output projection or (a soft-capped model) through `logits_to_keep`: the log-probs and
    their gradients are the full forward's."""
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(tiny_llama_dir)
    if softcapped:  # Llama ignores it; mta must then take the plain path (logits_to_keep)
        model.config.final_logit_softcapping = 30.0
    policy = Policy(model, DapoSettings.small(temperature=0.7), pad_id=1,
                    local=LocalSettings(micro_batch_size=3, logits_chunk=chunk))
    prompt = tuple(range(2, 30))
    sequences = [Sequence(prompt, (5, 6, 7)), Sequence(prompt, (8,)), Sequence(prompt[:3], (9, 10))]
    model.train()
    logprob, _, mask = policy._forward(model, sequences, with_entropy=False)
    (logprob * mask).sum().backward()
    ours = [w.grad.clone() for w in model.parameters()]
    model.zero_grad()
    total = 0.0
    for row, seq in enumerate(sequences):
        ids = torch.tensor([list(seq.prompt_ids) + list(seq.response_ids)])
        full = torch.log_softmax(model(input_ids=ids).logits[0] / 0.7, dim=-1)
        start = len(seq.prompt_ids) - 1
        expected = torch.stack([full[start + i, t] for i, t in enumerate(seq.response_ids)])
        assert logprob[row, :len(seq.response_ids)].tolist() == pytest.approx(expected.tolist(), rel=1e-5)
        total = total + expected.sum()
    total.backward()
    # Gradients reach 40 and sum over positions in another order: float32 differs by a relative
    # 2e-6 of the largest (seen on two machines), so the tolerance is relative to the tensor.
    for mine, theirs in zip(ours, (w.grad for w in model.parameters())):
        assert_tensors_close(mine, theirs, rel=1e-5)


@pytest.mark.parametrize("mode", ["token-mean", "seq-mean-token-sum"])
def test_kl_penalty_is_aggregated_like_the_loss(tiny_llama_dir: Path, mode: str) -> None:
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(tiny_llama_dir)
    policy = Policy(model, DapoSettings.small(kl_coef=0.5, loss_agg_mode=mode), pad_id=1,
                    local=LocalSettings(micro_batch_size=1))
    with torch.no_grad():  # move the policy away from its reference
        for weight in model.parameters():
            weight.add_(0.05 * torch.randn_like(weight))
    sequences = [Sequence((2, 3), (5, 6, 7, 8)), Sequence((7,), (8,))]
    old, _ = policy.score(sequences)
    ref, _ = Policy(policy.reference, DapoSettings.small(), pad_id=1).score(sequences)
    stats = policy.update(sequences, old, [0.0, 0.0], mini_batch_rows=2)
    width = 4
    kl = torch.stack([torch.nn.functional.pad(low_var_kl(o, r), (0, width - len(o)))
                      for o, r in zip(old, ref)])
    mask = torch.tensor([[1.0] * 4, [1.0, 0, 0, 0]])
    assert stats["kl"] == pytest.approx(float(aggregate(kl, mask, mode)), rel=1e-4)
    assert policy.reference.dtype == torch.float32  # the sampler's dtype on a CPU; no copy without KL
    assert Policy(AutoModelForCausalLM.from_pretrained(tiny_llama_dir), DapoSettings.small(),
                  pad_id=1).reference is None


def test_the_first_update_is_on_policy_and_kl_is_reported(tiny_llama_dir: Path,
                                                          task_file: Path,
                                                          tmp_path: Path) -> None:
    settings = _settings(tiny_llama_dir, task_file, steps=1, kl_coef=0.1)
    settings = replace(settings, dapo=replace(settings.dapo, mini_batch_size=2))
    technique = get_technique("random")
    records = []
    train_local(settings, technique, training_set(settings, technique), tmp_path,
                on_step=records.append)
    assert abs(records[0]["ppo_kl"]) < 1e-6  # one mini-batch: ratio 1, as DAPO starts
    clips = ("pg_clipfrac", "pg_clipfrac_high", "pg_clipfrac_low", "pg_clipfrac_lower")
    assert [records[0][key] for key in clips] == [0.0] * 4  # nothing is off-policy to clip
    assert records[0]["kl"] == pytest.approx(0.0, abs=1e-6)  # nothing moved yet at the first update


def test_entropy_minimization_rewards_mean_log_probs(tiny_llama_dir: Path, task_file: Path,
                                                     tmp_path: Path) -> None:
    settings = _settings(tiny_llama_dir, task_file, technique="em", steps=1)
    technique = get_technique("em")
    records = []
    train_local(settings, technique, training_set(settings, technique), tmp_path,
                on_step=records.append)
    assert records[0]["reward_mean"] < 0  # mean token log-probs
    assert records[0]["groups_kept"] == records[0]["groups_total"]  # continuous rewards differ


def test_later_mini_batches_clip_on_each_side_and_the_greedy_answers_are_scored(
        tiny_llama_dir: Path, task_file: Path, tmp_path: Path) -> None:
    """Two updates per batch at lr 1e-2: the second mini-batch is off-policy and clips; the
    initial policy's greedy answers are kept and their log-probability logged after each step."""
    from transformers import AutoModelForCausalLM

    from mta_train.greedy import GREEDY_FILE

    settings = _settings(tiny_llama_dir, task_file, steps=2, batch_size=2, mini_batch_size=1)
    technique = get_technique("random")
    train_local(settings, technique, training_set(settings, technique), tmp_path)
    records = [json.loads(line) for line in (tmp_path / METRICS_FILE).open()]
    for r in records:
        assert r["pg_clipfrac"] == pytest.approx(r["pg_clipfrac_high"] + r["pg_clipfrac_low"], rel=1e-6)
        assert 0 <= r["pg_clipfrac"] <= 0.5  # the first of the two mini-batches is on-policy
    assert any(r["pg_clipfrac"] > 0 for r in records)
    answers = [json.loads(line) for line in (tmp_path / GREEDY_FILE).open()]
    assert [a["problem_id"] for a in answers] == ["0", "1", "2", "3"]  # every problem (< 20)
    initial = AutoModelForCausalLM.from_pretrained(tiny_llama_dir).eval()
    for a in answers:  # greedy: each response token is the initial model's most likely one
        ids = torch.tensor([a["prompt_ids"] + a["response_ids"]])
        with torch.no_grad():
            logits = initial(ids).logits[0, len(a["prompt_ids"]) - 1:-1]
        assert logits.argmax(-1).tolist() == a["response_ids"]
        logprob = torch.log_softmax(logits, -1).gather(1, torch.tensor(a["response_ids"])[:, None])
        assert a["logprob"] == pytest.approx(float(logprob.sum()), rel=1e-4)
    before = sum(a["logprob"] for a in answers) / len(answers)
    assert all(r["greedy_logprob"] != pytest.approx(before, rel=1e-6) for r in records)  # it moved
    right = [a["logprob"] for a in answers if a["correct"]]
    assert (records[0]["greedy_logprob_correct"] is None) == (not right)


def test_the_greedy_log_changes_nothing_the_run_trains(tiny_llama_dir: Path, task_file: Path,
                                                       tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    from mta_train import greedy

    settings = _settings(tiny_llama_dir, task_file, steps=2)
    technique = get_technique("random")
    runs = {}
    for count in (20, 0):
        monkeypatch.setattr(greedy, "GREEDY_PROBLEMS", count)
        out = tmp_path / str(count)
        out.mkdir()
        train_local(settings, technique, training_set(settings, technique), out)
        runs[count] = [json.loads(line) for line in (out / METRICS_FILE).open()]
    keys = ("reward_mean", "accuracy", "entropy", "response_length", "loss", "grad_norm")
    assert [[r[k] for k in keys] for r in runs[20]] == [[r[k] for k in keys] for r in runs[0]]
    assert "greedy_logprob" in runs[20][0] and "greedy_logprob" not in runs[0][0]
