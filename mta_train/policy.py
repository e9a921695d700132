"""The trained model of the local backend: token log-probs, entropies, the DAPO update and
checkpoints. The only module of the local trainer that touches torch.

The policy is the sampler's own model (mta_probe's hf backend), updated in place, so every
step samples from the current weights without copying them.

Memory, for one real GPU (docs/train.md has the arithmetic for a 7B model on 141 GB):
- weights, gradients and AdamW state are float32 (an update of lr 1e-6 is below bfloat16's
  resolution next to the weight and would round away); on CUDA the forward passes run under
  bfloat16 autocast (`LocalSettings.bf16_autocast`), as verl's FSDP mixed precision does;
- logits are computed for response positions only, `logits_chunk` tokens at a time under
  activation checkpointing (mta_train/logprobs.py): a 2,048-token prompt costs no logits and an
  8,192-token response never holds more than one chunk's;
- gradients are freed after each optimizer step, so the next rollouts sample without them;
- gradient checkpointing (`LocalSettings.gradient_checkpointing`) keeps one hidden state per
  layer instead of every activation;
- the frozen reference model exists only with a KL penalty, and keeps the sampler's dtype
  (bfloat16 on CUDA): no float32 copy of it.
"""

from __future__ import annotations

import contextlib
import copy
import json
import math
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mta_probe.runs import room_for, write_json_atomic
from mta_train.dapo import aggregate, low_var_kl, policy_loss
from mta_train.logprobs import response_logprobs
from mta_train.settings import DapoSettings, LocalSettings


@dataclass(frozen=True)
class Sequence:
    """One rollout as the trainer scores it: prompt and response token ids."""

    prompt_ids: tuple[int, ...]
    response_ids: tuple[int, ...]


class Policy:
    """Wraps the sampler's model with an AdamW optimizer (and a frozen reference for KL).

    Args:
        model: the transformers causal LM the sampler generates with.
        dapo: learning rate, warm-up, weight decay, clips, KL coefficient, temperature.
        pad_id: the id used to right-pad sequences (masked out everywhere).
        local: micro-batch size, gradient checkpointing, bfloat16 autocast.
    """

    def __init__(self, model: Any, dapo: DapoSettings, pad_id: int,
                 local: LocalSettings | None = None) -> None:
        import torch

        self.dapo, self.pad_id, self.local = dapo, pad_id, local or LocalSettings()
        self.reference = None
        if dapo.kl_coef > 0:  # Table 13: the KL is measured against the initial policy
            self.reference = copy.deepcopy(model).eval().requires_grad_(False)  # sampler's dtype
        self.model = model.float()  # master weights (module docstring)
        self.device = next(model.parameters()).device
        if self.local.gradient_checkpointing and getattr(model, "supports_gradient_checkpointing", False):
            # Active only in train mode: sampling and scoring (eval mode) are unaffected.
            model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
        self.optimizer = torch.optim.AdamW(model.parameters(), lr=dapo.lr,
                                           weight_decay=dapo.weight_decay)
        self.steps_done = 0  # training steps, which the learning-rate schedule counts

    def score(self, sequences: list[Sequence], *, with_entropy: bool = True) -> tuple[list[Any], list[Any]]:
        """Per-token log-probs and entropies of each response under the current policy.

        Args:
            sequences: the prompt and response of each.
            with_entropy: also the entropies (a softmax over the vocabulary at every token).

        Returns:
            Two lists of 1-D CPU tensors (one per sequence, response length each); the second
            empty without `with_entropy`.
        """
        import torch

        logprobs, entropies = [], []
        self.model.eval()
        step = self.local.micro_batch_size
        with torch.no_grad():
            for start in range(0, len(sequences), step):
                chunk = sequences[start:start + step]
                lp, ent, mask = self._forward(self.model, chunk, with_entropy=with_entropy)
                for row, seq in enumerate(chunk):
                    length = len(seq.response_ids)
                    logprobs.append(lp[row, :length].cpu())
                    if with_entropy:
                        entropies.append(ent[row, :length].cpu())
        return logprobs, entropies

    def update(self, sequences: list[Sequence], old_logprobs: list[Any],
               advantages: list[float], mini_batch_rows: int) -> dict[str, float]:
        """DAPO's update: one pass over the batch in mini-batches, one optimizer step each.

        Args:
            sequences: the training batch (groups in order).
            old_logprobs: their log-probs under the sampling policy (from `score`).
            advantages: one scalar per sequence (broadcast over its tokens).
            mini_batch_rows: sequences per optimizer step (mini-batch prompts x group size).

        Returns:
            Mean loss, ppo_kl, clip fractions, grad norm and learning rate over the mini-batches.
        """
        totals: dict[str, float] = {}
        for group in self.optimizer.param_groups:  # one schedule step per training step, as verl
            group["lr"] = self.learning_rate()
        starts = range(0, len(sequences), mini_batch_rows)
        for start in starts:
            stop = start + mini_batch_rows
            stats = self._mini_batch(sequences[start:stop], old_logprobs[start:stop],
                                     advantages[start:stop])
            for key, value in stats.items():
                totals[key] = totals.get(key, 0.0) + value / len(starts)
        self.steps_done += 1
        self.model.eval()  # sampling and scoring of the next step run in eval mode
        return totals

    def _mini_batch(self, sequences: list[Sequence], old: list[Any],
                    advantages: list[float]) -> dict[str, float]:
        import torch

        self.model.train()
        num_tokens = float(sum(len(s.response_ids) for s in sequences))
        stats = {"loss": 0.0}
        if self.reference is not None:
            stats["kl"] = 0.0
        self.optimizer.zero_grad(set_to_none=True)
        micro = self.local.micro_batch_size
        for start in range(0, len(sequences), micro):
            chunk = sequences[start:start + micro]
            logprob, _, mask = self._forward(self.model, chunk, with_entropy=False)
            old_lp = _padded(old[start:start + micro], logprob.shape[1]).to(self.device)
            adv = torch.tensor(advantages[start:start + micro], device=self.device)
            adv = adv[:, None].expand_as(logprob) * mask
            loss, metrics = policy_loss(old_lp, logprob, adv, mask, clip_low=self.dapo.clip_low,
                                        clip_high=self.dapo.clip_high, clip_c=self.dapo.clip_c,
                                        loss_agg_mode=self.dapo.loss_agg_mode,
                                        num_tokens=num_tokens, num_rows=len(sequences))
            share = mask.sum().item() / num_tokens  # micro-batch metrics weighted by tokens
            if self.reference is not None:
                with torch.no_grad():
                    ref_lp, _, _ = self._forward(self.reference, chunk, with_entropy=False)
                # aggregated like the loss (verl's kl_loss uses the actor's loss_agg_mode)
                kl = aggregate(low_var_kl(logprob, ref_lp), mask, self.dapo.loss_agg_mode,
                               num_tokens, len(sequences))
                loss = loss + self.dapo.kl_coef * kl
                stats["kl"] += kl.item()
            loss.backward()
            stats["loss"] += loss.item()
            for key, value in metrics.items():  # ppo_kl and the clip fractions
                stats[key] = stats.get(key, 0.0) + value * share
        norm = torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.dapo.grad_clip)
        stats["grad_norm"], stats["lr"] = float(norm), self.learning_rate()
        if math.isfinite(stats["grad_norm"]):  # verl skips a step whose gradient is not finite
            self.optimizer.step()
        self.optimizer.zero_grad(set_to_none=True)  # free them while the next rollouts sample
        return stats

    def learning_rate(self) -> float:
        """Constant with linear warm-up over `warmup_steps` training steps (verl's "constant"
        schedule, stepped once per training step: the first step runs at lr 0)."""
        warmup = self.dapo.warmup_steps
        return self.dapo.lr * (min(1.0, self.steps_done / warmup) if warmup else 1.0)

    def _forward(self, model: Any, chunk: list[Sequence], *, with_entropy: bool):
        """Log-probs (and entropies) of each response token, right-padded to the longest
        (mta_train/logprobs.py: response positions only, in chunks of `logits_chunk` tokens)."""
        return response_logprobs(model, chunk, self.pad_id, temperature=self.dapo.temperature,
                                 chunk_tokens=self.local.logits_chunk, with_entropy=with_entropy,
                                 autocast=self._autocast(), device=self.device)

    def _autocast(self) -> Any:
        import torch

        if self.local.bf16_autocast and self.device.type == "cuda":
            return torch.autocast(device_type="cuda", dtype=torch.bfloat16)
        return contextlib.nullcontext()

    def save(self, folder: Path, state: dict[str, Any]) -> None:
        """Write weights, optimizer and `state` atomically (a half-written checkpoint never
        replaces a whole one)."""
        import torch

        partial = folder.with_name(folder.name + ".tmp")
        shutil.rmtree(partial, ignore_errors=True)
        try:
            with room_for(folder):
                partial.mkdir(parents=True)
                # Into files opened here: torch then reports a full disk with the OSError attached;
                # each is fsynced before the folder replaces the last whole checkpoint.
                for name, content in (("model.pt", self.model.state_dict()),
                                      ("optimizer.pt", self.optimizer.state_dict())):
                    with open(partial / name, "wb") as handle:
                        torch.save(content, handle)
                        handle.flush()
                        os.fsync(handle.fileno())
                write_json_atomic(partial / "state.json", {**state, "steps_done": self.steps_done})
        except BaseException:
            shutil.rmtree(partial, ignore_errors=True)  # the last whole checkpoint stays
            raise
        old = folder.with_name(folder.name + ".old")
        if folder.exists():
            os.replace(folder, old)
        os.replace(partial, folder)  # a kill before this leaves `old` whole: `recover` puts it back
        shutil.rmtree(old, ignore_errors=True)

    @staticmethod
    def recover(folder: Path) -> None:
        """Put back the last whole checkpoint when a kill fell between `save`'s two renames."""
        old = folder.with_name(folder.name + ".old")
        if not folder.exists() and old.exists():
            os.replace(old, folder)

    def load(self, folder: Path) -> dict[str, Any]:
        """Restore what `save` wrote; returns the saved state."""
        import torch

        self.model.load_state_dict(torch.load(folder / "model.pt", map_location=self.device))
        self.optimizer.load_state_dict(torch.load(folder / "optimizer.pt",
                                                  map_location=self.device))
        state = json.loads((folder / "state.json").read_text())
        self.steps_done = int(state["steps_done"])
        return state


def _padded(tensors: list[Any], length: int) -> Any:
    import torch

    return torch.stack([torch.nn.functional.pad(t, (0, length - t.shape[0])) for t in tensors])
