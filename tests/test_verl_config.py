"""The verl configuration composes against the installed verl's own Hydra config, strictly."""

from __future__ import annotations

from dataclasses import fields, replace
from pathlib import Path

import pytest

pytest.importorskip("verl")

from omegaconf import OmegaConf
from verl.trainer.ppo.utils import need_critic, need_reference_policy
from verl.utils.config import validate_config

from mta_probe.errors import BadInputError
from mta_train.settings import DapoSettings, TrainSettings
from mta_train.techniques import TECHNIQUES, get_technique
from mta_train.verl_config import (
    AGENT_LOOP_MANAGER,
    CONFIG_FILE,
    OVERRIDES_FILE,
    VerlCluster,
    VerlInputs,
    dapo_overrides,
    verl_overrides,
    write_config,
)
from mta_train.verl_hydra import check, compose, override_args

ENV = {"VERL_USE_EXTERNAL_MODULES": "mta_train.verl_plugin",
       "VERL_FILE_LOGGER_PATH": "/runs/x/verl_metrics.jsonl"}


def _compose(technique: str, dapo: DapoSettings, cluster: VerlCluster | None = None,
             run_dir: Path = Path("/runs/x"), chat: bool = False):
    cluster = cluster or VerlCluster()
    settings = TrainSettings(technique=technique, backend="verl", dapo=dapo, eval_k=8)
    inputs = VerlInputs(model_path="Qwen/Qwen2.5-7B", train_file=run_dir / "train.parquet",
                        val_files=(run_dir / "val_0.parquet",), run_dir=run_dir,
                        train_rows=40315, chat=chat)
    args = override_args(verl_overrides(settings, get_technique(technique), inputs, cluster, ENV))
    return compose(args), args


@pytest.fixture(scope="module")
def paper():
    """The paper's settings, plain DAPO: one composition shared by the tests below."""
    return _compose("ground-truth", DapoSettings())


@pytest.fixture(scope="module")
def vote_kl():
    """A group-level technique with the KL variant of Table 13, on a named Ray cluster."""
    cluster = VerlCluster(nodes=2, gpus_per_node=4, ray_address="10.0.0.1:6379")
    return _compose("vote", DapoSettings(kl_coef=0.001), cluster)


def test_paper_defaults_reach_the_resolved_config(paper) -> None:
    config, _ = paper
    actor, rollout = config.actor_rollout_ref.actor, config.actor_rollout_ref.rollout
    assert rollout.n == 16
    assert (actor.clip_ratio_low, actor.clip_ratio_high, actor.clip_ratio_c) == (0.2, 0.28, 10.0)
    assert actor.loss_agg_mode == "token-mean"
    assert config.algorithm.filter_groups.enable is True
    assert config.algorithm.filter_groups.max_num_gen_batches == 2
    assert config.trainer.v1.sampler.sampler_kwargs.max_num_gen_batches == 2
    assert config.trainer.v1.sampler.sampler_kwargs.train_batch_size == 128
    assert (actor.optim.lr, actor.optim.lr_warmup_steps, actor.optim.weight_decay,
            actor.optim.clip_grad) == (1e-6, 10, 0.1, 1.0)
    assert (config.data.train_batch_size, actor.ppo_mini_batch_size) == (128, 64)
    assert (config.trainer.total_training_steps, config.trainer.test_freq) == (300, 20)
    assert (rollout.temperature, rollout.top_p) == (1.0, 1.0)
    assert (config.data.max_prompt_length, config.data.max_response_length) == (2048, 8192)
    # verl interpolates the rollout lengths from data.*: they resolve to the paper's.
    resolved = OmegaConf.to_container(config, resolve=True)
    assert resolved["actor_rollout_ref"]["rollout"]["response_length"] == 8192
    assert actor.use_kl_loss is False and config.algorithm.use_kl_in_reward is False
    assert actor.entropy_coeff == 0
    assert config.algorithm.adv_estimator == "grpo"
    assert list(config.trainer.logger) == ["console", "file"]
    assert config.trainer.use_v1 is True
    # validation as the paper's scripts and gains.json: n=1 per row (rows repeat k times),
    # temperature 1.0, top_p 0.7 (`val_top_p`), first <answer> (the reward kwargs name it)
    assert (rollout.val_kwargs.n, rollout.val_kwargs.do_sample) == (1, True)
    assert (rollout.val_kwargs.temperature, rollout.val_kwargs.top_p) == (1.0, 0.7)
    assert config.reward.custom_reward_function.reward_kwargs.eval_protocol == "paper"
    assert config.reward.custom_reward_function.reward_kwargs.variant == "paper"
    assert config.reward.custom_reward_function.path == "pkg://mta_train.verl_plugin"
    assert config.reward.custom_reward_function.reward_kwargs.technique == "ground-truth"
    assert config.trainer.v1.sampler.custom_sampler.name == "MtaReplayBuffer"
    assert config.trainer.default_local_dir == "/runs/x/checkpoints"
    # every 50 steps as the paper's scripts (verl also saves the last): resume_mode=auto resumes
    assert (config.trainer.save_freq, config.trainer.resume_mode) == (50, "auto")
    assert "hf_model" in list(actor.checkpoint.save_contents)
    assert dict(config.ray_kwargs.ray_init.runtime_env.env_vars) == ENV


def test_budgets_and_rollout_engine_follow_the_papers_launch_scripts(paper) -> None:
    """Issue 22: the update's token budget was 2x and the log-prob passes' 3x a sequence, where
    every script of the paper (scripts/RQ1/qwen-math-ground_truth.sh and the others) gives each
    one sequence, `actor_ppo_max_token_len` = `infer_ppo_max_token_len` = prompt + response
    (a 3x log-prob pass holds logits, and their entropy, over 3 x 10240 tokens of a 152k
    vocabulary); and the rollout ran TP 1 at 0.6 of GPU memory where the scripts use gen_tp=4
    and 0.80."""
    config, _ = paper
    model, actor = config.actor_rollout_ref.model, config.actor_rollout_ref.actor
    rollout, ref = config.actor_rollout_ref.rollout, config.actor_rollout_ref.ref
    sequence = 2048 + 8192
    assert actor.ppo_max_token_len_per_gpu == sequence
    assert rollout.log_prob_max_token_len_per_gpu == ref.log_prob_max_token_len_per_gpu == sequence
    assert actor.use_dynamic_bsz and rollout.log_prob_use_dynamic_bsz and ref.log_prob_use_dynamic_bsz
    assert (rollout.tensor_model_parallel_size, rollout.gpu_memory_utilization) == (4, 0.80)
    assert rollout.enable_chunked_prefill and rollout.max_num_batched_tokens == sequence
    assert model.use_remove_padding and model.enable_gradient_checkpointing


def test_a_model_without_chat_flag_gets_the_raw_text_agent_loop(paper, tmp_path: Path) -> None:
    """verl's agent loop renders prompts through the chat template; for a model whose chat flag
    is off (as mta's evaluations send it), the configuration names mta's raw-text loop and the
    file that registers it (what verl makes of it: tests/test_verl_prompts.py)."""
    config, _ = paper  # the qwen base model: chat off
    agent = config.actor_rollout_ref.rollout.agent
    assert agent.default_agent_loop == "mta_raw_text"
    assert agent.agent_loop_config_path == "/runs/x/verl_agent_loops.yaml"
    chat, _ = _compose("ground-truth", DapoSettings(), run_dir=tmp_path, chat=True)
    assert chat.actor_rollout_ref.rollout.agent.default_agent_loop == "single_turn_agent"
    assert chat.actor_rollout_ref.rollout.agent.agent_loop_config_path is None
    raw, raw_args = _compose("ground-truth", DapoSettings(), run_dir=tmp_path)
    write_config(raw, raw_args, tmp_path)
    (entry,) = OmegaConf.load(tmp_path / "verl_agent_loops.yaml")
    assert (entry.name, entry._target_) == ("mta_raw_text", "mta_train.verl_plugin.MtaRawTextAgentLoop")


def test_verl_own_validation_accepts_the_config(paper, vote_kl) -> None:
    for config, _ in (paper, vote_kl):
        validate_config(config, use_reference_policy=need_reference_policy(config),
                        use_critic=need_critic(config))
        check(config)
        assert need_critic(config) is False  # GRPO: no value model


def test_verl_own_validation_rejects_what_composition_lets_through(paper) -> None:
    # Hydra has no schema for values; verl's dataclasses do, and `check` runs them before a
    # launch (verl itself would only fail after starting Ray).
    _, args = paper
    config = compose(args + ["actor_rollout_ref.actor.loss_agg_mode='token-median'"])
    with pytest.raises(BadInputError, match="loss_agg_mode"):
        check(config)


def test_kl_variant_turns_on_the_loss_and_the_reference(paper, vote_kl) -> None:
    config, _ = vote_kl
    actor = config.actor_rollout_ref.actor
    assert actor.use_kl_loss is True
    assert actor.kl_loss_coef == 0.001 and actor.kl_loss_type == "low_var_kl"
    assert config.algorithm.use_kl_in_reward is False
    assert need_reference_policy(config) is True
    assert need_reference_policy(paper[0]) is False


def test_group_level_technique_uses_the_agent_loop_manager(paper, vote_kl) -> None:
    config, args = vote_kl
    assert config.actor_rollout_ref.rollout.agent.agent_loop_manager_class == AGENT_LOOP_MANAGER
    assert f"+actor_rollout_ref.rollout.agent.agent_loop_manager_class={AGENT_LOOP_MANAGER!r}" \
        in args
    assert "agent_loop_manager_class" not in paper[0].actor_rollout_ref.rollout.agent
    # verl's own dataclass accepts the field (it is declared there, not in the YAML).
    from verl.utils.config import omega_conf_to_dataclass

    agent = omega_conf_to_dataclass(config.actor_rollout_ref.rollout.agent)
    assert agent.agent_loop_manager_class == AGENT_LOOP_MANAGER
    assert (config.trainer.nnodes, config.trainer.n_gpus_per_node) == (2, 4)
    assert config.ray_kwargs.ray_init.address == "10.0.0.1:6379"


def test_nsr_and_psr_select_the_registered_estimators() -> None:
    for name in ("nsr", "psr"):
        overrides = verl_overrides(
            TrainSettings(technique=name, backend="verl", dapo=DapoSettings()),
            get_technique(name), VerlInputs("m", Path("t"), (), Path("/r"), 200, chat=False), VerlCluster(),
            ENV)
        assert overrides["algorithm.adv_estimator"] == name
    from verl.trainer.ppo import core_algos

    import mta_train.verl_plugin as plugin

    assert core_algos.get_adv_estimator_fn("nsr") == plugin.MaskedGrpo(TECHNIQUES["nsr"].keeps)
    assert core_algos.get_adv_estimator_fn("psr") == plugin.MaskedGrpo(TECHNIQUES["psr"].keeps)
    plugin.register_estimators()  # idempotent: verl refuses an unequal estimator under a taken name


def test_a_wrong_key_fails_composition() -> None:
    with pytest.raises(BadInputError, match="clip_ratio_hgih"):
        compose(override_args({"actor_rollout_ref.actor.clip_ratio_hgih": 0.28}))
    # Only the free-form keys get Hydra's "+": a typo elsewhere is never silently added.
    assert override_args({"algorithm.filter_group.enable": True}) == [
        "algorithm.filter_group.enable=true"]
    with pytest.raises(BadInputError):
        compose(override_args({"algorithm.filter_group.enable": True}))


def test_every_dapo_setting_has_a_verl_key() -> None:
    base = dapo_overrides(DapoSettings())
    changed = {"group_size": 8, "clip_low": 0.1, "clip_high": 0.3, "clip_c": 3.0,
               "loss_agg_mode": "seq-mean-token-mean", "dynamic_sampling": False,
               "max_num_gen_batches": 3, "lr": 2e-6, "warmup_steps": 0, "weight_decay": 0.0,
               "grad_clip": 0.5, "batch_size": 256, "mini_batch_size": 32, "steps": 30,
               "val_every": 0, "save_every": 10, "temperature": 0.7, "top_p": 0.9, "max_prompt_length": 1024,
               "max_response_length": 4096, "kl_coef": 0.001, "entropy_coeff": 0.01, "seed": 3}
    assert set(changed) == {f.name for f in fields(DapoSettings)}
    for name, value in changed.items():
        moved = {k for k, v in dapo_overrides(replace(DapoSettings(), **{name: value})).items()
                 if base.get(k) != v}
        assert moved, f"{name} reaches no verl key"
    assert dapo_overrides(DapoSettings(val_every=0))["trainer.test_freq"] == -1


def test_validation_follows_the_evaluation_protocol() -> None:
    """The same settings as gains.json: the probe protocol keeps the rollout top_p."""
    inputs = VerlInputs("m", Path("t"), (), Path("/r"), 200, chat=False)
    overrides = {}
    for protocol in ("paper", "probe"):
        settings = TrainSettings(technique="ground-truth", backend="verl", eval_protocol=protocol,
                                 dapo=DapoSettings(top_p=0.95, temperature=0.8))
        overrides[protocol] = verl_overrides(settings, get_technique("ground-truth"), inputs,
                                             VerlCluster(), ENV)
    top_p = "actor_rollout_ref.rollout.val_kwargs.top_p"
    temperature = "actor_rollout_ref.rollout.val_kwargs.temperature"
    assert (overrides["paper"][temperature], overrides["paper"][top_p]) == (1.0, 0.7)
    assert (overrides["probe"][temperature], overrides["probe"][top_p]) == (1.0, 0.95)


def test_any_batch_size_keeps_groups_whole(monkeypatch: pytest.MonkeyPatch) -> None:
    """verl 0.9.1's v1 manager chunks PROMPTS over its agent-loop workers (each worker then
    spawns all rollout.n sessions of its prompts), so a group-level reward needs no batch-size
    constraint: a batch of 6 prompts over 8 workers, refused by the old check, is fine."""
    import torch
    from tensordict import TensorDict
    from verl.trainer.ppo.v1 import agent_loop_tq

    chunks = []

    class Worker:
        class generate_sequences:  # noqa: N801 - stands in for a Ray actor method
            @staticmethod
            def remote(chunk):
                chunks.append(chunk)

    manager = object.__new__(agent_loop_tq.AgentLoopManagerTQ)
    manager.agent_loop_workers = [Worker() for _ in range(8)]
    monkeypatch.setattr(agent_loop_tq.ray, "get", lambda refs: refs)
    manager.generate_sequences(TensorDict({"index": torch.arange(6)}, batch_size=[6]))
    assert sorted(int(i) for chunk in chunks for i in chunk["index"]) == list(range(6))
    settings = TrainSettings(technique="vote", backend="verl",
                             dapo=DapoSettings(batch_size=6, mini_batch_size=6))
    overrides = verl_overrides(settings, get_technique("vote"),
                               VerlInputs("m", Path("t"), (), Path("/r"), 200, chat=False), VerlCluster(), ENV)
    assert overrides["data.train_batch_size"] == 6


def test_write_config_keeps_resolved_yaml_and_overrides(paper, tmp_path: Path) -> None:
    config, args = paper
    path = write_config(config, args, tmp_path)
    assert path == tmp_path / CONFIG_FILE
    back = OmegaConf.load(path)
    assert back.actor_rollout_ref.rollout.n == 16
    assert back.actor_rollout_ref.rollout.response_length == 8192  # resolved, not ${...}
    assert "${" not in path.read_text(encoding="utf-8")
    assert (tmp_path / OVERRIDES_FILE).read_text(encoding="utf-8").splitlines() == args


def test_cluster_options_are_checked() -> None:
    cluster = VerlCluster.from_options({"nodes": 2, "gpus_per_node": 4, "device": "cpu",
                                        "ray_address": None})
    assert (cluster.nodes, cluster.gpus_per_node, cluster.ray_address) == (2, 4, None)
    with pytest.raises(BadInputError):
        VerlCluster.from_options({"gpus_per_node": 0})
    with pytest.raises(BadInputError):
        VerlCluster.from_options({"rollout_engine": "llama.cpp"})
    # the paper's gen_tp=4 when it divides a node's GPUs, else the largest of 2 and 1 that does
    assert [VerlCluster.from_options({"gpus_per_node": g}).tensor_parallel
            for g in (8, 4, 6, 2, 1, 3)] == [4, 4, 2, 2, 1, 1]
    assert VerlCluster.from_options({}).gpu_memory_utilization == 0.80
    with pytest.raises(BadInputError, match="does not divide"):
        VerlCluster.from_options({"gpus_per_node": 2, "tensor_parallel": 4})
