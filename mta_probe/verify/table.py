"""Judging one completion against one problem: the table of verifiers, one record each.

Every verifier is a top-level function `(completion, problem) -> Verdict`, so the table can be
pickled to the worker processes of `mta_probe.verify.pool.VerifierPool`. A task names its verifier by
key. `verify_one` runs one in-process, without the pool's hard timeout.

A `Verifier` record is everything the rest of mta needs to know about a verifier: the tasks layer
reads `prompt` (how a JSONL question is put to the model), the train side reads `family`
(verl's `ability`, the think/answer training prompt, what a vote counts) and `reads_metadata`,
the probes read `lenient` and `last_number`, the CLI lists the keys. A new verifier is one module
plus one row here.

Extraction (see `mta_probe.verify.answers`): the first `<answer>` block, else the last `\\boxed{}`,
else the text after a final "answer is". "math-lenient" and "gym-lenient" also fall back to the
last number in the text, as lm-eval's flexible extraction does. That fallback is off by default:
a weak model that rambles hits small numeric answers by luck (the embedded 135M model reached
pass@16 = 0.70 on one-digit sums that way, with no explicit answer in any correct sample).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from mta_probe.errors import row_of
from mta_probe.problem import Problem
from mta_probe.verify.bigbench import verify_bbeh, verify_bbh
from mta_probe.verify.coding import verify_code, verify_code_io
from mta_probe.verify.competition_math import verify_math, verify_math_lenient
from mta_probe.verify.gym import verify_gym, verify_gym_lenient
from mta_probe.verify.kor import verify_kor
from mta_probe.verify.rules import judge
from mta_probe.verify.synlogic import verify_synlogic
from mta_probe.verify.text import verify_choice, verify_exact, verify_normalized
from mta_probe.verify.verdict import Verdict

# verl's `ability` column, and what the train side does differently per family: "math" trains on
# the bare statement (the probe's prompt asks for \boxed{}) and takes Shao et al.'s fixed incorrect
# labels; "code" keeps its own prompt, its format is a fenced block and a program has no answer
# to vote for; "logic" is everything else.
Family = Literal["math", "code", "logic"]
# How a JSONL line's "question" is put to the model (mta_probe.tasks.prompts.QUESTION_TEMPLATES):
# "boxed" asks for \boxed{}, "answer-tag" for <think>/<answer>, "verbatim" sends it as it is.
PromptStyle = Literal["boxed", "answer-tag", "verbatim"]


@dataclass(frozen=True)
class Verifier:
    """One row of VERIFIERS.

    Attributes:
        judge: scores one completion (a top-level function: it is pickled to worker processes).
        family: "math", "code" or "logic" (see `Family`).
        prompt: how a JSONL question is asked (see `PromptStyle`).
        lenient: the key of this verifier's lenient twin (`--lenient`), if it has one.
        last_number: this verifier takes the last number in the text when no answer is marked
            (passk.json then counts the correct samples that had no explicit answer).
        reads_metadata: the verifier reads the true answer from `problem.meta`, not `gold`, so a
            pseudo-label (a majority vote) cannot be put in its place.
        cuts_own_continuation: the verifier is handed the whole completion and applies rule 1
            of `mta_probe.verify.rules` itself, because the benchmark's reading of the answer
            depends on the text that follows it (KOR).
    """

    judge: Callable[[str, Problem], Verdict]
    family: Family = "logic"
    prompt: PromptStyle = "answer-tag"
    lenient: str | None = None
    last_number: bool = False
    reads_metadata: bool = False
    cuts_own_continuation: bool = False

    def score(self, completion: str, problem: Problem) -> Verdict:
        """Judge `completion` under the rules of `mta_probe.verify.rules` (no hard timeout)."""
        return judge(self.judge, completion, problem, whole=self.cuts_own_continuation)


VERIFIERS: dict[str, Verifier] = {
    "math": Verifier(verify_math, family="math", prompt="boxed", lenient="math-lenient"),
    "math-lenient": Verifier(verify_math_lenient, family="math", prompt="boxed", last_number=True),
    "exact": Verifier(verify_exact),
    "normalized": Verifier(verify_normalized),
    "choice": Verifier(verify_choice),
    "kor": Verifier(verify_kor, cuts_own_continuation=True),
    "gym": Verifier(verify_gym, lenient="gym-lenient", reads_metadata=True),
    "gym-lenient": Verifier(verify_gym_lenient, last_number=True, reads_metadata=True),
    "code": Verifier(verify_code, family="code", prompt="verbatim"),
    "code-io": Verifier(verify_code_io, family="code", prompt="verbatim"),
    "bbh": Verifier(verify_bbh),
    "bbeh": Verifier(verify_bbeh),
    "synlogic": Verifier(verify_synlogic),
}


def get_verifier(name: str) -> Verifier:
    """The row of VERIFIERS called `name`.

    Raises:
        BadInputError: no such verifier (the message lists the known ones).
    """
    return row_of(VERIFIERS, name, "verifier")


def verify_one(verifier: str, completion: str, problem: Problem) -> Verdict:
    """Score one completion in this process (no hard timeout; see VerifierPool for that), under
    the rules of `mta_probe.verify.rules` (the answer to this problem only; never an empty one).

    Args:
        verifier: a key of VERIFIERS.
        completion: the model's text.
        problem: the problem it answers.

    Returns:
        The Verdict.

    Raises:
        BadInputError: unknown verifier name.
    """
    return get_verifier(verifier).score(completion, problem)
