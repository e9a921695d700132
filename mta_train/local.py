"""The local backend: DAPO on one machine (CPU or one GPU), sampling through mta_probe's hf
backend, with the same technique code as the verl backend.

One step, as in the paper's DAPO (Section 3):
1. draw `batch_size` prompts and sample `group_size` responses each (temperature, top_p);
2. score every response under the sampling policy (log-probs, entropies) and reward each group
   with the technique (EM reads those log-probs, so scoring comes first);
3. dynamic sampling: keep groups whose rewards differ; while fewer than `batch_size` are kept
   and fewer than `max_num_gen_batches` batches were drawn, draw another; then the paper's
   fallback (repeat the kept groups, or train on the last batch unfiltered);
4. GRPO advantages per group, masked for NSR / PSR; one pass of clipped token-mean updates,
   one optimizer step per mini-batch;
5. every `val_every` steps and at the last (when `val_every` > 0), validate on the evaluation
   tasks with the run's evaluation protocol (mta_train/evaluation.py: the same sampling and
   scoring as gains.json);
6. append the step's metrics to metrics.jsonl, with the log-probability of the initial
   policy's greedy answers on fixed training problems (mta_train/greedy.py); checkpoint every
   `save_every` steps.
A stopped run resumes from its last checkpoint (the prompt stream and every seed derive from
the run seed and the step, so the resumed steps draw what the lost ones would have).
Shao et al.'s fixed incorrect labels (math "incorrect") are made before step 1, by the initial
weights (mta_train/labels.py).
"""

from __future__ import annotations

import time
import zlib
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mta_probe.errors import BadInputError
from mta_probe.runs import RecordWriter, cut_records, room_for
from mta_probe.sampling import SamplingSettings, draw
from mta_probe.tasks import Problem
from mta_train.dapo import fill_batch, group_advantages, has_signal, masked_advantages
from mta_train.data import TrainingSet, prompt_batch, training_prompt
from mta_train.evaluation import eval_sets, validate
from mta_train.greedy import greedy_answers, greedy_metrics
from mta_train.labels import fixed_incorrect_labels, needs_fixed_labels
from mta_train.policy import Policy, Sequence
from mta_train.progress import ProgressCallback, reporter
from mta_train.reward import Group, Reward
from mta_train.settings import DapoSettings, TrainSettings
from mta_train.step_metrics import step_record
from mta_train.technique import Technique

METRICS_FILE = "metrics.jsonl"
HISTORY_FILE = "history.jsonl"  # per-problem accuracy per step: `mta train select-example` input
CHECKPOINT_DIR = "checkpoint"
MODEL_DIR = "model"


@dataclass
class RolloutGroup:
    """One prompt's rollouts with everything the update needs."""

    problem: Problem
    sequences: list[Sequence]
    rewards: list[Reward]
    logprobs: list[Any]
    entropies: list[Any]

    @property
    def scores(self) -> list[float]:
        return [r.score for r in self.rewards]


@dataclass(frozen=True)
class LocalRun:
    """A finished local training: where the trained model is and how many steps ran."""

    model_dir: Path
    steps: int
    resumed_from: int


def train_local(settings: TrainSettings, technique: Technique, data: TrainingSet, run_dir: Path,
                *, on_step: Callable[[dict[str, Any]], None] | None = None,
                on_status: Callable[[str], None] | None = None,
                on_progress: ProgressCallback | None = None,
                checkpoint_every: int | None = None) -> LocalRun:
    """Train `settings.model` with `technique` for `settings.dapo.steps` steps (or resume).

    Args:
        settings: the run; `settings.dapo` holds every optimisation value, `settings.local` how
            the device is used.
        technique: reward (`settings.variant` of it), advantage rule and data choice.
        data: the problems to draw batches from.
        run_dir: metrics.jsonl, checkpoint/ and the final model/ go here.
        on_step: receives each step's metrics (for a progress display).
        on_status: one-line status messages.
        on_progress: steps done ("training"), and problems labelled ("labelling").
        checkpoint_every: steps between checkpoints (None: `dapo.save_every`; the last step
            always saves).

    Returns:
        Where the trained model was saved.
    """
    from mta_probe.sampling import resolve_model
    from mta_probe.sampling import HFSampler

    say = on_status or (lambda _m: None)
    dapo = settings.dapo
    variant = technique.variant(settings.variant)
    sampler = HFSampler(resolve_model(settings.model), device=settings.local.device, on_status=say)
    if needs_fixed_labels(variant.fixed_label, data.verifier):  # the initial weights label
        data = fixed_incorrect_labels(data, sampler, samples=settings.label_samples,
                                      sampling=_rollout_sampling(dapo), seed=dapo.seed,
                                      run_dir=run_dir, on_status=say,
                                      prompt_style=settings.train_prompt,
                                      on_progress=on_progress)
    policy = Policy(sampler.model, dapo, sampler.pad_id, settings.local)
    start = _resume(run_dir, policy, say)
    greedy = greedy_answers(sampler, policy, data, settings, run_dir, resumed=start > 0)
    sets = eval_sets(settings) if dapo.val_every > 0 else []
    every = checkpoint_every or dapo.save_every
    report = reporter(on_progress, "training", dapo.steps, "steps")
    report(start)
    for step in range(start + 1, dapo.steps + 1):
        began = time.perf_counter()
        batch, generated, fill = _collect(sampler, policy, technique, data, settings, step)
        stats = _update(policy, batch, technique, dapo)
        record = step_record(step, generated, batch, fill, stats, dapo.loss_agg_mode,
                             time.perf_counter() - began)
        record.update(greedy_metrics(policy, greedy))  # after the update (mta_train/greedy.py)
        if sets and (step % dapo.val_every == 0 or step == dapo.steps):
            record.update({f"val/{task}": value for task, value in validate(sampler, sets, settings).items()})
        _append(run_dir / HISTORY_FILE, history_records(step, generated))
        _append(run_dir / METRICS_FILE, [record])
        if on_step:
            on_step(record)
        if step % every == 0 or step == dapo.steps:
            policy.save(run_dir / CHECKPOINT_DIR, {"step": step})
        report(step)
    model_dir = run_dir / MODEL_DIR
    with room_for(model_dir):  # a rerun writes it again from the last checkpoint
        sampler.model.save_pretrained(model_dir)
        sampler.tokenizer.save_pretrained(model_dir)
    return LocalRun(model_dir=model_dir, steps=dapo.steps, resumed_from=start)


def history_records(step: int, generated: list[RolloutGroup]) -> list[dict[str, Any]]:
    """One accuracy record per problem of the step: a problem drawn twice (one-shot fills a
    batch with its example) is one record over all its rollouts, not two that overwrite."""
    correct: dict[str, list[float]] = {}
    for group in generated:
        correct.setdefault(group.problem.id, []).extend(r.acc for r in group.rewards)
    return [{"problem_id": pid, "epoch": step, "accuracy": sum(accs) / len(accs)}
            for pid, accs in correct.items()]


def _rollout_sampling(dapo: DapoSettings) -> SamplingSettings:
    return SamplingSettings(temperature=dapo.temperature, top_p=dapo.top_p,
                            max_tokens=dapo.max_response_length)


def _resume(run_dir: Path, policy: Policy, say: Callable[[str], None]) -> int:
    """Load the last checkpoint and cut the records of steps after it (written again next);
    returns its step."""
    folder = run_dir / CHECKPOINT_DIR
    Policy.recover(folder)
    step = 0
    if (folder / "state.json").exists():
        step = int(policy.load(folder)["step"])
        say(f"resuming {run_dir} after step {step}")
    for name, key in ((METRICS_FILE, "step"), (HISTORY_FILE, "epoch")):
        cut_records(run_dir / name, lambda record, key=key: int(record[key]) <= step)
    return step


def _append(path: Path, records: list[dict[str, Any]]) -> None:
    with RecordWriter(path) as out:  # whole lines only, a full disk one DiskFullError
        out.append(records)


def _collect(sampler: Any, policy: Policy, technique: Technique, data: TrainingSet,
             settings: TrainSettings, step: int) -> tuple[list[RolloutGroup], list[RolloutGroup],
                                                          str | None]:
    """Steps 1 to 3 of the module docstring: the training batch, everything generated, and
    which fallback filled the batch (None when none was needed)."""
    dapo = settings.dapo
    kept: list[RolloutGroup] = []
    generated: list[RolloutGroup] = []
    last: list[RolloutGroup] = []
    for attempt in range(dapo.max_num_gen_batches):
        index = (step - 1) * dapo.max_num_gen_batches + attempt
        problems = prompt_batch(data.problems, index, dapo.batch_size, dapo.seed)
        seeds = [_seed(dapo.seed, step, attempt, i) for i in range(len(problems))]
        sampled = _sample(sampler, data.verifier, problems, settings, seeds)
        last = [_rollouts(sampler, policy, technique, data.verifier, p, settings, seed, done)
                for p, seed, done in zip(problems, seeds, sampled)]
        generated += last
        if not dapo.dynamic_sampling:
            return last, generated, None
        kept += [g for g in last if has_signal(g.scores)]
        if len(kept) >= dapo.batch_size:
            break
    batch, fallback = fill_batch(kept, last, dapo.batch_size)
    return batch, generated, fallback


def _sample(sampler: Any, verifier: str, problems: list[Problem], settings: TrainSettings,
            seeds: list[int]) -> list[list[Any]]:
    """Each problem's `group_size` completions, drawn through `draw` (the hf backend's CPU
    engine decodes several problems at once; a problem's completions depend on its own seed
    only, so the grouping does not change them)."""
    dapo = settings.dapo
    prompts = [training_prompt(problem, verifier, settings.train_prompt) for problem in problems]
    for problem, prompt in zip(problems, prompts):
        length = len(sampler.encode(prompt))
        if length > dapo.max_prompt_length:
            raise BadInputError(f"problem {problem.id}: prompt of {length} tokens exceeds "
                                f"max_prompt_length {dapo.max_prompt_length}")
    out: dict[int, list[Any]] = dict(draw(sampler, prompts, dapo.group_size, _rollout_sampling(dapo), seeds))
    return [out[index] for index in range(len(prompts))]


def _rollouts(sampler: Any, policy: Policy, technique: Technique, verifier: str,
              problem: Problem, settings: TrainSettings, seed: int,
              completions: list[Any]) -> RolloutGroup:
    prompt_ids = tuple(sampler.encode(training_prompt(problem, verifier, settings.train_prompt)))
    sequences = [Sequence(prompt_ids, c.token_ids or (sampler.pad_id,)) for c in completions]
    logprobs, entropies = policy.score(sequences)
    mean_logprobs = tuple(float(lp.mean()) for lp in logprobs)
    group = Group(problem=problem, verifier=verifier, texts=tuple(c.text for c in completions),
                  seed=seed, mean_logprobs=mean_logprobs if technique.needs_logprobs else None,
                  require_format=settings.require_format)
    rewards = technique.variant(settings.variant).reward(group)
    return RolloutGroup(problem, sequences, rewards, logprobs, entropies)


def _seed(run_seed: int, step: int, attempt: int, prompt_index: int) -> int:
    return zlib.crc32(f"{run_seed}:{step}:{attempt}:{prompt_index}".encode())


def _update(policy: Policy, batch: list[RolloutGroup], technique: Technique,
            dapo: Any) -> dict[str, float]:
    """Step 4: advantages per group (masked for NSR/PSR), then the clipped update.

    A group repeated by the fallback is normalized together with its copies, as verl does
    (the copies share the prompt's uid there).
    """
    copies = Counter(id(group) for group in batch)
    sequences, old, advantages = [], [], []
    for group in batch:
        pooled = group_advantages(group.scores * copies[id(group)])[:len(group.scores)]
        sequences += group.sequences
        old += group.logprobs
        advantages += masked_advantages(pooled, group.scores, technique.keeps)
    return policy.update(sequences, old, advantages, dapo.mini_batch_size * dapo.group_size)
