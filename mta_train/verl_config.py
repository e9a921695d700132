"""The one place that turns a train run into verl 0.9 configuration.

`verl_overrides` maps TrainSettings + Technique onto dotted verl keys (every DapoSettings field
has its key; docs/train-verl.md has the table), `compose` checks them against the installed
verl's own Hydra configuration (`verl/trainer/config/ppo_trainer.yaml`) the way
`python3 -m verl.trainer.main_ppo` will, and `write_config` keeps the resolved configuration
and the override list in the run directory.

Composition is strict: a key that is not in verl's configuration fails, as it would fail at
launch. Only keys under `ADDABLE` may be added ("+key=value" in Hydra's grammar): free-form
dictionaries (reward kwargs, sampler kwargs, Ray's runtime env) and the one field verl declares
in a dataclass but leaves out of its YAML (`rollout.agent.agent_loop_manager_class`).

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
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mta_probe.errors import BackendError, BadInputError
from mta_probe.runs import write_bytes_atomic
from mta_train.evaluation import eval_sampling
from mta_train.settings import DapoSettings, TrainSettings
from mta_train.technique import Technique

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
FILTER_METRIC = "reward"  # verl's canonical pre-KL reward (rm_scores)
SAMPLER_KWARGS = "trainer.v1.sampler.sampler_kwargs"
REWARD_KWARGS = "reward.custom_reward_function.reward_kwargs"
RUNTIME_ENV_VARS = "ray_kwargs.ray_init.runtime_env.env_vars"

ADDABLE = (f"{SAMPLER_KWARGS}.", f"{REWARD_KWARGS}.", f"{RUNTIME_ENV_VARS}.",
           "ray_kwargs.ray_init.address", "actor_rollout_ref.rollout.agent.agent_loop_manager_class")


@dataclass(frozen=True)
class VerlCluster:
    """Where and how verl runs (TrainSettings.backend_options).

    Attributes:
        nodes: Ray nodes (`trainer.nnodes`).
        gpus_per_node: GPUs per node (`trainer.n_gpus_per_node`).
        ray_address: an existing Ray cluster (`ray_kwargs.ray_init.address`); None starts one.
        rollout_engine: "vllm" or "sglang" (`actor_rollout_ref.rollout.name`).
        tensor_parallel: rollout tensor parallelism per engine.
        gpu_memory_utilization: share of GPU memory the rollout engine may take.
    """

    nodes: int = 1
    gpus_per_node: int = 8
    ray_address: str | None = None
    rollout_engine: str = "vllm"
    tensor_parallel: int = 1
    gpu_memory_utilization: float = 0.6

    @classmethod
    def from_options(cls, options: dict[str, Any]) -> VerlCluster:
        """Read TrainSettings.backend_options; unknown keys are ignored (the local ones)."""
        known = {k: options[k] for k in ("nodes", "gpus_per_node", "ray_address", "rollout_engine",
                                         "tensor_parallel", "gpu_memory_utilization")
                 if options.get(k) is not None}
        cluster = cls(**known)
        if cluster.nodes < 1 or cluster.gpus_per_node < 1 or cluster.tensor_parallel < 1:
            raise BadInputError("nodes, gpus_per_node and tensor_parallel must be at least 1")
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
    """

    model_path: str
    train_file: Path
    val_files: tuple[Path, ...]
    run_dir: Path
    train_rows: int


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
    sequence = dapo.max_prompt_length + dapo.max_response_length
    rollout = "actor_rollout_ref.rollout"
    steps_per_epoch = max(1, inputs.train_rows // dapo.batch_size)
    validation = eval_sampling(settings)
    overrides: dict[str, Any] = {
        "actor_rollout_ref.model.path": inputs.model_path,
        "data.train_files": [str(inputs.train_file)],
        "data.val_files": [str(p) for p in inputs.val_files],
        "data.filter_overlong_prompts": True,
        "data.return_raw_chat": True,
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
        "actor_rollout_ref.actor.use_dynamic_bsz": True,
        "actor_rollout_ref.actor.ppo_max_token_len_per_gpu": 2 * sequence,
        f"{rollout}.log_prob_max_token_len_per_gpu": 3 * sequence,
        "actor_rollout_ref.ref.log_prob_max_token_len_per_gpu": 3 * sequence,
        f"{rollout}.name": cluster.rollout_engine,
        f"{rollout}.tensor_model_parallel_size": cluster.tensor_parallel,
        f"{rollout}.gpu_memory_utilization": cluster.gpu_memory_utilization,
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


def override_args(overrides: dict[str, Any]) -> list[str]:
    """Hydra command-line overrides, `+` marking the keys verl's YAML leaves out (ADDABLE)."""
    return [f"{'+' if _addable(key) else ''}{key}={_hydra_value(value)}"
            for key, value in overrides.items()]


def compose(args: list[str]) -> DictConfig:
    """Compose `args` onto the installed verl's `ppo_trainer` config, strictly.

    Raises:
        BackendError: verl (or Hydra) is not installed.
        BadInputError: a key verl does not know, or a value its schema rejects.
    """
    try:
        import verl
        from hydra import compose as hydra_compose
        from hydra import initialize_config_dir
        from hydra.errors import HydraException
        from omegaconf.errors import OmegaConfBaseException
    except ImportError as exc:
        raise BackendError(f"the verl backend needs verl installed ({exc}); "
                           "pip install 'verl==0.9.1'") from None
    config_dir = Path(verl.__file__).parent / "trainer" / "config"
    try:
        with initialize_config_dir(config_dir=str(config_dir), version_base=None):
            return hydra_compose(config_name="ppo_trainer", overrides=args)
    except (HydraException, OmegaConfBaseException) as exc:
        first = str(exc).strip().splitlines()[0]
        raise BadInputError(f"verl rejects the configuration: {first}") from None


def check(config: DictConfig) -> None:
    """Run verl's own pre-launch validation (`verl.utils.config.validate_config`) here.

    It catches what composition cannot: values verl's config dataclasses reject (an unknown
    loss_agg_mode, ...) and, without dynamic batch sizes, batches that do not divide over the
    GPUs. verl itself runs it only after Ray has started.

    Raises:
        BadInputError: verl's reason.
    """
    import contextlib
    import io
    import warnings

    from hydra.errors import HydraException
    from verl.trainer.ppo.utils import need_critic, need_reference_policy
    from verl.utils.config import validate_config

    try:
        # verl prints a success line and warns that GRPO needs no critic.
        with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            validate_config(config, use_reference_policy=need_reference_policy(config),
                            use_critic=need_critic(config))
    except (AssertionError, ValueError, HydraException) as exc:
        # verl builds its dataclasses through Hydra, which wraps their ValueError.
        reason = exc.__cause__ if isinstance(exc, HydraException) and exc.__cause__ else exc
        raise BadInputError(f"verl rejects the configuration: {reason}") from None


def resolved_yaml(config: DictConfig) -> str:
    """The fully resolved configuration as YAML (interpolations replaced by their values)."""
    from omegaconf import OmegaConf

    return OmegaConf.to_yaml(config, resolve=True)


def write_config(config: DictConfig, args: list[str], run_dir: Path) -> Path:
    """Write verl_config.yaml (resolved) and verl_overrides.txt (one override a line)."""
    run_dir.mkdir(parents=True, exist_ok=True)
    path = run_dir / CONFIG_FILE
    _write_text(path, resolved_yaml(config))
    _write_text(run_dir / OVERRIDES_FILE, "\n".join(args) + "\n")
    return path


def _addable(key: str) -> bool:
    return any(key == prefix or (prefix.endswith(".") and key.startswith(prefix))
               for prefix in ADDABLE)


def _hydra_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(_hydra_value(v) for v in value) + "]"
    text = str(value).replace("\\", "\\\\").replace("'", "\\'")
    return f"'{text}'"


def _write_text(path: Path, text: str) -> None:
    """Whole or not at all, fsynced; a full disk is one DiskFullError (as the probes' files)."""
    write_bytes_atomic(path, text.encode("utf-8"))
