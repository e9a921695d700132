"""The initial policy's greedy answers on fixed training problems, and their log-probability
under the policy as it trains.

Shao et al. ("Spurious Rewards", 2025) explain why a reward that carries no information moves a
model at all: with PPO/DAPO clipping and several mini-batch updates per batch of rollouts, the
clipped objective is biased toward samples the policy already gives high probability, so the
policy concentrates on its mode. This log makes that visible instead of assumed. Before step 1
the initial policy answers the first `GREEDY_PROBLEMS` training problems greedily (the rollouts'
prompt and length, temperature 0); the responses are kept in `greedy_answers.jsonl` (a resumed
run reads them back). After every step's update, the log-probability of each of those fixed
responses under the current policy (the sum of its token log-probs at the rollout temperature,
as the loss sees them) is averaged over the problems: `greedy_logprob`, and separately over the
problems whose greedy answer was right and wrong (`greedy_logprob_correct`,
`greedy_logprob_wrong`; None when there are none). A rising `greedy_logprob` is the policy
moving toward its initial mode; whether that raises accuracy depends on how often the mode is
right (docs/reproduction.md).

The responses are scored, never sampled again, so the log costs one forward pass over
`GREEDY_PROBLEMS` sequences a step and does not change what the run trains on (the sampler's
completions depend on their own seeds only).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mta_probe.runs import read_records, write_bytes_atomic
from mta_probe.sampling import SamplingSettings
from mta_probe.verify import verify_bounded
from mta_train.data import TrainingSet, training_prompt
from mta_train.policy import Policy, Sequence
from mta_train.reward import VERIFY_TIMEOUT
from mta_train.settings import TrainSettings

GREEDY_PROBLEMS = 20  # the first N training problems (all 20 of docs/reproduction's tasks)
GREEDY_FILE = "greedy_answers.jsonl"


@dataclass(frozen=True)
class GreedyAnswer:
    """One fixed problem's greedy response under the initial policy.

    Attributes:
        problem_id: the training problem.
        text: the decoded response.
        correct: whether the task's verifier finds it right.
        sequence: prompt and response token ids, as the policy scores them.
        logprob: the response's log-probability under the initial policy.
    """

    problem_id: str
    text: str
    correct: bool
    sequence: Sequence
    logprob: float


def greedy_answers(sampler: Any, policy: Policy, data: TrainingSet, settings: TrainSettings,
                   run_dir: Path, *, resumed: bool) -> list[GreedyAnswer]:
    """The fixed greedy answers of this run: read back, or made by the current (initial) weights.

    A run resumed without the file (begun before this log existed) gets none: its initial
    policy is gone, and the greedy answers of trained weights would be another measurement.
    """
    path = run_dir / GREEDY_FILE
    if path.exists():  # written whole (below), so never a partial line
        return [_answer(record) for record in read_records(path)]
    if resumed:
        return []
    problems = data.problems[:GREEDY_PROBLEMS]
    if not problems:
        return []
    prompts = [training_prompt(p, data.verifier, settings.train_prompt) for p in problems]
    greedy = SamplingSettings(temperature=0.0, greedy=True,
                              max_tokens=settings.dapo.max_response_length)
    completions = [row[0] for row in sampler.sample(prompts, 1, greedy, [0] * len(prompts))]
    sequences = [Sequence(tuple(sampler.encode(prompt)), c.token_ids or (sampler.pad_id,))
                 for prompt, c in zip(prompts, completions)]
    logprobs, _ = policy.score(sequences, with_entropy=False)
    verdicts = verify_bounded(data.verifier, [(c.text, p) for p, c in zip(problems, completions)], VERIFY_TIMEOUT)
    answers = [GreedyAnswer(p.id, c.text, v.correct, s, float(lp.sum()))
               for p, c, v, s, lp in zip(problems, completions, verdicts, sequences, logprobs)]
    write_bytes_atomic(path, "".join(json.dumps(_record(a), ensure_ascii=False) + "\n" for a in answers).encode())
    return answers


def greedy_metrics(policy: Policy, answers: list[GreedyAnswer]) -> dict[str, float | None]:
    """Mean log-probability of the fixed greedy answers under the current policy (all, right,
    wrong); {} when the run has none."""
    if not answers:
        return {}
    logprobs, _ = policy.score([a.sequence for a in answers], with_entropy=False)
    now = [(a.correct, float(lp.sum())) for a, lp in zip(answers, logprobs)]
    return {"greedy_logprob": _mean([v for _, v in now]),
            "greedy_logprob_correct": _mean([v for right, v in now if right]),
            "greedy_logprob_wrong": _mean([v for right, v in now if not right])}


def _mean(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None


def _record(answer: GreedyAnswer) -> dict[str, Any]:
    return {"problem_id": answer.problem_id, "text": answer.text, "correct": answer.correct,
            "prompt_ids": list(answer.sequence.prompt_ids),
            "response_ids": list(answer.sequence.response_ids), "logprob": answer.logprob}


def _answer(record: dict[str, Any]) -> GreedyAnswer:
    sequence = Sequence(tuple(record["prompt_ids"]), tuple(record["response_ids"]))
    return GreedyAnswer(record["problem_id"], record["text"], bool(record["correct"]), sequence,
                        float(record["logprob"]))
