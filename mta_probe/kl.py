"""The KL indicator of Appendix I: how far a trained policy has moved from its reference model.

As in the paper (Appendix I, after DeepSeek-R1): the trained policy answers every problem by
greedy decoding; the policy and the untrained reference model then score that same trajectory
token by token with a teacher-forced forward pass, and per token

    KL = pi_ref / pi_theta - log(pi_ref / pi_theta) - 1 = exp(d) - d - 1,
    d = log pi_ref - log pi_theta

(the "k3" estimator, >= 0 for every token). The indicator is the mean over all response tokens
of all problems; `kl.json` also gives the mean of the per-problem means, both with 95% bootstrap
intervals over problems.

Choices the paper leaves open, fixed here:
1. the token ids that `generate` returned are scored as they are; the text is never decoded and
   re-encoded, which can split it into other tokens;
2. the EOS token the policy emitted is a response token and is scored; a response cut at
   `max_tokens` is scored as far as it goes (the paper scores full responses of up to 8192);
3. both models see the policy's prompt ids (its chat template when `chat` is on): the reference
   scores the trajectory the policy was given, not one re-rendered for it;
4. log-probs are the log-softmax of float32 logits; `d` is taken in float64 and the estimator is
   evaluated as `expm1(d) - d`, which keeps its sign and precision when d is near 0.

The two models must share a vocabulary (token ids mean the same strings); otherwise the run is
refused. Each problem is generated and scored alone by default (`batch_size=1`), so its record
does not depend on which problems ran beside it and a resumed run ends with the same numbers.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from mta_probe.errors import BadInputError
from mta_probe.estimators import bootstrap_interval
from mta_probe.runs import (
    ProbeProgress,
    RecordWriter,
    mta_home,
    open_records,
    package_versions,
    prepare_run_dir,
    read_records,
    write_json_atomic,
)
from mta_probe.tasks import LoadedTask, Problem, TaskOptions, load_task

KL_RECORDS = "kl.jsonl"
KL_SUMMARY = "kl.json"
# Positions per log-softmax call: a 150k vocabulary x 8192 positions in float32 is 5 GB at once.
LOGPROB_CHUNK = 1024
BOOTSTRAP_RESAMPLES = 1000


@dataclass(frozen=True)
class KLSettings:
    """A KL probe of a trained policy against its reference model.

    Attributes:
        policy: the trained model (alias, hub ID, local folder or .gguf); it generates.
        reference: the untrained model it started from; it only scores.
        task: a TASKS key, `gym:NAME`, or a JSONL file. The paper used MATH500, KOR-Bench
            Operation and SynLogic (Figure 9).
        limit: keep the first N problems of the task.
        max_tokens: new tokens per greedy response; None takes the policy's default (128 for the
            embedded 135M model on CPU, the paper's 8192 for hub models). The paper scores the
            full response, so a cap that cuts responses measures only their beginnings.
        chat: render prompts through the policy's chat template; None follows the policy model.
        device: "cpu", "cuda" or "cuda:N"; None picks the GPU when there is one.
        batch_size: prompts generated together (left-padded). 1 keeps every problem's record
            independent of its neighbours; more is faster on a GPU but padding can flip a
            near-tie in greedy decoding.
        out: the run directory; None means `$MTA_HOME/runs/kl/<policy>__vs__<reference>__<task>`.
        task_options: data paths, reasoning-gym options, a JSONL file's verifier.
    """

    policy: str
    reference: str
    task: str = "arith-quick"
    limit: int | None = None
    max_tokens: int | None = None
    chat: bool | None = None
    device: str | None = None
    batch_size: int = 1
    out: Path | None = None
    task_options: TaskOptions = field(default_factory=TaskOptions)


@dataclass(frozen=True)
class KLResult:
    """A finished KL probe: its run directory and the `kl.json` payload."""

    run_dir: Path
    payload: dict[str, Any]


def k3_per_token(ref_logprobs: Sequence[float], policy_logprobs: Sequence[float]) -> np.ndarray:
    """Equation 1 of Appendix I for each token: `exp(d) - d - 1` with d = ref - policy log-prob.

    Args:
        ref_logprobs: log pi_ref(o_i | q, o_<i) per response token.
        policy_logprobs: log pi_theta(o_i | q, o_<i) for the same tokens.

    Returns:
        float64 values, each >= 0 and 0 exactly where the two log-probs are equal.

    Examples:
        >>> round(float(k3_per_token([np.log(0.2)], [np.log(0.5)])[0]), 12)  # 0.4 - log 0.4 - 1
        0.316290731874
    """
    ref = np.asarray(ref_logprobs, dtype=np.float64)
    policy = np.asarray(policy_logprobs, dtype=np.float64)
    if ref.shape != policy.shape:
        raise BadInputError(f"{ref.shape[0]} reference log-probs for {policy.shape[0]} policy ones")
    d = ref - policy
    # expm1 keeps exp(d) - 1 exact for small d; the naive form cancels to 0 or below it.
    return np.maximum(np.expm1(d) - d, 0.0)


def probe_kl(settings: KLSettings, *, progress: Callable[[ProbeProgress], None] | None = None,
             on_status: Callable[[str], None] | None = None) -> KLResult:
    """Run (or resume) a KL probe; writes `kl.jsonl` (one line per problem) and `kl.json`.

    Args:
        settings: which policy, reference and task; see KLSettings.
        progress: called after each batch with problems done (`samples_done`) and tokens scored.
        on_status: one-line messages (GGUF conversion, resuming).

    Returns:
        The run directory and the `kl.json` payload.

    Raises:
        MtaError: unknown model or task, models with different vocabularies, a run directory
            holding another run, bad numbers.
    """
    from mta_probe.sampling import prepare_model, resolve_model

    say = on_status or (lambda _msg: None)
    if settings.batch_size < 1:
        raise BadInputError(f"batch_size must be >= 1, got {settings.batch_size}")
    policy, reference = resolve_model(settings.policy), resolve_model(settings.reference)
    max_tokens = policy.default_max_tokens if settings.max_tokens is None else settings.max_tokens
    if max_tokens < 1:
        raise BadInputError(f"max_tokens must be >= 1, got {max_tokens}")
    chat = policy.chat if settings.chat is None else settings.chat
    task = load_task(settings.task, limit=settings.limit, options=settings.task_options)
    check_same_vocabulary(prepare_model(policy, say), prepare_model(reference, say))
    out = settings.out or default_kl_dir(policy.name, reference.name, task.name)
    identity = {"kind": "kl", "policy": policy.path, "reference": reference.path, "task": task.name,
                "task_source": task.source, "limit": settings.limit, "max_tokens": max_tokens,
                "chat": chat,
                "task_options": json.loads(json.dumps(asdict(settings.task_options), default=str))}
    if prepare_run_dir(out, identity):
        say(f"resuming {out}")
    records, writer = open_records(out / KL_RECORDS)
    done = {r["problem_id"] for r in records}
    todo = [p for p in task.problems if p.id not in done]
    with writer:
        if todo:
            _score_missing(settings, policy, reference, chat, max_tokens, todo, writer,
                           len(task.problems), progress, say)
    records = list(read_records(out / KL_RECORDS))
    payload = summarize(records, task)
    payload.update(policy=policy.name, policy_path=policy.path, reference=reference.name,
                   reference_path=reference.path,
                   settings={"max_tokens": max_tokens, "chat": chat, "limit": settings.limit,
                             "batch_size": settings.batch_size, "decoding": "greedy"},
                   versions=package_versions(),
                   written_at=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))
    write_json_atomic(out / KL_SUMMARY, payload)
    return KLResult(run_dir=out, payload=payload)


def default_kl_dir(policy: str, reference: str, task: str) -> Path:
    """`$MTA_HOME/runs/kl/<policy>__vs__<reference>__<task>`: same names, same directory."""
    slug = [re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip("-")[:80] or "x"
            for name in (policy, reference, task)]
    return mta_home() / "runs" / "kl" / f"{slug[0]}__vs__{slug[1]}__{slug[2]}"


def check_same_vocabulary(policy_checkpoint: str, reference_checkpoint: str) -> None:
    """Refuse two models whose tokenizers map some token to different ids.

    Args:
        policy_checkpoint, reference_checkpoint: what `prepare_model` returned for each.

    Raises:
        BadInputError: the vocabularies differ; the message names one differing token.
    """
    if Path(policy_checkpoint) == Path(reference_checkpoint):
        return
    from transformers import AutoTokenizer  # lazy: heavy

    policy = AutoTokenizer.from_pretrained(policy_checkpoint).get_vocab()
    reference = AutoTokenizer.from_pretrained(reference_checkpoint).get_vocab()
    if policy == reference:
        return
    differing = sorted(set(policy.items()) ^ set(reference.items()), key=lambda item: item[1])
    token, token_id = differing[0]
    raise BadInputError(
        f"the policy and the reference do not share a vocabulary ({len(policy)} vs "
        f"{len(reference)} tokens; {token!r} is id {policy.get(token)} in the policy and "
        f"{reference.get(token)} in the reference): a KL over token ids needs the same tokenizer")


def _score_missing(s: KLSettings, policy_ref: Any, reference_ref: Any, chat: bool,
                   max_tokens: int, todo: list[Problem], writer: RecordWriter, total: int,
                   progress: Callable[[ProbeProgress], None] | None,
                   say: Callable[[str], None]) -> None:
    from mta_probe.sampling import HFSampler

    policy = HFSampler(policy_ref, chat, device=s.device, max_batch=s.batch_size, on_status=say)
    # The reference never renders a prompt (it scores the policy's ids), so no template check.
    reference = HFSampler(reference_ref, False, device=s.device, on_status=say)
    if policy.model.config.vocab_size != reference.model.config.vocab_size:
        raise BadInputError(f"the policy has {policy.model.config.vocab_size} output logits and "
                            f"the reference {reference.model.config.vocab_size}")
    resumed = total - len(todo)
    start, tokens = time.monotonic(), 0
    try:
        for first in range(0, len(todo), s.batch_size):
            batch = todo[first:first + s.batch_size]
            # The same prompt ids the pass@k probe samples from.
            prompts = [policy.encode(problem.prompt) for problem in batch]
            responses = greedy_response_ids(policy, prompts, max_tokens)
            rows = [_record(problem, prompt, response, policy, reference)
                    for problem, prompt, response in zip(batch, prompts, responses)]
            writer.append(rows)
            tokens += sum(row["tokens"] for row in rows)
            if progress:
                progress(ProbeProgress(resumed + first + len(batch), total, tokens,
                                       time.monotonic() - start, resumed))
    finally:
        policy.close()
        reference.close()


def greedy_response_ids(sampler: Any, prompts: list[list[int]], max_tokens: int) -> list[list[int]]:
    """Greedy-decode each prompt with an HFSampler's model; the new ids up to and with EOS.

    Args:
        sampler: an `HFSampler` (its model, device, pad and EOS ids are used).
        prompts: token ids of each prompt, generated together with left padding.
        max_tokens: new tokens at most.

    Returns:
        One list of generated token ids per prompt, cut after the first EOS.
    """
    import torch

    from mta_probe.sampling import count_new_tokens

    if any(not ids for ids in prompts):
        raise BadInputError("a prompt encodes to no tokens; nothing conditions the first token")
    width = max(len(ids) for ids in prompts)
    input_ids = torch.tensor([[sampler.pad_id] * (width - len(ids)) + ids for ids in prompts])
    mask = torch.tensor([[0] * (width - len(ids)) + [1] * len(ids) for ids in prompts])
    with torch.inference_mode():
        output = sampler.model.generate(input_ids=input_ids.to(sampler.device),
                                        attention_mask=mask.to(sampler.device),
                                        max_new_tokens=max_tokens, do_sample=False)
    rows = output[:, width:].tolist()
    return [row[:count_new_tokens(row, sampler.eos_ids)[0]] for row in rows]


def response_logprobs(model: Any, device: str, prompt: list[int],
                      response: list[int]) -> list[float]:
    """log p(response_i | prompt, response_<i) for every response token, teacher-forced.

    Args:
        model: a causal LM.
        device: where the model lives.
        prompt: the prompt ids (at least one).
        response: the response ids that are scored.

    Returns:
        One log-prob per response token, from a float32 log-softmax over the full vocabulary.
    """
    import torch

    ids = torch.tensor([prompt + response], device=device)
    targets = torch.tensor(response, device=device)
    with torch.inference_mode():
        # Logits at position t predict token t + 1: keep the len(response) positions before
        # each response token (the last position predicts past the end and is dropped).
        logits = model(input_ids=ids, logits_to_keep=len(response) + 1).logits[0, :-1]
        parts = []
        for begin in range(0, len(response), LOGPROB_CHUNK):
            chunk = torch.log_softmax(logits[begin:begin + LOGPROB_CHUNK].float(), dim=-1)
            parts.append(chunk.gather(-1, targets[begin:begin + LOGPROB_CHUNK, None])[:, 0])
    return torch.cat(parts).cpu().tolist()


def _record(problem: Problem, prompt: list[int], response: list[int], policy: Any,
            reference: Any) -> dict[str, Any]:
    policy_lp = response_logprobs(policy.model, policy.device, prompt, response)
    reference_lp = response_logprobs(reference.model, reference.device, prompt, response)
    values = k3_per_token(reference_lp, policy_lp)
    stopped = response[-1] in policy.eos_ids
    return {"problem_id": problem.id, "tokens": len(response), "kl_sum": float(values.sum()),
            "kl_mean": float(values.mean()), "kl_max": float(values.max()),
            "finish_reason": "stop" if stopped else "length", "prompt_tokens": len(prompt),
            "completion": policy.tokenizer.decode(response, skip_special_tokens=True),
            "response_ids": response}


def summarize(records: list[dict[str, Any]], task: LoadedTask) -> dict[str, Any]:
    """Token-mean and problem-mean KL over the task's problems, with bootstrap intervals.

    Args:
        records: `kl.jsonl` rows; the first row of each of the task's problems counts.
        task: the loaded task (its problems and names).

    Returns:
        The task part of `kl.json`.
    """
    rows: dict[str, dict[str, Any]] = {}
    wanted = {p.id for p in task.problems}
    for record in records:
        if record["problem_id"] in wanted:
            rows.setdefault(record["problem_id"], record)
    if len(rows) < len(wanted):
        raise BadInputError(f"{len(wanted) - len(rows)} problems of {task.name} have no KL record")
    sums = np.array([rows[p.id]["kl_sum"] for p in task.problems])
    counts = np.array([rows[p.id]["tokens"] for p in task.problems], dtype=np.float64)
    means = sums / counts
    low, high = bootstrap_interval(means[:, None], resamples=BOOTSTRAP_RESAMPLES)
    stops = sum(1 for p in task.problems if rows[p.id]["finish_reason"] == "stop")
    return {"task": task.name, "task_source": task.source, "num_problems": len(rows),
            "tokens": int(counts.sum()), "kl_token_mean": float(sums.sum() / counts.sum()),
            "kl_token_mean_interval": _ratio_interval(sums, counts),
            "kl_problem_mean": float(means.mean()),
            "kl_problem_mean_interval": [float(low[0]), float(high[0])],
            "finish_reasons": {"stop": stops, "length": len(rows) - stops},
            "estimator": "mean over response tokens of exp(d) - d - 1, d = log pi_ref - log "
                         "pi_policy, on the policy's greedy response (Appendix I, eq. 1)",
            "interval_method": f"95% percentile bootstrap over problems, {BOOTSTRAP_RESAMPLES} "
                               "resamples; the token mean is resampled as a ratio of sums"}


def _ratio_interval(sums: np.ndarray, counts: np.ndarray, seed: int = 0) -> list[float]:
    # The token mean weights problems by their length, so a resample keeps each problem's
    # KL sum and token count together: sum(w * kl_sum) / sum(w * tokens) per resample.
    p = len(sums)
    weights = np.random.default_rng(seed).multinomial(p, np.full(p, 1.0 / p),
                                                      size=BOOTSTRAP_RESAMPLES).astype(np.float64)
    ratios = (weights @ sums) / (weights @ counts)
    low, high = np.percentile(ratios, [2.5, 97.5])
    return [float(low), float(high)]

