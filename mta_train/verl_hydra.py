"""verl's configuration as Hydra composes it: dotted overrides onto the installed verl's own
`ppo_trainer` YAML, checked the way `python3 -m verl.trainer.main_ppo` will check them, and
written back as YAML. What the values are is mta_train/verl_config.py's business.

Composition is strict: a key that is not in verl's configuration fails, as it would fail at
launch. Only keys under `ADDABLE` may be added ("+key=value" in Hydra's grammar): free-form
dictionaries (reward kwargs, sampler kwargs, Ray's runtime env) and the one field verl declares
in a dataclass but leaves out of its YAML (`rollout.agent.agent_loop_manager_class`).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from mta_probe.errors import BackendError, BadInputError

if TYPE_CHECKING:
    from omegaconf import DictConfig

SAMPLER_KWARGS = "trainer.v1.sampler.sampler_kwargs"
REWARD_KWARGS = "reward.custom_reward_function.reward_kwargs"
RUNTIME_ENV_VARS = "ray_kwargs.ray_init.runtime_env.env_vars"

ADDABLE = (f"{SAMPLER_KWARGS}.", f"{REWARD_KWARGS}.", f"{RUNTIME_ENV_VARS}.",
           "ray_kwargs.ray_init.address", "actor_rollout_ref.rollout.agent.agent_loop_manager_class")


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
