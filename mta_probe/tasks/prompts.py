"""The zero-shot prompt templates of every task, in one place.

The paper evaluates every task zero-shot (Section 3, following SynLogic). A prompt is the published
problem text plus one instruction that says where the final answer goes; nothing else, no examples.
Each template is a `str.format` pattern; the values substituted into it are never re-parsed, so
braces inside a problem are safe.

Conventions:
- Math asks for `\\boxed{}`: math-verify extracts boxed answers first, and base models have seen
  this instruction in pretraining (it is the Qwen2.5-Math / DeepSeek-R1 evaluation prompt), so the
  probe measures math ability rather than obedience to a tag format.
- Logic and reasoning-gym ask for `<think>...</think><answer>...</answer>`, the format the paper
  trains and scores with (Appendix B, the SynLogic format); the verifiers read the first `<answer>`.
- KOR-Bench uses KOR's own zero-shot template (rule, question, "### Answer:"); its questions
  already ask for the answer in `[[ ]]`, which the "kor" verifier extracts.
- Code asks for a fenced Python block (HumanEval), or uses LiveCodeBench's own instructions.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # an annotation only: these templates need nothing of the verifiers at run time
    from mta_probe.verify import PromptStyle

MATH_TEMPLATE = "{problem}\n\nPlease reason step by step, and put your final answer within \\boxed{{}}."

ANSWER_TAG_TEMPLATE = (
    "{question}\n\n"
    "First think about the reasoning process, then give the final answer. Enclose the reasoning "
    "in <think> </think> and the final answer in <answer> </answer>, i.e. "
    "<think> reasoning process here </think> <answer> final answer here </answer>."
)

# How a JSONL line's "question" is put to the model, by its verifier's prompt style.
QUESTION_TEMPLATES: dict[PromptStyle, str] = {
    "boxed": MATH_TEMPLATE.replace("{problem}", "{question}"),
    "answer-tag": ANSWER_TAG_TEMPLATE,
    "verbatim": "{question}",
}

HUMANEVAL_TEMPLATE = (
    "Complete the following Python function. Reply with the complete function (signature, "
    "docstring and body) in a single ```python code block.\n\n```python\n{code_prompt}```"
)

# LiveCodeBench's code-generation prompt, as lighteval and the LiveCodeBench runner word it.
LIVECODEBENCH_STARTER_TEMPLATE = (
    "You will be given a question (problem specification) and will generate a correct Python "
    "program that matches the specification and passes all tests.\n\n"
    "Question: {question}\n\n"
    "You will use the following starter code to write the solution to the problem and enclose "
    "your code within delimiters.\n```python\n{starter_code}\n```\n\n"
)
LIVECODEBENCH_STDIN_TEMPLATE = (
    "You will be given a question (problem specification) and will generate a correct Python "
    "program that matches the specification and passes all tests.\n\n"
    "Question: {question}\n\n"
    "Read the inputs from stdin solve the problem and write the answer to stdout (do not directly "
    "test on the sample inputs). Enclose your code within delimiters as follows. Ensure that when "
    "the python program runs, it reads the inputs, runs the algorithm and writes output to "
    "STDOUT.\n```python\n# YOUR CODE HERE\n```\n\n"
)

# KOR-Bench's zero-shot templates (its config/prompt/zero-shot.yaml, `<category>_prompt_format`),
# with the two positional slots named.
KOR_TEMPLATES: dict[str, str] = {
    "cipher": (
        "You are an intelligent assistant that specializes in encryption and decryption tasks. "
        "Below are the rules for a specific cipher. When responding, please ensure that your output "
        "adheres to the specified encryption and decryption rules and format.\n\n"
        "### Instructions:\n\n"
        "1. Identify the relevant properties and objects specified in the rule, including the "
        "plaintext, keyword, and ciphertext.\n"
        "2. Follow the specified encryption or decryption operations precisely as described in the "
        "rules.\n"
        "3. Ensure your output is formatted according to the specified notation and symbols.\n\n"
        "### Cipher Rule:\n\n{rule}\n\n### Question:\n{question}\n\n### Answer:\n"
    ),
    "counterfactual": (
        "You are an advanced assistant with expertise in storytelling and rule-based reasoning. "
        "Your task is to carefully analyze the provided story, which includes specific rules and "
        "details, and use this information to accurately answer related questions.\n\n"
        "### Instructions:\n\n"
        "1. Thoroughly review the story to identify and understand the relevant details and rules.\n"
        "2. Use the context provided by the story to offer precise and insightful answers.\n"
        "3. Ensure your responses align with the rules and information given in the story.\n\n"
        "### Story Rule:\n\n{rule}\n\n### Question:\n{question}\n\n### Answer:\n"
    ),
    "logic": (
        "You are an intelligent assistant that helps with various logical reasoning tasks. Below is "
        "a custom-defined rule for a specific type of logic. When responding, please ensure that "
        "your output adheres to the specified logical rules and format.\n\n"
        "### Instructions:\n\n"
        "1. Identify the relevant properties and objects as specified in the rule.\n"
        "2. Apply the given logical operations or reasoning patterns.\n"
        "3. Ensure your output is formatted according to the specified notation and symbols.\n\n"
        "### Logic Rule:\n\n{rule}\n\n### Question:\n{question}\n\n### Answer:\n"
    ),
    "operation": (
        "You are an intelligent assistant specializing in evaluating custom operations. Below is a "
        "specific rule defined for a custom operation. Your task is to apply this rule accurately "
        "to the provided question.\n\n"
        "### Instructions:\n\n"
        "1. Carefully read and understand the definitions of the new operations in the rule.\n"
        "2. If the question does not specifically ask for it, your answer should be a number or a "
        "group of numbers.\n"
        "3. Double-check your final answer to ensure it follows the rule accurately.\n\n"
        "### Operation Rule:\n\n{rule}\n\n### Question:\n{question}\n\n### Answer:\n"
    ),
    "puzzle": (
        "You are an intelligent assistant specializing in solving custom puzzle problems. Below is "
        "a specific rule defined for a custom puzzle. Your task is to apply this rule accurately to "
        "the provided question.\n\n"
        "### Instructions:\n\n"
        "1. Thoroughly understand the rule provided. If needed, break down the rule into simpler "
        "components or steps.\n"
        "2. Apply the rule carefully to address the question presented.\n"
        "3. Verify your answer to ensure it aligns with the rule and the context of the puzzle.\n\n"
        "### Puzzle Rule:\n\n{rule}\n\n### Question:\n{question}\n\n### Answer:\n"
    ),
}
