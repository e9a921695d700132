"""Peak memory of one local training step as the model grows, with and without the memory side of
mta_train/policy.py (response-only logits and gradient checkpointing).

    python bench/train_memory.py                       # the table of docs/train.md
    python bench/train_memory.py --hidden 128 256 --prompt 384 --response 128

Each (model size, mode) runs in its own process: a randomly initialised Llama (vocabulary 32,000,
`--layers` layers, hidden size H, MLP 2.75 H), float32 on the CPU, one group of `--group`
sequences of `--prompt` prompt and `--response` response tokens, then exactly what the local
trainer does in one step: `Policy.score` (log-probs and entropies, no gradient) and
`Policy.update` (forward, backward, one AdamW step). The process reports its peak RSS
(`getrusage(RUSAGE_SELF).ru_maxrss`) and its RSS after building the model and optimizer.

Modes: "plain" computes logits for every position at once and keeps every activation (what the
trainer did before); "mta" projects only the response positions, 1,024 tokens at a time under
checkpointing (mta_train/logprobs.py), and recomputes the decoder's activations in the backward
pass (gradient checkpointing). Everything else is equal.
The fixed cost of training is 16 bytes per parameter (float32 weights, gradients, AdamW's two
moments); the rest of the peak is activations and logits, which is what the modes change.
On the CPU there is no bfloat16 autocast (CUDA only), so none of this measures it.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
from pathlib import Path

sys.path[:0] = [str(Path(__file__).resolve().parents[1])]

VOCAB = 32_000


def one(config: dict) -> dict:
    """Build the model, run one score + update, report memory (runs in a child process)."""
    import psutil
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    import mta_train.logprobs as logprobs_module
    from mta_train.policy import Policy, Sequence
    from mta_train.settings import DapoSettings, LocalSettings

    torch.manual_seed(0)
    torch.set_num_threads(config["threads"])
    hidden = config["hidden"]
    model = LlamaForCausalLM(LlamaConfig(
        vocab_size=VOCAB, hidden_size=hidden, intermediate_size=int(2.75 * hidden),
        num_hidden_layers=config["layers"], num_attention_heads=max(1, hidden // 64),
        num_key_value_heads=max(1, hidden // 128), max_position_embeddings=4096, tie_word_embeddings=False))
    plain = config["mode"] == "plain"
    if plain:  # every position's logits at once, every activation kept: the trainer before
        logprobs_module._output_head = lambda _model: None
        logprobs_module._takes_logits_to_keep = lambda _model: False
    local = LocalSettings(micro_batch_size=config["group"], gradient_checkpointing=not plain,
                          logits_chunk=0 if plain else 1024)
    policy = Policy(model, DapoSettings.small(), pad_id=0, local=local)
    params = sum(p.numel() for p in model.parameters())
    generator = torch.Generator().manual_seed(1)
    prompt = tuple(torch.randint(1, VOCAB, (config["prompt"],), generator=generator).tolist())
    sequences = [Sequence(prompt, tuple(torch.randint(1, VOCAB, (config["response"],),
                                                      generator=generator).tolist()))
                 for _ in range(config["group"])]
    before = psutil.Process().memory_info().rss
    old, _ = policy.score(sequences)
    advantages = [1.0 if i % 2 else -1.0 for i in range(len(sequences))]
    policy.update(sequences, old, advantages, mini_batch_rows=len(sequences))
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    return {**config, "params": params, "before_step": before, "peak": peak}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hidden", type=int, nargs="+", default=[128, 256, 512, 1024])
    parser.add_argument("--layers", type=int, default=4)
    parser.add_argument("--group", type=int, default=8)
    parser.add_argument("--prompt", type=int, default=384)
    parser.add_argument("--response", type=int, default=128)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--one", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(one(json.loads(args.one))))
        return
    gib = 2.0 ** 30
    print(f"{args.group} sequences x ({args.prompt} prompt + {args.response} response) tokens, "
          f"vocabulary {VOCAB}, {args.layers} layers")
    print("| hidden | parameters | 16 B/param | mode | RSS before the step | peak RSS | step's excess over RSS before |")
    print("|---|---|---|---|---|---|---|")
    for hidden in args.hidden:
        for mode in ("plain", "mta"):
            config = {"hidden": hidden, "layers": args.layers, "group": args.group, "prompt": args.prompt,
                      "response": args.response, "threads": args.threads, "mode": mode}
            out = subprocess.run([sys.executable, __file__, "--one", json.dumps(config)],
                                 capture_output=True, text=True, check=True)
            r = json.loads(out.stdout.strip().splitlines()[-1])
            print(f"| {hidden} | {r['params'] / 1e6:.1f} M | {16 * r['params'] / gib:.2f} GiB | {mode} "
                  f"| {r['before_step'] / gib:.2f} GiB | {r['peak'] / gib:.2f} GiB "
                  f"| {(r['peak'] - r['before_step']) / gib:.2f} GiB |", flush=True)


if __name__ == "__main__":
    main()
