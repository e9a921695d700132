"""A tiny randomly initialised Llama with a word-level tokenizer, for tests and benchmarks.

Two layers, hidden size 32, a vocabulary of a few dozen words: it loads and samples in well
under a second on a CPU, and decoding joins words with spaces, so re-encoding a completion gives
back the same ids (tests can check token counts against text exactly). Nothing here downloads.
"""

from __future__ import annotations

from pathlib import Path

TINY_WORDS = (
    "the a one two three four five six seven eight nine zero plus minus equals answer is "
    "what sum of and so think User Assistant : ? . ,"
).split()
TINY_CHAT_TEMPLATE = (
    "{% for m in messages %}{{ 'User' if m['role'] == 'user' else 'Assistant' }} : "
    "{{ m['content'] }} {% endfor %}{% if add_generation_prompt %}Assistant : {% endif %}"
)


def build_tiny_tokenizer():
    """A word-level tokenizer: `[UNK]`, the words above, and `</s>` as EOS (and pad)."""
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    vocab = {"[UNK]": 0, "</s>": 1}
    for word in TINY_WORDS:
        vocab.setdefault(word, len(vocab))
    core = Tokenizer(models.WordLevel(vocab=vocab, unk_token="[UNK]"))
    core.pre_tokenizer = pre_tokenizers.Split(" ", behavior="removed")
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=core, eos_token="</s>", pad_token="</s>")
    tokenizer.chat_template = TINY_CHAT_TEMPLATE
    return tokenizer


def save_tiny_llama(folder: Path, *, seed: int = 0) -> Path:
    """Save the tiny model and its tokenizer to `folder` (a checkpoint `--model` accepts)."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    tokenizer = build_tiny_tokenizer()
    config = LlamaConfig(
        vocab_size=len(tokenizer), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
        num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=256,
        bos_token_id=None, eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id,
        # Wide init so the next-token distribution is far from uniform and greedy decoding has
        # clear argmaxes.
        initializer_range=0.5,
    )
    torch.manual_seed(seed)
    LlamaForCausalLM(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder
