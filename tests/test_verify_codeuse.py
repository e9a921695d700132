"""The code-usage rule of Tables 8 and 9, as a table."""

from __future__ import annotations

import pytest

from mta_probe.verify import code_usage, uses_code


@pytest.mark.parametrize("completion, expected", [
    # tagged fences count whatever they hold
    ("Let me compute.\n```python\nprint(sum(range(10)))\n```\nSo 45.", True),
    ("```py\nx = 3\n```", True),
    ("```cpp\nint main() { return 0; }\n```", True),
    # untagged fences count when a line looks like code
    ("```\nfor i in range(3):\n    total += i\n```", True),
    ("```\nresult = compute(4)\n```", True),
    ("```\n3 + 4 = 7\n```", False),                       # arithmetic in a fence
    ("```text\nThe answer is 7.\n```", False),            # a prose fence
    # unfenced: two code-looking lines, not one
    ("def f(x):\n    return x * 2\nprint(f(3))", True),
    ("import math\nprint(math.sqrt(2))", True),
    ("for each item in the list:\nwe add it.", False),    # one colon line of prose
    # algebra and LaTeX are not code
    ("x = 5\ny = x + 3\nSo y = 8.", False),
    ("We have $\\frac{1}{2} + \\frac{1}{3} = \\frac{5}{6}$.", False),
    ("<think>2 + 2 = 4</think><answer>4</answer>", False),
    ("", False),
    # an unclosed fence (cut at max_tokens) still counts
    ("Let me write code:\n```python\nimport itertools\nfor p in itertools", True),
])
def test_uses_code_table(completion: str, expected: bool) -> None:
    assert uses_code(completion) is expected


def test_code_usage_is_a_share() -> None:
    assert code_usage(["```python\nprint(1)\n```", "no code", "also none", "```py\nx=1\n```"]) == 0.5
    assert code_usage([]) is None
