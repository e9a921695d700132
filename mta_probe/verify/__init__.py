"""Verification: is a completion's answer right? The verdict of one completion, and the pool that
scores many without letting one hang or crash the run.

The verbs: `verify_one` scores one completion in this process; `VerifierPool` scores many in
killable worker processes; `verify_bounded` does the same from any thread (training rewards);
`VERIFIERS` is the table of verifiers by name (a `Verifier` record each, `get_verifier` one by
name); `extract_answer` pulls the final answer out of a completion; `uses_code` is the
code-usage indicator of Tables 8 and 9.
Model-written programs run in `sandbox` (confined by `confinement`).
"""

from mta_probe.verify.answers import ANSWER_TAG, defines, extract_answer, extract_code, has_format, last_boxed
from mta_probe.verify.bounded import verify_bounded
from mta_probe.verify.coding import LCB_TEST_TIMEOUT
from mta_probe.verify.codeuse import code_usage, uses_code
from mta_probe.verify.pool import VerifierPool
from mta_probe.verify.rules import CONTINUATION_MARKERS
from mta_probe.verify.text import normalize_answer
from mta_probe.verify.table import VERIFIERS, Family, PromptStyle, Verifier, get_verifier, verify_one
from mta_probe.verify.verdict import NO_ANSWER, Verdict

__all__ = [
    "ANSWER_TAG",
    "LCB_TEST_TIMEOUT",
    "defines",
    "extract_code",
    "last_boxed",
    "normalize_answer",
    "CONTINUATION_MARKERS",
    "NO_ANSWER",
    "Family",
    "PromptStyle",
    "VERIFIERS",
    "Verdict",
    "Verifier",
    "VerifierPool",
    "code_usage",
    "extract_answer",
    "get_verifier",
    "has_format",
    "uses_code",
    "verify_bounded",
    "verify_one",
]
