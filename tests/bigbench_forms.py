"""BBH and BBEH answers written the ways models write them, and the official scorers to judge them.

Shared by tests/test_verify_bigbench.py and bench/bigbench_agreement.py. The official scorers are
loaded from the user's copies at run time, never copied here:

- BBEH: `bbeh/evaluate.py` of a clone of github.com/google-deepmind/bbeh (`MTA_BBEH_CLONE`);
- BBH, SynLogic's per-subset verifiers: `task2verifier.py` of a SynLogic clone (the one in
  shared/benchmarks/synlogic, or `MTA_SYNLOGIC_CLONE`);
- BBH, its paper's metric: the text after "So the answer is " (or the whole output of a direct
  prompt) equals the target. BBH publishes no code for it; `bbh_paper_metric` reproduces the
  accuracies published with its Codex outputs in all 27 subsets, CoT and direct (checked by
  test_bbh_paper_metric_reproduces_published_codex_accuracy with `MTA_BBH_CLONE`).
"""

from __future__ import annotations

import ast
import contextlib
import importlib
import importlib.util
import io
import os
import re
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

from mta_probe.tasks import Problem

THINK = "<think>Let me work through this step by step.</think>\n"
OPTION = re.compile(r"^\(([A-Z])\)\s?(.*)$", re.MULTILINE)

# ---------------------------------------------------------------------------------------------
# Official scorers


def env_clone(variable: str) -> Path | None:
    """The folder an environment variable names, or None when unset or empty."""
    value = os.environ.get(variable, "").strip()
    return Path(value) if value else None


def load_bbeh_evaluate(clone: Path) -> ModuleType:
    """BBEH's evaluate.py from a clone (or its `bbeh/` folder); its example prints are silenced."""
    path = next((p for p in (clone / "bbeh" / "evaluate.py", clone / "evaluate.py") if p.is_file()),
                None)
    if path is None:
        raise FileNotFoundError(f"no bbeh/evaluate.py under {clone}")
    spec = importlib.util.spec_from_file_location("bbeh_official_evaluate", path)
    module = importlib.util.module_from_spec(spec)
    with contextlib.redirect_stdout(io.StringIO()):
        spec.loader.exec_module(module)
    return module


def load_synlogic_bbh(clone: Path) -> tuple[dict[str, Any], type]:
    """SynLogic's BBH verifiers by subset, as `bbh_classes` in the clone's task2verifier.py maps
    them, and its `Data` class. Only the modules that mapping names are imported (task2verifier
    itself imports all 87 verifiers)."""
    tree = ast.parse((clone / "task2verifier.py").read_text(encoding="utf-8"))
    modules = {alias.asname or alias.name: node.module for node in ast.walk(tree)
               if isinstance(node, ast.ImportFrom) for alias in node.names}
    mapping = next(node.value for node in ast.walk(tree) if isinstance(node, ast.Assign)
                   and any(getattr(t, "id", None) == "bbh_classes" for t in node.targets))
    if str(clone) not in sys.path:
        sys.path.insert(0, str(clone))
    verifiers = {}
    for key, value in zip(mapping.keys, mapping.values):
        module = importlib.import_module(modules[value.id])
        verifiers[key.value.removeprefix("bbh_")] = getattr(module, value.id)()
    return verifiers, importlib.import_module("base.data").Data


def bbh_paper_metric(completion: str, target: str) -> bool:
    """BBH's metric: the text after the last "So the answer is " (the whole text when there is
    none, as for direct prompts), stripped, one final period dropped, equals the target."""
    answer = completion.split("So the answer is ")[-1].strip()
    return answer.removesuffix(".") == target


def synlogic_bbh_verdict(verifiers: dict[str, Any], data_class: type, completion: str,
                         problem: Problem) -> bool:
    """SynLogic's verifier of the problem's subset, given the `<answer>` content as the Mirage
    paper's reward does (`syn_logic_reward.py`), or the whole completion when there is none."""
    tagged = re.search(r"<answer>(.*?)</answer>", completion, re.DOTALL)
    answer = tagged.group(1) if tagged else completion
    data = data_class(question=problem.statement, answer=problem.gold)
    return bool(verifiers[problem.meta["subset"]].verify(data, answer))


# ---------------------------------------------------------------------------------------------
# BBH answer forms

# Forms of the right answer both official scorers may reject but mta accepts on purpose (see
# docs/verifiers.md): a bare option letter, True/False/Yes/No in another case, markdown bold,
# a final answer line without its closing period (SynLogic's pattern drops a line's last
# character). Also the three upstream items whose target is no option ("Monsters, Inc"):
# mta compares their text wherever it finds an answer, BBH's metric only after "So the answer is".
MTA_ACCEPTS = frozenset({"tag-bare-letter", "tag-lower", "tag-upper", "tag-bold", "phrase-no-period"})
# Forms that name two answers or none; SynLogic's search for the first match accepts some.
MTA_REJECTS = frozenset({"tag-hedge", "tag-hedge-reversed", "none-of-the-above"})


def bbh_forms(problem: Problem) -> list[tuple[str, str, bool]]:
    """(family, completion, names the right answer) for one BBH item: the right answer in every
    common form, a wrong answer in the same forms, and answers that are no answer."""
    subset, gold = problem.meta["subset"], problem.gold
    right = _common_forms(gold) | _kind_forms(problem)
    wrong = {f"{family}-other": text for family, text in _common_forms(_other_answer(problem)).items()
             if family in ("cot", "direct", "tag", "phrase")}
    wrong.update({"think-only": THINK.strip(), "tag-empty": f"{THINK}<answer></answer>",
                  "tag-blank": f"{THINK}<answer> </answer>", "no-answer": "I am not sure."})
    wrong.update(_kind_wrong_forms(problem, subset))
    return ([(family, text, True) for family, text in right.items()]
            + [(family, text, False) for family, text in wrong.items()])


def _common_forms(answer: str) -> dict[str, str]:
    """One answer in the forms every subset shares: BBH's CoT and direct outputs, mta's tags."""
    return {"cot": f"Let's think step by step.\nSo the answer is {answer}.", "direct": answer,
            "tag": f"{THINK}<answer>{answer}</answer>",
            "tag-phrase": f"{THINK}<answer>So the answer is {answer}.</answer>",
            "phrase": f"Reasoning first.\nThe answer is {answer}.",
            "phrase-no-period": f"Reasoning first.\nThe answer is {answer}",
            "tag-bold": f"{THINK}<answer>**{answer}**</answer>"}


def _options(problem: Problem) -> dict[str, str]:
    return {f"({letter})": text for letter, text in OPTION.findall(problem.statement)}


def _kind_forms(problem: Problem) -> dict[str, str]:
    """Right-answer forms particular to the subset's kind of answer."""
    subset, gold = problem.meta["subset"], problem.gold
    options = _options(problem)
    if gold in options:
        return {"tag-option-text": f"{THINK}<answer>{gold} {options[gold]}</answer>",
                "cot-option-text": f"So the answer is {gold} {options[gold]}.",
                "tag-bare-letter": f"{THINK}<answer>{gold[1]}</answer>"}
    if gold in ("True", "False", "Yes", "No", "yes", "no", "valid", "invalid"):
        forms = {"tag-lower": f"{THINK}<answer>{gold.lower()}</answer>",
                 "tag-upper": f"{THINK}<answer>{gold.upper()}</answer>",
                 "tag-capital": f"{THINK}<answer>{gold.capitalize()}</answer>"}
        if subset == "sports_understanding":
            phrase = "plausible" if gold == "yes" else "not plausible"
            forms["tag-plausible"] = f"{THINK}<answer>The sentence is {phrase}.</answer>"
        if subset == "web_of_lies":
            phrase = "tells the truth" if gold == "Yes" else "does not tell the truth"
            forms["tag-truth"] = f"{THINK}<answer>So the person {phrase}.</answer>"
        return forms
    if re.fullmatch(r"-?\d+", gold):
        return {"tag-decimal": f"{THINK}<answer>{gold}.0</answer>"}
    if subset == "word_sorting":
        return {"tag-commas": f"{THINK}<answer>{', '.join(gold.split())}</answer>"}
    return {}


def _kind_wrong_forms(problem: Problem, subset: str) -> dict[str, str]:
    """Forms both official scorers reject (or should): option text alone, hedges, `1,234`."""
    gold = problem.gold
    options = _options(problem)
    forms = {}
    if gold in options:
        other = _other_answer(problem)
        forms["tag-option-text-only"] = f"{THINK}<answer>{options[gold]}</answer>"
        forms["tag-hedge"] = f"{THINK}<answer>{gold} or {other}</answer>"
        forms["tag-hedge-reversed"] = f"{THINK}<answer>{other} or {gold}</answer>"
        forms["none-of-the-above"] = (f"Option {gold} is not it.\nSo the answer is "
                                      "(None of the above).")
    if re.fullmatch(r"-?\d{4,}", gold):
        forms["tag-thousands"] = f"{THINK}<answer>{int(gold):,}</answer>"
    if subset == "dyck_languages" and len(gold.split()) > 1:
        forms["tag-no-spaces"] = f"{THINK}<answer>{gold.replace(' ', '')}</answer>"
    return forms


def _other_answer(problem: Problem) -> str:
    """A wrong answer of the same kind: another option, the other value, gold + 1, a token
    dropped, two words swapped."""
    gold = problem.gold
    options = _options(problem)
    pairs = {"True": "False", "False": "True", "Yes": "No", "No": "Yes", "yes": "no", "no": "yes",
             "valid": "invalid", "invalid": "valid"}
    if gold in options:  # snarks/88 lists one option only: take the next letter then
        return next((letter for letter in options if letter != gold), f"({chr(ord(gold[1]) + 1)})")
    if gold in pairs:
        return pairs[gold]
    if re.fullmatch(r"-?\d+", gold):
        return str(int(gold) + 1)
    tokens = gold.split()
    if problem.meta["subset"] == "dyck_languages":
        return " ".join(tokens[:-1]) if len(tokens) > 1 else ("]" if gold != "]" else ")")
    return " ".join(tokens[1::-1] + tokens[2:]) if len(tokens) > 1 else gold + "s"


# ---------------------------------------------------------------------------------------------
# BBEH answer forms

# How BBEH's prompt asks models to end ("The answer is: ..."), and the variations models use.
BBEH_WRAPPERS = ("The answer is: {}", "The final answer is: {}.", "The final answer is {}",
                 "So the answer is {}.", "Ok. The answer is: **{}**\nHere's why.", "{}")
# mta's prompt form; evaluate.py judges its twin "The answer is: ...".
BBEH_TAG = THINK + "<answer>{}</answer>"


def bbeh_variants(target: str) -> dict[str, str]:
    """The target written the ways a model may write the same answer (or nearly: a variant can
    also be one the official scorer rejects, which is the point of comparing)."""
    variants = {"as-is": target, "upper": target.upper(), "lower": target.lower(),
                "commas-tight": target.replace(", ", ","), "commas-loose": target.replace(",", ", "),
                "period": target + ".", "bold": f"**{target}**", "dollars": f"${target}$",
                "boxed": f"\\boxed{{{target}}}", "text": f"\\text{{{target}}}",
                "quoted": f"'{target}'", "question": target + "?"}
    letter = re.fullmatch(r"\(([A-Za-z])\)", target)
    if letter:
        variants.update({"letter": letter.group(1), "letter-lower": letter.group(1).lower(),
                         "letter-option": f"{target} some option text"})
    if re.fullmatch(r"[A-Za-z]", target):
        variants["parenthesized"] = f"({target})"
    if re.fullmatch(r"-?\d+", target):
        variants["decimal"] = target + ".0"
    if re.fullmatch(r"-?\d+\.0", target):
        variants["integer"] = target[:-2]
    if target.startswith("[") and target.endswith("]"):
        variants["unbracketed"] = target[1:-1]
    else:
        variants["bracketed"] = f"[{target}]"
    return variants


def bbeh_forms(target: str, other: str) -> list[tuple[str, str, str]]:
    """(family, completion, what evaluate.py is given) for a target: every variant in every
    wrapper and in mta's tag, then another item's target (a wrong answer) the same ways."""
    forms = []
    for prefix, answers in (("", bbeh_variants(target)), ("other-", {"as-is": other})):
        for name, answer in answers.items():
            for number, wrapper in enumerate(BBEH_WRAPPERS):
                text = wrapper.format(answer)
                forms.append((f"{prefix}{name}/w{number}", text, text))
            forms.append((f"{prefix}{name}/tag", BBEH_TAG.format(answer), f"The answer is: {answer}"))
    forms += [("empty/tag", BBEH_TAG.format(""), "The answer is: "),
              ("no-answer", "I could not work this out.", "I could not work this out.")]
    return forms
