"""The decode engine's model (mta_probe.sampling.decode_model) against the transformers model it
copies: the prefill's logits, a decode step over two prompts' caches, the fallback reasons."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest
from tolerances import assert_tensors_close

from mta_probe.sampling.decode_model import DecodeModel, RowGroup, unsupported_reason


@pytest.fixture(scope="module")
def llama(tiny_llama_dir: Path):
    from transformers import AutoModelForCausalLM

    return AutoModelForCausalLM.from_pretrained(str(tiny_llama_dir)).eval()


def _reference_logits(model, ids: list[int]):
    import torch

    with torch.no_grad():
        return model(torch.tensor([ids])).logits[0].float()


def test_prefill_gives_the_models_last_logits(llama) -> None:
    import torch

    net = DecodeModel(llama, torch.float32, max_rows=8)
    ids = [5, 17, 3, 22, 8]
    net.rope_table(len(ids) + 4)
    with torch.inference_mode():
        caches, logits = net.prefill(ids, rows=3, capacity=len(ids) + 4)
    assert_tensors_close(logits[0], _reference_logits(llama, ids)[-1], rel=1e-5)
    assert len(caches) == llama.config.num_hidden_layers
    assert caches[0][0].shape[0] == 3  # one cache slot per row


def test_a_step_over_two_prompts_equals_each_prompt_run_whole(llama) -> None:
    import torch

    net = DecodeModel(llama, torch.float32, max_rows=8)
    first, second = [5, 17, 3], [9, 2, 11, 28, 7, 1]
    net.rope_table(16)
    groups = []
    with torch.inference_mode():
        for ids in (first, second):
            caches, _ = net.prefill(ids, rows=2, capacity=len(ids) + 2)
            groups.append(RowGroup(prompt=len(groups), rows=[0, 1], length=len(ids),
                                   caches=caches, slots=[0, 1]))
        # rows 0-1 continue the first prompt with tokens 4 and 6, rows 2-3 the second with 8, 8
        logits = net.step(groups, torch.tensor([4, 6, 8, 8]))
    for row, whole in enumerate([first + [4], first + [6], second + [8], second + [8]]):
        assert_tensors_close(logits[row], _reference_logits(llama, whole)[-1], rel=1e-5)


def test_models_the_loop_cannot_run_are_named() -> None:
    def fake(**config):
        layers = [SimpleNamespace(self_attn=SimpleNamespace(sliding_window=config.pop("window", None)))]
        return SimpleNamespace(config=SimpleNamespace(**config), model=SimpleNamespace(layers=layers))

    assert unsupported_reason(fake(model_type="gpt2")).startswith("model type 'gpt2'")
    assert unsupported_reason(fake(model_type="llama", hidden_act="gelu")) == "activation 'gelu'"
    assert unsupported_reason(fake(model_type="qwen2", window=4096)) == "sliding-window attention"
    assert unsupported_reason(fake(model_type="llama")) is None
