"""Stop strings for transformers' `generate`, read from the decoded text of each row.

transformers' own `stop_strings` precomputes how every vocabulary entry's text can overlap each
stop string, which needs every token to decode to its surface text next to a probe prefix; a
word-level vocabulary (or any tokenizer that maps the probe to an unknown token) makes it raise.
`StopOnText` instead decodes the last few new tokens of every row after each step and stops a
row once a stop string appears there. The window (the longest stop string's length plus a few
tokens) always holds a stop string that has just been completed, since every token but the
special ones decodes to at least one character; the cost is one small batch decode per step.
The sampler still cuts the returned text at the stop string (`base.cut_at_stop`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from transformers import StoppingCriteria

if TYPE_CHECKING:
    import torch

EXTRA_TOKENS = 4  # tokens that may decode to nothing (special tokens, a split UTF-8 character)


class StopOnText(StoppingCriteria):
    """Stop each row of a batch when its new text holds one of `stop`.

    Args:
        tokenizer: the model's tokenizer.
        stop: the stop strings (non-empty).
        prompt_width: how many leading positions of every row are prompt (left-padded batch).
    """

    def __init__(self, tokenizer: Any, stop: tuple[str, ...], prompt_width: int) -> None:
        self.tokenizer, self.stop, self.prompt_width = tokenizer, stop, prompt_width
        self.window = max(len(s) for s in stop) + EXTRA_TOKENS

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor, **kwargs: Any) -> torch.BoolTensor:
        import torch

        new = input_ids[:, self.prompt_width:]
        tails = self.tokenizer.batch_decode(new[:, -self.window:], skip_special_tokens=True)
        hits = [any(s in tail for s in self.stop) for tail in tails]
        return torch.tensor(hits, dtype=torch.bool, device=input_ids.device)
