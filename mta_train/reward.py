"""What a group of rollouts earns: the pieces every technique's reward is built from.

The paper's reward is correctness AND format (Appendix B): the completion must have the SynLogic
shape `<think>...</think><answer>...</answer>` and the text of the first `<answer>` must be
correct. mta checks the format with a DOTALL pattern (the paper's code lacked DOTALL, so any
multi-line `<think>` scored 0: defect 4 in docs/train.md) and correctness with mta_probe's
verifiers (math-verify for math, where the paper's code compared strings).

Code tasks have no `<answer>` block: their "format" is a fenced Python block defining the entry
point, the shape HumanEval's prompt asks for.

Validation scores correctness only (`Reward.acc`), never the format; its protocol is
mta_train/evaluation.py. Majority votes (vote, TTRL, Shao et al.'s labels) are
mta_train/majority.py.

Every verification of a reward runs in a killable worker process (`verify_bounded`), on both
backends: verl calls rewards from executor threads, where math-verify cannot time itself out and
an answer such as `9^{9^{9^{9}}}` held its thread (and the GIL) forever. A verification past
`Group.verify_timeout` seconds is wrong, and training goes on.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from mta_probe.tasks import Problem
from mta_probe.verify import Verdict, defines, extract_code, get_verifier, has_format, verify_bounded

VERIFY_TIMEOUT = 10.0  # seconds per verification, as the probes (PassKSettings.verify_timeout)


@dataclass(frozen=True)
class Group:
    """The rollouts of one prompt, as a reward sees them.

    Attributes:
        problem: the prompt's problem; `problem.gold` is the label (techniques that must not
            see labels, such as vote, TTRL and EM, never read it for their score).
        verifier: a key of mta_probe.verify.VERIFIERS.
        texts: the decoded responses, in sampling order.
        seed: seeds anything random in the reward (the random technique), so a resumed or
            re-run step gets the same rewards.
        mean_logprobs: per response, the mean token log-probability under the sampling
            policy; only entropy minimization needs it (None elsewhere).
        require_format: the paper's reward needs the format AND the answer; False drops the
            format half (for models that never produce the tags; not the paper's setting).
        verify_timeout: seconds one verification may take before its worker process is killed
            (the response is then judged wrong).
    """

    problem: Problem
    verifier: str
    texts: tuple[str, ...]
    seed: int = 0
    mean_logprobs: tuple[float, ...] | None = None
    require_format: bool = True
    verify_timeout: float = VERIFY_TIMEOUT


@dataclass(frozen=True)
class Reward:
    """What one rollout earned.

    Attributes:
        score: the training reward (verl's "score").
        acc: 1.0 when the answer is correct against the true label, else 0.0; logged and used
            for validation, never trained on (except by techniques whose score equals it).
        format: 1.0 when the response has the required shape.
        extra: group statistics a technique logs beside the reward (the vote's
            `majority_ratio` and `label_accuracy`), the same value on every response of a group,
            so a mean over responses is a mean over groups; verl logs them as reward_extra_info.
    """

    score: float
    acc: float
    format: float
    extra: Mapping[str, float] = field(default_factory=dict)


def format_ok(text: str, problem: Problem, verifier: str) -> bool:
    """The format half of the paper's reward (see the module docstring for code tasks)."""
    if get_verifier(verifier).family == "code":
        entry = problem.meta.get("entry_point")
        code = extract_code(text, entry)
        return code is not None and (entry is None or defines(code, entry))
    return has_format(text)


def is_correct(text: str, problem: Problem, verifier: str,
               timeout: float = VERIFY_TIMEOUT) -> bool:
    """Correctness against `problem.gold` by the task's verifier (format not required), judged
    in a worker process killed after `timeout` seconds (wrong then)."""
    return verify_bounded(verifier, [(text, problem)], timeout)[0].correct


def verdicts(group: Group) -> list[Verdict]:
    """The task verifier's verdict on every response against the true label, once each."""
    return verify_bounded(group.verifier, [(text, group.problem) for text in group.texts],
                          group.verify_timeout)


def graded(group: Group, scores: list[float], *, acc: list[bool] | None = None,
           extra: Mapping[str, float] | None = None) -> list[Reward]:
    """Pair technique scores with the true correctness and format of each response.

    Args:
        group: the responses.
        scores: the technique's reward of each.
        acc: their correctness when the technique already verified them (verifying can mean a
            math-verify worker or a sandboxed program run per response: do it once).
        extra: group statistics to log with every response (Reward.extra).
    """
    problem, verifier = group.problem, group.verifier
    if acc is None:
        acc = [verdict.correct for verdict in verdicts(group)]
    return [
        Reward(score=float(score), acc=float(correct),
               format=float(format_ok(text, problem, verifier)), extra=dict(extra or {}))
        for text, score, correct in zip(group.texts, scores, acc, strict=True)
    ]


def ground_truth(group: Group) -> list[Reward]:
    """The paper's reward: 1 for a correct answer in the required format, else 0."""
    acc = [verdict.correct for verdict in verdicts(group)]
    return graded(group, [float(correct and formatted(group, text))
                          for text, correct in zip(group.texts, acc, strict=True)], acc=acc)


def formatted(group: Group, text: str) -> bool:
    """The format condition of a reward: `format_ok`, or always true when not required."""
    return not group.require_format or format_ok(text, group.problem, group.verifier)
