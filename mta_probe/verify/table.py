"""Judging one completion against one problem: the table of verifiers.

Every verifier is a top-level function `(completion, problem) -> Verdict`, so the table can be
pickled to the worker processes of `mta_probe.verify.pool.VerifierPool`. A task names its verifier by
key. `verify_one` runs one in-process, without the pool's hard timeout.

Extraction (see `mta_probe.verify.answers`): the first `<answer>` block, else the last `\\boxed{}`,
else the text after a final "answer is". "math-lenient" and "gym-lenient" also fall back to the
last number in the text, as lm-eval's flexible extraction does. That fallback is off by default:
a weak model that rambles hits small numeric answers by luck (the embedded 135M model reached
pass@16 = 0.70 on one-digit sums that way, with no explicit answer in any correct sample).
"""

from __future__ import annotations

from collections.abc import Callable

from mta_probe.errors import BadInputError
from mta_probe.tasks import VERIFIER_NAMES, Problem
from mta_probe.verify.bigbench import verify_bbeh, verify_bbh
from mta_probe.verify.coding import verify_code, verify_code_io
from mta_probe.verify.competition_math import verify_math, verify_math_lenient
from mta_probe.verify.gym import verify_gym, verify_gym_lenient
from mta_probe.verify.kor import verify_kor
from mta_probe.verify.rules import judge
from mta_probe.verify.synlogic import verify_synlogic
from mta_probe.verify.text import verify_choice, verify_exact, verify_normalized
from mta_probe.verify.verdict import Verdict

VERIFIERS: dict[str, Callable[[str, Problem], Verdict]] = {
    "math": verify_math,
    "math-lenient": verify_math_lenient,
    "exact": verify_exact,
    "normalized": verify_normalized,
    "choice": verify_choice,
    "kor": verify_kor,
    "gym": verify_gym,
    "gym-lenient": verify_gym_lenient,
    "code": verify_code,
    "code-io": verify_code_io,
    "bbh": verify_bbh,
    "bbeh": verify_bbeh,
    "synlogic": verify_synlogic,
}
# The task layer refuses names outside VERIFIER_NAMES; the two lists must be one.
assert tuple(VERIFIERS) == VERIFIER_NAMES, "mta_probe.tasks.options.VERIFIER_NAMES is out of date"


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
    if verifier not in VERIFIERS:
        raise BadInputError(f"unknown verifier {verifier!r}; known: {', '.join(VERIFIERS)}")
    return judge(VERIFIERS[verifier], completion, problem)
