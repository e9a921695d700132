"""The one place that turns a train run into verl 0.9 configuration.

`verl_overrides` maps TrainSettings + Technique onto dotted verl keys (every DapoSettings field
has its key; docs/train-verl.md has the table); mta_train/verl_hydra.py composes and checks them
against the installed verl's own configuration, and `write_config` keeps the resolved
configuration and the override list in the run directory.

verl 0.9.1 facts this relies on (read in its source, see docs/train-verl.md):
- `trainer.use_v1=true` (the default) runs the TransferQueue trainer; the legacy trainer
  (`use_v1=false`) has no dynamic sampling at all.
- v1 honours `algorithm.filter_groups.enable/metric` in its ReplayBuffer but ignores
  `max_num_gen_batches` and has no fallback, so mta plugs its own sampler in through
  `trainer.v1.sampler.custom_sampler` (mta_train/verl_plugin.py `MtaReplayBuffer`), which
  reads its settings from `trainer.v1.sampler.sampler_kwargs`.
- v1's `AgentLoopManagerTQ.generate_sequences` chunks the batch of PROMPTS over its agent-loop
  workers and each worker spawns all `rollout.n` sessions of a prompt
  (`AgentLoopWorkerTQ._run_prompt`), so a group never spans two workers whatever the batch
  size: the group hook of vote, TTRL, incorrect and EM needs no batch-size constraint.
- Validation samples with `rollout.val_kwargs` (temperature, top_p, n); it is scored by the
  reward function with `extra_info.split == "val"` (mta_train/verl_plugin.py), under the run's
  evaluation protocol (mta_train/evaluation.py).
- The agent loop, not `RLHFDataset`, turns a row's prompt into tokens (through the chat
  template, `rollout.agent.default_agent_loop`) and cuts a text prompt longer than
  `rollout.prompt_length` from the left; `data.truncation` is read by the SFT dataset only.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mta_probe.errors import BadInputError
from mta_probe.runs import write_bytes_atomic
from mta_train.evaluation import eval_sampling
from mta_train.reward import VERIFY_TIMEOUT
from mta_train.settings import DapoSettings, TrainSettings
from mta_train.technique import Technique
from mta_train.verl_hydra import REWARD_KWARGS, RUNTIME_ENV_VARS, SAMPLER_KWARGS, resolved_yaml

if TYPE_CHECKING:
    from omegaconf import DictConfig

PLUGIN_MODULE = "mta_train.verl_plugin"
PLUGIN_PATH = f"pkg://{PLUGIN_MODULE}"
REWARD_FUNCTION = "compute_score"
AGENT_LOOP_MANAGER = f"{PLUGIN_MODULE}.MtaAgentLoopManager"
SAMPLER_CLASS = "MtaReplayBuffer"
CONFIG_FILE = "verl_config.yaml"
OVERRIDES_FILE = "verl_overrides.txt"
CHECKPOINT_DIR = "checkpoints"
AGENT_LOOPS_FILE = "verl_agent_loops.yaml"  # registers the raw-text agent loop (chat=False)
RAW_TEXT_AGENT = "mta_raw_text"
RAW_TEXT_LOOP = f"{PLUGIN_MODULE}.MtaRawTextAgentLoop"
# The paper's launch scripts (scripts/RQ1/qwen-math-ground_truth.sh and every other RQ script):
PAPER_TENSOR_PARALLEL = 4  # gen_tp=4, on 8 GPUs a node
PAPER_GPU_MEMORY = 0.80  # rollout.gpu_memory_utilization=0.80
FILTER_METRIC = "reward"  # verl's canonical pre-KL reward (rm_scores)


@dataclass(frozen=True)
class VerlCluster:
    """Where and how verl runs (TrainSettings.backend_options).

    Attributes:
        nodes: Ray nodes (`trainer.nnodes`).
        gpus_per_node: GPUs per node (`trainer.n_gpus_per_node`).
        ray_address: an existing Ray cluster (`ray_kwargs.ray_init.address`); None starts one.
        rollout_engine: "vllm" or "sglang" (`actor_rollout_ref.rollout.name`).
        tensor_parallel: rollout tensor parallelism per engine; the paper's 4 (`gen_tp=4`),
            or the largest of 2 and 1 that divides `gpus_per_node` when 4 does not.
        gpu_memory_utilization: share of GPU memory the rollout engine may take (the paper's
            0.80).
        shared_dir: a folder every Ray node mounts at the same path; with `ray_address`, the run
            directory (data, checkpoints, verl's metrics log) and a local model must be in it
            (mta_train/verl_launch.py `require_shared`).
    """

    nodes: int = 1
    gpus_per_node: int = 8
    ray_address: str | None = None
    rollout_engine: str = "vllm"
    tensor_parallel: int = PAPER_TENSOR_PARALLEL
    gpu_memory_utilization: float = PAPER_GPU_MEMORY
    shared_dir: Path | None = None

    @classmethod
    def from_options(cls, options: dict[str, Any]) -> VerlCluster:
        """Read TrainSettings.backend_options; unknown keys are ignored (the local ones).

        Raises:
            BadInputError: sizes below 1, an unknown engine, or engines that do not divide the
                GPUs of a node.
        """
        known = {k: options[k] for k in ("nodes", "gpus_per_node", "ray_address", "rollout_engine",
                                         "tensor_parallel", "gpu_memory_utilization", "shared_dir")
                 if options.get(k) is not None}
        if "shared_dir" in known:
            known["shared_dir"] = Path(known["shared_dir"])
        if "tensor_parallel" not in known:
            gpus = int(known.get("gpus_per_node", cls.gpus_per_node))
            known["tensor_parallel"] = next(t for t in (PAPER_TENSOR_PARALLEL, 2, 1) if gpus % t == 0)
        cluster = cls(**known)
        if cluster.nodes < 1 or cluster.gpus_per_node < 1 or cluster.tensor_parallel < 1:
            raise BadInputError("nodes, gpus_per_node and tensor_parallel must be at least 1")
        if cluster.gpus_per_node % cluster.tensor_parallel:
            raise BadInputError(f"tensor_parallel {cluster.tensor_parallel} does not divide the "
                                f"{cluster.gpus_per_node} GPUs of a node")
        if cluster.rollout_engine not in ("vllm", "sglang"):
            raise BadInputError(f"rollout_engine must be vllm or sglang, not "
                                f"{cluster.rollout_engine!r}")
        return cluster


@dataclass(frozen=True)
class VerlInputs:
    """The files a verl run reads and writes.

    Attributes:
        model_path: what verl loads (a hub ID or a Hugging Face folder).
        train_file: training parquet.
        val_files: validation parquets.
        run_dir: the mta run directory (checkpoints go under it).
        train_rows: rows of the training parquet (sizes `trainer.total_epochs`).
        chat: render prompts through the tokenizer's chat template (the model's `chat` flag,
            which mta's evaluations and fixed-label pass follow); False sends the raw text.
    """

    model_path: str
    train_file: Path
    val_files: tuple[Path, ...]
    run_dir: Path
    train_rows: int
    chat: bool


def dapo_overrides(dapo: DapoSettings) -> dict[str, Any]:
    """Every DapoSettings field at its verl key (the table of docs/train-verl.md)."""
    actor = "actor_rollout_ref.actor"
    rollout = "actor_rollout_ref.rollout"
    kl = dapo.kl_coef > 0
    return {
        f"{rollout}.n": dapo.group_size,
        f"{actor}.clip_ratio_low": dapo.clip_low,
        f"{actor}.clip_ratio_high": dapo.clip_high,
        f"{actor}.clip_ratio_c": dapo.clip_c,
        f"{actor}.loss_agg_mode": dapo.loss_agg_mode,
        # Recorded for readers of the config; mta's sampler reads its own copies below, since
        # verl's v1 ReplayBuffer ignores max_num_gen_batches.
        "algorithm.filter_groups.enable": dapo.dynamic_sampling,
        "algorithm.filter_groups.metric": FILTER_METRIC,
        "algorithm.filter_groups.max_num_gen_batches": dapo.max_num_gen_batches,
        f"{SAMPLER_KWARGS}.filter_groups": dapo.dynamic_sampling,
        f"{SAMPLER_KWARGS}.metric": FILTER_METRIC,
        f"{SAMPLER_KWARGS}.max_num_gen_batches": dapo.max_num_gen_batches,
        f"{SAMPLER_KWARGS}.train_batch_size": dapo.batch_size,
        f"{actor}.optim.lr": dapo.lr,
        f"{actor}.optim.lr_warmup_steps": dapo.warmup_steps,
        f"{actor}.optim.lr_scheduler_type": "constant",
        f"{actor}.optim.weight_decay": dapo.weight_decay,
        f"{actor}.optim.clip_grad": dapo.grad_clip,
        "data.train_batch_size": dapo.batch_size,
        f"{actor}.ppo_mini_batch_size": dapo.mini_batch_size,
        f"{actor}.ppo_epochs": 1,
        "trainer.total_training_steps": dapo.steps,
        "trainer.test_freq": dapo.val_every if dapo.val_every > 0 else -1,
        # verl saves every save_freq steps and at the last one, so resume_mode=auto resumes.
        "trainer.save_freq": dapo.save_every,
        f"{rollout}.temperature": dapo.temperature,
        f"{rollout}.top_p": dapo.top_p,
        "data.max_prompt_length": dapo.max_prompt_length,
        "data.max_response_length": dapo.max_response_length,
        # The KL penalty of Table 13 is in the loss, k3 estimator (mta_train.dapo.low_var_kl).
        f"{actor}.use_kl_loss": kl,
        f"{actor}.kl_loss_coef": dapo.kl_coef,
        f"{actor}.kl_loss_type": "low_var_kl",
        "algorithm.use_kl_in_reward": False,
        f"{actor}.entropy_coeff": dapo.entropy_coeff,
        "data.seed": dapo.seed,
        f"{actor}.data_loader_seed": dapo.seed,
        f"{rollout}.seed": dapo.seed,
        f"{REWARD_KWARGS}.seed": dapo.seed,
    }


def technique_overrides(technique: Technique, settings: TrainSettings) -> dict[str, Any]:
    """The reward (its variant), advantage estimator, validation scoring and sampler hooks of
    `technique` (verl_plugin.py)."""
    overrides: dict[str, Any] = {
        "algorithm.adv_estimator": technique.estimator,  # masked ones are registered by the plugin
        "reward.custom_reward_function.path": PLUGIN_PATH,
        "reward.custom_reward_function.name": REWARD_FUNCTION,
        f"{REWARD_KWARGS}.technique": technique.name,
        f"{REWARD_KWARGS}.variant": settings.variant,
        f"{REWARD_KWARGS}.require_format": settings.require_format,
        f"{REWARD_KWARGS}.eval_protocol": settings.eval_protocol,
        # Each verification runs in a worker killed after this many seconds (reward.py).
        f"{REWARD_KWARGS}.verify_timeout": VERIFY_TIMEOUT,
        "trainer.v1.sampler.custom_sampler.path": PLUGIN_PATH,
        "trainer.v1.sampler.custom_sampler.name": SAMPLER_CLASS,
        # EM reads the sampling policy's log-probs, which the rollout returns with this on.
        "actor_rollout_ref.rollout.calculate_log_probs": True,
    }
    if technique.group_level or technique.needs_logprobs:
        overrides["actor_rollout_ref.rollout.agent.agent_loop_manager_class"] = AGENT_LOOP_MANAGER
    return overrides


def run_overrides(settings: TrainSettings, inputs: VerlInputs, cluster: VerlCluster,
                  env: dict[str, str]) -> dict[str, Any]:
    """Model, data, cluster, logging and checkpoints of one run."""
    dapo = settings.dapo
    rollout = "actor_rollout_ref.rollout"
    steps_per_epoch = max(1, inputs.train_rows // dapo.batch_size)
    validation = eval_sampling(settings)
    overrides: dict[str, Any] = {
        "actor_rollout_ref.model.path": inputs.model_path,
        "data.train_files": [str(inputs.train_file)],
        "data.val_files": [str(p) for p in inputs.val_files],
        # The paper keeps every prompt and cuts a long one from the left (`data.truncation=left`;
        # its verl filtered nothing by default). verl 0.9.1's agent loop left-truncates a text
        # prompt to `rollout.prompt_length` itself; its filter would drop rows, and fewer than
        # one batch of rows makes its steps per epoch 0 (a division by zero in its trainer).
        "data.filter_overlong_prompts": False,
        "data.truncation": "left",
        "data.return_raw_chat": True,
        **prompt_rendering(inputs),
        "trainer.use_v1": True,
        "trainer.v1.trainer_mode": "sync",
        "trainer.nnodes": cluster.nodes,
        "trainer.n_gpus_per_node": cluster.gpus_per_node,
        # the trackers asked for, between verl's console (into verl.log) and `file`, which mta reads back
        "trainer.logger": list(dict.fromkeys(["console", *settings.loggers, "file"])),
        "trainer.project_name": "mta",
        "trainer.experiment_name": inputs.run_dir.name,
        "trainer.default_local_dir": str(inputs.run_dir / CHECKPOINT_DIR),
        "trainer.resume_mode": "auto",
        "trainer.val_before_train": True,
        "trainer.total_epochs": math.ceil(dapo.steps / steps_per_epoch),
        "actor_rollout_ref.actor.checkpoint.save_contents": ["model", "optimizer", "extra",
                                                             "hf_model"],
        **memory_overrides(dapo, cluster),
        f"{rollout}.name": cluster.rollout_engine,
        # Validation under the run's evaluation protocol (mta_train/evaluation.py), as the
        # paper's scripts: n=1 per row, the val parquet repeats each problem k times (avg@k
        # with k per benchmark), temperature 1.0, top_p 0.7 (`val_top_p`).
        f"{rollout}.val_kwargs.n": 1,
        f"{rollout}.val_kwargs.do_sample": True,
        f"{rollout}.val_kwargs.temperature": validation.temperature,
        f"{rollout}.val_kwargs.top_p": validation.top_p,
    }
    if cluster.ray_address:
        overrides["ray_kwargs.ray_init.address"] = cluster.ray_address
    for name, value in sorted(env.items()):
        overrides[f"{RUNTIME_ENV_VARS}.{name}"] = value
    return overrides


def memory_overrides(dapo: DapoSettings, cluster: VerlCluster) -> dict[str, Any]:
    """Token budgets, rollout parallelism and memory, as the paper's launch scripts set them
    (scripts/RQ1/qwen-math-ground_truth.sh and the other RQ scripts): every budget one sequence
    (`actor_ppo_max_token_len` = `infer_ppo_max_token_len` = prompt + response, with
    `use_dynamic_bsz`), `gen_tp=4`, `gpu_memory_utilization=0.80`, chunked prefill with
    `max_num_batched_tokens` one sequence, padding removed, gradient checkpointing."""
    sequence = dapo.max_prompt_length + dapo.max_response_length
    rollout = "actor_rollout_ref.rollout"
    return {
        "actor_rollout_ref.model.use_remove_padding": True,
        "actor_rollout_ref.model.enable_gradient_checkpointing": True,
        "actor_rollout_ref.actor.use_dynamic_bsz": True,
        f"{rollout}.log_prob_use_dynamic_bsz": True,
        "actor_rollout_ref.ref.log_prob_use_dynamic_bsz": True,
        "actor_rollout_ref.actor.ppo_max_token_len_per_gpu": sequence,
        f"{rollout}.log_prob_max_token_len_per_gpu": sequence,
        "actor_rollout_ref.ref.log_prob_max_token_len_per_gpu": sequence,
        f"{rollout}.tensor_model_parallel_size": cluster.tensor_parallel,
        f"{rollout}.gpu_memory_utilization": cluster.gpu_memory_utilization,
        f"{rollout}.enable_chunked_prefill": True,
        f"{rollout}.max_num_batched_tokens": sequence,
    }


def prompt_rendering(inputs: VerlInputs) -> dict[str, Any]:
    """How verl turns a row's prompt into tokens: as mta's evaluations do for this model.

    verl renders every prompt through the tokenizer's chat template (its agent loop's
    Continuous Token builder); mta's evaluations, fixed-label pass and local trainer render a
    model whose `chat` flag is off (the `qwen` alias, Qwen2.5-7B base) as raw text. For those,
    the default agent loop is mta's `MtaRawTextAgentLoop` (mta_train/verl_plugin.py), which
    tokenizes the user message as mta's samplers do; verl learns its name from
    `agent_loop_config_path` (AGENT_LOOPS_FILE, written by `write_config`).
    """
    if inputs.chat:
        return {}
    return {"actor_rollout_ref.rollout.agent.default_agent_loop": RAW_TEXT_AGENT,
            "actor_rollout_ref.rollout.agent.agent_loop_config_path":
                str(inputs.run_dir / AGENT_LOOPS_FILE)}


def verl_overrides(settings: TrainSettings, technique: Technique, inputs: VerlInputs,
                   cluster: VerlCluster, env: dict[str, str]) -> dict[str, Any]:
    """All overrides of one run: DAPO, technique hooks, then run specifics.

    Args:
        settings: the run (its `dapo` are the paper's defaults unless the user changed them).
        technique: the technique being trained.
        inputs: model and data files.
        cluster: nodes, GPUs, Ray address, rollout engine.
        env: environment variables the Ray workers need (they are also put in Ray's runtime
            env, so a cluster started elsewhere gets them).

    Returns:
        Dotted verl key -> value.
    """
    return {**dapo_overrides(settings.dapo),
            **technique_overrides(technique, settings),
            **run_overrides(settings, inputs, cluster, env)}


def write_config(config: DictConfig, args: list[str], run_dir: Path) -> Path:
    """Write verl_config.yaml (resolved), verl_overrides.txt (one override a line) and, when
    the configuration names it, the agent-loop registry file (`prompt_rendering`)."""
    run_dir.mkdir(parents=True, exist_ok=True)
    path = run_dir / CONFIG_FILE
    _write_text(path, resolved_yaml(config))
    _write_text(run_dir / OVERRIDES_FILE, "\n".join(args) + "\n")
    if config.actor_rollout_ref.rollout.agent.agent_loop_config_path:  # run_dir's, as planned
        _write_text(run_dir / AGENT_LOOPS_FILE,
                    f"- name: {RAW_TEXT_AGENT}\n  _target_: {RAW_TEXT_LOOP}\n")
    return path


def _write_text(path: Path, text: str) -> None:
    """Whole or not at all, fsynced; a full disk is one DiskFullError (as the probes' files)."""
    write_bytes_atomic(path, text.encode("utf-8"))
