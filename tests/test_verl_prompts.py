"""What verl's own data and agent-loop code make of a run's rows, under mta's configuration.

verl 0.9.1's `RLHFDataset` (through `create_rl_dataset`, as its v1 trainer calls it) reads the
parquet mta writes, and the agent loop the configuration names (verl's single-turn loop, or
mta's raw-text loop registered through `agent_loop_config_path`, instantiated as verl's worker
does) turns each row into the prompt token ids the rollout engine receives. Only the engine is a
stand-in (it records the ids and returns two tokens).
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("verl")

from omegaconf import OmegaConf

from mta_probe.sampling import open_sampler, resolve_model
from mta_train.data import training_prompt
from mta_train.settings import DapoSettings, TrainSettings
from mta_train.techniques import get_technique
from mta_train.verl_launch import plan_launch, write_launch


class _RecordingServer:
    """Stands in for verl's LLM server client: records the prompt ids it is sent."""

    def __init__(self) -> None:
        self.prompt_ids: list[int] | None = None

    async def generate(self, *, prompt_ids: list[int], **_: Any) -> Any:
        from verl.workers.rollout.replica import TokenOutput

        self.prompt_ids = list(prompt_ids)
        return TokenOutput(token_ids=[1, 1], stop_reason="completed")


def _settings(run_dir: Path, model: str, **dapo: Any) -> TrainSettings:
    return TrainSettings(technique="ground-truth", model=model, backend="verl", run_dir=run_dir,
                         eval_limit=2, dapo=DapoSettings(batch_size=16, mini_batch_size=16, **dapo),
                         backend_options={"gpus_per_node": 1})


def _planned(tmp_path: Path, tiny_llama_dir: Path, chat: bool, **dapo: Any):
    """mta's configuration of a run on the tiny model, its files written; verl's tokenizer."""
    from transformers import AutoTokenizer

    run_dir = tmp_path / "run"
    settings = _settings(run_dir, str(tiny_llama_dir), **dapo)
    plan = plan_launch(settings, get_technique("ground-truth"), run_dir, str(tiny_llama_dir), chat)
    write_launch(plan, run_dir)
    return plan.config, AutoTokenizer.from_pretrained(tiny_llama_dir)


def _verl_dataset(config: Any, tokenizer: Any, files: Any) -> Any:
    from verl.trainer.ppo.utils import create_rl_dataset

    return create_rl_dataset(files, config.data, tokenizer, None)


def _agent_prompt_ids(config: Any, tokenizer: Any, raw_prompt: list[dict]) -> list[int]:
    """The ids verl's agent loop sends the engine: the loop named by the configuration, looked
    up as `AgentLoopWorker.__init__` and `_run_agent_loop` do (verl 0.9.1 agent_loop.py)."""
    import hydra
    from verl.experimental.agent_loop import agent_loop as verl_loop
    from verl.utils.dataset.rl_dataset import RLHFDataset

    agent = config.actor_rollout_ref.rollout.agent
    registry = dict(verl_loop._agent_loop_registry)
    if agent.agent_loop_config_path:
        for entry in OmegaConf.load(agent.agent_loop_config_path):
            registry[entry.name] = entry
    server = _RecordingServer()

    async def run() -> None:  # in the event loop, as verl's worker builds its agent loops
        loop = hydra.utils.instantiate(
            config=registry[agent.default_agent_loop],
            trainer_config=verl_loop.DictConfigWrap(config=config), server_manager=server,
            tokenizer=tokenizer, processor=None, hf_model_type=None, dataset_cls=RLHFDataset,
            data_config=verl_loop.DictConfigWrap(config.data), tools=verl_loop.ToolListWrap([]))
        await loop.run({}, raw_prompt=raw_prompt)

    asyncio.run(run())
    assert server.prompt_ids is not None
    return server.prompt_ids


@pytest.mark.parametrize("chat", [False, True])
def test_verl_sends_the_prompt_mta_evaluates_with(chat: bool, tmp_path: Path,
                                                  tiny_llama_dir: Path) -> None:
    """Issue 22: verl rendered every prompt through the chat template while mta's evaluations
    (and the local trainer, and the fixed-label pass) send a model whose chat flag is off (the
    `qwen` alias) raw text. Training and validation rows now reach the engine as the same ids
    mta's own sampler makes of the same prompt, with the chat flag of the run."""
    config, tokenizer = _planned(tmp_path, tiny_llama_dir, chat)
    sampler = open_sampler("hf", resolve_model(str(tiny_llama_dir)), chat=chat)
    try:
        for files in (config.data.train_files, config.data.val_files):
            row = _verl_dataset(config, tokenizer, files)[0]
            sent = _agent_prompt_ids(config, tokenizer, row["raw_prompt"])
            assert sent == sampler.encode(row["raw_prompt"][0]["content"])
    finally:
        sampler.close()
    assert (sent == _templated(tokenizer, row["raw_prompt"])) is chat  # raw text differs


@pytest.mark.parametrize("chat", [False, True])
def test_long_prompts_are_kept_and_cut_from_the_left(chat: bool, tmp_path: Path,
                                                     tiny_llama_dir: Path) -> None:
    """Issue 22: verl's `filter_overlong_prompts` dropped every row longer than
    max_prompt_length, and with fewer than one batch left its steps per epoch
    (`len(train_dataset) // train_batch_size`, v1 trainer_base.py) were 0 and its trainer divided
    by zero. The paper keeps every prompt and cuts it from the left (`data.truncation='left'`):
    so does mta's configuration, through verl's own agent loop."""
    config, tokenizer = _planned(tmp_path, tiny_llama_dir, chat, max_prompt_length=4)
    dataset = _verl_dataset(config, tokenizer, config.data.train_files)
    assert len(dataset) == 16  # arith-quick's 10 problems repeated to a batch; none dropped
    assert len(dataset) // config.data.train_batch_size == 1
    row = dataset[0]
    sent = _agent_prompt_ids(config, tokenizer, row["raw_prompt"])
    content = row["raw_prompt"][0]["content"]
    assert content == training_prompt(_arith_first(), "gym")
    full = _templated(tokenizer, row["raw_prompt"]) if chat else tokenizer(content).input_ids
    assert len(full) > 4 and sent == full[-4:]


def _templated(tokenizer: Any, messages: list[dict]) -> list[int]:
    """The chat template's rendering of `messages`, as ids (the template writes any BOS)."""
    text = tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)
    return list(tokenizer(text, add_special_tokens=False).input_ids)


def _arith_first() -> Any:
    from mta_probe.tasks import load_task

    return load_task("arith-quick").problems[0]
