"""The two rules every verifier obeys, applied in one place (`judge`) around every verifier.

1. **Only the answer given to this problem counts.** A model without a chat template does not
   stop when it has answered: it writes the next item of an imagined exam and answers that too
   (`\\boxed{5}.\\n\\nProblem: ... \\boxed{4}`, `[[B]]\\n\\n### Question: ... [[C]]`), or echoes the
   prompt's instruction (`... within \\boxed{}.`). `answer_region` cuts the completion at the first
   continuation that follows some text: a line starting with a marker of
   `CONTINUATION_MARKERS` below ("Problem:", "Question:", "### Question",
   "Q:"), or a repeat of the prompt's first or last line when that line is template text (not
   part of the problem statement, at least 16 characters). A continuation at the very start is
   not cut: nothing was answered before it. A verifier whose record says `cuts_own_continuation` is handed
   the whole completion and applies this rule itself: for a benchmark whose reading of the answer
   depends on what follows it (KOR reads `[...]` only when no `[[...]]` appears anywhere in the
   text, so `[-]` followed by a continuation holding `[[output]]` is not KOR's answer `-`).
2. **An empty answer is never correct**, whatever the verifier and the gold: `<answer></answer>`,
   `\\boxed{}`, `[[ ]]`, whitespace, `$ $`, LaTeX spacing. A verifier that calls such an answer
   (or no answer, None) correct is overruled with the reason "empty answer". So a correct
   Verdict always carries the answer it judged.

`verify_one` and `VerifierPool` (in-process and in its workers) both score through `judge`.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from mta_probe.problem import Problem
from mta_probe.verify.verdict import Verdict

# How a model without a chat template starts the next item of an imagined exam once it has
# answered (lm-eval stops base models at the same kind of line: "Problem:" for minerva_math,
# "Question:" for gsm8k; KOR's few-shot prompts start each item with "### Question:"). Each is
# matched at the start of a line. Four, so that the OpenAI API (at most four stop strings) takes
# them all as stop sequences.
CONTINUATION_MARKERS = ("Problem:", "Question:", "### Question", "Q:")
EMPTY_ANSWER = "empty answer"
# At the very start of a line, as a base model writes them: an indented "Q:" is a docstring's
MARKER_LINE = re.compile("^(?:" + "|".join(re.escape(m) for m in CONTINUATION_MARKERS) + ")", re.MULTILINE)
TEMPLATE_LINE_MIN = 16  # shorter lines ("### Answer:") are too common to mark a continuation
# What an answer may hold and still say nothing: spaces, math delimiters, LaTeX spacing, empty
# brace pairs, KOR's empty double brackets and the answer tags themselves. A lone brace or bracket
# is an answer (a Dyck-language completion is `}` or `] ]`).
BLANK = re.compile(r"\s+|\$|\\[ ,;:!]|\\q?quad|~|\{\s*\}|\[\[\s*\]\]|</?answer>")


def answer_region(completion: str, prompt: str, statement: str = "") -> str:
    """The completion up to the first continuation that follows some text (rule 1)."""
    starts = [m.start() for m in MARKER_LINE.finditer(completion)]
    for line in template_lines(prompt, statement):
        starts += [m.start() for m in re.finditer(re.escape(line), completion)]
    for start in sorted(starts):
        if completion[:start].strip():
            return completion[:start]
    return completion


def template_lines(prompt: str, statement: str) -> list[str]:
    """The prompt's first and last non-empty lines, when they are template text long enough to
    mark a continuation rather than part of the problem statement."""
    lines = [line.strip() for line in prompt.splitlines() if line.strip()]
    ends = dict.fromkeys(lines[:1] + lines[-1:])
    return [line for line in ends if len(line) >= TEMPLATE_LINE_MIN and line not in statement]


def is_blank(answer: str | None) -> bool:
    """True when `answer` is None or holds nothing but the characters of `BLANK`."""
    return answer is None or not BLANK.sub("", answer)


def judge(verifier: Callable[[str, Problem], Verdict], completion: str, problem: Problem, *,
          whole: bool = False) -> Verdict:
    """Score `completion` with `verifier` under both rules: the answer region only, and an empty
    answer never correct.

    Args:
        verifier: a function of the VERIFIERS table (or any with its signature).
        completion: the model's whole text.
        problem: the problem it answers.

    Returns:
        The verifier's Verdict on the answer region (on the whole completion for a verifier
        that applies rule 1 itself, `whole`: `Verifier.cuts_own_continuation`); Verdict(False, answer,
        "empty answer") when it called an empty answer correct.
    """
    region = completion if whole else answer_region(completion, problem.prompt, problem.statement)
    verdict = verifier(region, problem)
    if verdict.correct and is_blank(verdict.answer):
        return Verdict(False, verdict.answer, EMPTY_ANSWER)
    return verdict
