"""The DAPO hyperparameters of the paper, in one frozen dataclass, and what a train run needs.

Defaults are the paper's (Section 3 and the launch scripts of its code, github hkust-nlp/model-task-align-rl): DAPO with
group size 16, clip 0.2/0.28, token-mean loss, dynamic sampling with two generation batches,
lr 1e-6, batch 128, mini-batch 64, 300 steps, validation every 20 steps, no KL. The local backend
starts from `DapoSettings.small()`, the same objective at a size one CPU can run.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from mta_probe.errors import BadInputError
from mta_probe.runs import check_loggers
from mta_probe.tasks import TaskOptions

if TYPE_CHECKING:
    from mta_train.technique import Technique

Backend = Literal["local", "verl"]


@dataclass(frozen=True)
class DapoSettings:
    """DAPO as the paper runs it (Section 3; Appendix I.1 for the KL variant).

    Attributes:
        group_size: rollouts per prompt (verl `rollout.n`), 16.
        clip_low: lower clip epsilon of the ratio, 0.2.
        clip_high: upper clip epsilon (DAPO's clip-higher), 0.28.
        clip_c: dual-clip bound for negative advantages (verl `clip_ratio_c`), 10.0.
        loss_agg_mode: "token-mean": every token of the batch weighs the same.
        dynamic_sampling: drop groups whose rewards are all equal (DAPO), on.
        max_num_gen_batches: generation batches tried before the paper's fallback, 2.
        lr: learning rate, 1e-6.
        warmup_steps: linear warm-up steps, 10.
        weight_decay: AdamW weight decay, 0.1.
        grad_clip: gradient norm clip, 1.0.
        batch_size: prompts per step, 128.
        mini_batch_size: prompts per optimizer update (verl `ppo_mini_batch_size`), 64.
        steps: training steps, 300 (Table 3's TTRL runs use 30: `for_technique`).
        val_every: validate every this many steps, 20 (0: only before and after).
        save_every: checkpoint every this many steps, 50 (`trainer.save_freq=50` in every
            script); the last step is always saved.
        temperature: rollout temperature, 1.0.
        top_p: rollout nucleus, 1.0.
        max_prompt_length: prompt tokens, 2048.
        max_response_length: response tokens, 8192.
        kl_coef: KL penalty in the loss, 0 (DAPO); Table 13 uses 0.001.
        entropy_coeff: entropy bonus, 0.
        seed: seed of rollouts, random rewards and data order.
    """

    group_size: int = 16
    clip_low: float = 0.2
    clip_high: float = 0.28
    clip_c: float = 10.0
    loss_agg_mode: str = "token-mean"
    dynamic_sampling: bool = True
    max_num_gen_batches: int = 2
    lr: float = 1e-6
    warmup_steps: int = 10
    weight_decay: float = 0.1
    grad_clip: float = 1.0
    batch_size: int = 128
    mini_batch_size: int = 64
    steps: int = 300
    val_every: int = 20
    save_every: int = 50
    temperature: float = 1.0
    top_p: float = 1.0
    max_prompt_length: int = 2048
    max_response_length: int = 8192
    kl_coef: float = 0.0
    entropy_coeff: float = 0.0
    seed: int = 0

    def __post_init__(self) -> None:
        positive = ("group_size", "batch_size", "mini_batch_size", "steps", "max_num_gen_batches",
                    "max_prompt_length", "max_response_length", "save_every")
        for name in positive:
            if getattr(self, name) < 1:
                raise BadInputError(f"{name} must be at least 1, got {getattr(self, name)}")
        if self.group_size < 2:
            raise BadInputError("group_size must be at least 2: advantages are group-relative")
        if self.mini_batch_size > self.batch_size:
            raise BadInputError(f"mini_batch_size {self.mini_batch_size} exceeds batch_size "
                                f"{self.batch_size}")
        if not (0 <= self.clip_low < 1 and self.clip_high >= 0 and self.clip_c > 1):
            raise BadInputError("clips need 0 <= clip_low < 1, clip_high >= 0, clip_c > 1")
        if not (self.lr > 0 and self.grad_clip > 0):  # `not >` also refuses nan
            raise BadInputError("lr and grad_clip must be positive")
        if not min(self.kl_coef, self.val_every, self.warmup_steps, self.weight_decay) >= 0:
            raise BadInputError("kl_coef, val_every, warmup_steps, weight_decay must be >= 0")
        if not (self.temperature > 0 and 0 < self.top_p <= 1):
            raise BadInputError("temperature must be > 0 and top_p in (0, 1]")
        if self.loss_agg_mode not in LOSS_AGG_MODES:
            raise BadInputError(f"loss_agg_mode must be one of {', '.join(LOSS_AGG_MODES)}")

    @classmethod
    def small(cls, **changes: Any) -> DapoSettings:
        """The same objective at a size one CPU runs in minutes (the local backend's default).

        Smaller groups, batches and responses, and a larger learning rate: at lr 1e-6 a
        handful of steps would not move a model at all. Everything else is the paper's.
        Sized so that `mta train --technique random` with no size option finishes in minutes
        on the embedded 135M model on two CPU cores (docs/train.md, "Defaults that finish"):
        6 steps of 2 prompts x 8 rollouts of up to 64 tokens.
        """
        base = cls(group_size=8, batch_size=2, mini_batch_size=2, steps=6, val_every=0,
                   save_every=3, lr=1e-5, warmup_steps=0, max_prompt_length=512,
                   max_response_length=64)
        return replace(base, **changes)

    @classmethod
    def for_technique(cls, technique: Technique, **changes: Any) -> DapoSettings:
        """The paper's settings for `technique`: DAPO's, with the technique's own step count
        where the paper ran it differently (TTRL: 30 steps, Section 4.2)."""
        steps = {"steps": technique.paper_steps} if technique.paper_steps else {}
        return replace(cls(), **{**steps, **changes})

    @classmethod
    def default(cls, technique: str, backend: str) -> DapoSettings:
        """What a run gets when it names no DAPO value: `small()` on the local backend (one
        CPU), the paper's settings for the technique on verl (`for_technique`)."""
        if backend == "local":
            return cls.small()
        from mta_train.techniques import get_technique

        return cls.for_technique(get_technique(technique))

    def changed(self, **changes: Any) -> DapoSettings:
        """These settings with `changes`; a batch made smaller than the mini-batch takes the
        mini-batch down with it, unless a mini-batch is given too (`--batch-size 8` alone on
        verl, whose mini-batch is 64, trains on mini-batches of 8)."""
        if "batch_size" in changes and "mini_batch_size" not in changes:
            changes["mini_batch_size"] = min(self.mini_batch_size, changes["batch_size"])
        return replace(self, **changes)


# How a training prompt is made (mta_train.data): the paper's think/answer instruction, or the
# task's own prompt.
TRAIN_PROMPTS = ("paper", "task")

LOSS_AGG_MODES = ("token-mean", "seq-mean-token-sum", "seq-mean-token-mean")

# The local backend's evaluation size when the user names none (`mta train` without
# --eval-limit): the first 20 problems of each evaluation task, so the evaluations before and
# after take about a minute each on a CPU (docs/train.md, "Defaults that finish"). The paper
# scores whole benchmarks; TrainSettings.eval_limit's own default (None) is that.
LOCAL_EVAL_LIMIT = 20


@dataclass(frozen=True)
class LocalSettings:
    """How the local backend uses its one device. Not the paper's concern (it trained with verl
    on 8 GPUs); these only trade memory for time and never change what is computed beyond
    floating-point rounding.

    Attributes:
        device: "cpu", "cuda" or "cuda:N"; None: CUDA when torch sees it, else the CPU.
        micro_batch_size: sequences per forward and backward pass: bounds the activations
            held at once (gradients add up over a mini-batch).
        logits_chunk: response tokens whose logits exist at once (mta_train/logprobs.py); 0
            computes them all at once.
        gradient_checkpointing: recompute each layer's activations in the backward pass
            instead of keeping them (the paper's scripts: `enable_gradient_checkpointing=True`).
        bf16_autocast: on CUDA, run forward passes in bfloat16 autocast over float32 master
            weights and optimizer state (as verl's FSDP mixed precision); ignored on the CPU.
    """

    device: str | None = None
    micro_batch_size: int = 8
    logits_chunk: int = 1024
    gradient_checkpointing: bool = True
    bf16_autocast: bool = True

    def __post_init__(self) -> None:
        if self.micro_batch_size < 1 or self.logits_chunk < 0:
            raise BadInputError(f"micro_batch_size must be at least 1 and logits_chunk at least 0, got "
                                f"{self.micro_batch_size} and {self.logits_chunk}")


@dataclass(frozen=True)
class TrainSettings:
    """One train run: which technique, model and task, on which backend.

    Attributes:
        technique: a key of mta_train.techniques.TECHNIQUES.
        model: a model alias, hub id, folder or GGUF file (as `mta probe passk --model`).
        task: the training task (a key of TASKS, `gym:NAME` or a JSONL file). TTRL trains on
            the first evaluation task instead (unlabelled), as the paper does (Section 4.2).
        eval_tasks: tasks scored before and after training for gains.json; default: the task.
        backend: "local" (this machine, CPU or one GPU) or "verl" (Ray cluster).
        dapo: the optimisation settings; None: the backend's default for the technique
            (`DapoSettings.default`: a CPU-sized run locally, the paper's on verl), resolved
            when the settings are made.
        task_options: options of the tasks (data folders, gym generator options).
        train_limit: use only the first N training problems (None: all).
        eval_limit: score only the first N problems of each evaluation task; 0: every problem;
            None: the backend's default (`LOCAL_EVAL_LIMIT` locally, every problem on verl).
            `eval_count` is the resolved value.
        eval_k: samples per evaluation problem, the k of avg@k (mean accuracy); None takes the
            paper's k per benchmark (8 on AIME24, SynLogic and code, 1 elsewhere:
            mta_train/evaluation.py PAPER_EVAL_K).
        eval_protocol: how every evaluation samples and scores, a key of
            mta_train.evaluation.EVAL_PROTOCOLS: "paper" (training prompt, first <answer>,
            temperature 1.0, top_p 0.7) or "probe" (the task's prompt, the verifier's own
            extraction, the rollout top_p).
        eval_max_tokens: response tokens when evaluating (None: dapo.max_response_length).
        variant: which published definition of the technique's reward (Technique.variants):
            "paper" (its scripts), or e.g. "shao" (Shao et al.'s random, format and incorrect).
        label_samples: rollouts per problem for Shao et al.'s fixed incorrect labels (math
            "incorrect"), 64 as `majority_voting_labeling.py --num_rollout`.
        verify_workers: verifier processes of the evaluations (0: in this process, no hard
            timeout).
        local: how the local backend uses its device.
        one_shot: for `one-shot`: problem ids of the example(s) (None: chosen at random with
            the seed; `mta train select-example` gives Wang et al.'s choice).
        run_dir: where the run lives (None: under $MTA_HOME/runs/train/).
        backend_options: verl's cluster values ("nodes", "gpus_per_node", "ray_address",
            "rollout_engine", ...) and "eval_backend" (the mta_probe sampler of the before/after
            evaluations; None: vLLM with a GPU, else hf).
        dry_run: verl only: write the configuration and print the command without launching.
        require_format: the reward needs the `<think>`/`<answer>` format AND a correct answer,
            as in the paper (Appendix B); False rewards correctness alone, for models that never
            produce the tags (the embedded 135M model), and is not the paper's setting.
        train_prompt: how rollouts (and the "paper" evaluation protocol) are prompted, a key of
            TRAIN_PROMPTS: "paper" (the think/answer instruction, Appendix B) or
            "task" (the task's own prompt, as `mta probe passk` sends it; not the paper's
            setting: for models that cannot follow the think/answer instruction).
        loggers: experiment trackers the step metrics also go to, keys of
            mta_probe.runs.TRACKERS ("console", "tensorboard", "wandb"; on verl also "mlflow",
            "swanlab", "clearml"), under verl's metric names (mta_train/tracked.py). verl gets
            them as `trainer.logger`, always between its `console` (into verl.log) and its
            `file` logger, which mta reads; () logs to no tracker. Not the paper's concern: its
            scripts log to wandb.
    """

    technique: str
    model: str = "smollm2-135m"
    task: str = "arith-quick"
    eval_tasks: tuple[str, ...] = ()
    backend: Backend = "local"
    dapo: DapoSettings = None  # type: ignore[assignment]  # None: resolved in __post_init__
    task_options: TaskOptions = field(default_factory=TaskOptions)
    train_limit: int | None = None
    eval_limit: int | None = None
    eval_k: int | None = None
    eval_protocol: str = "paper"
    eval_max_tokens: int | None = None
    variant: str = "paper"
    label_samples: int = 64
    verify_workers: int = 2
    one_shot: tuple[str, ...] | None = None
    run_dir: Path | None = None
    local: LocalSettings = field(default_factory=LocalSettings)
    backend_options: dict[str, Any] = field(default_factory=dict)
    dry_run: bool = False
    require_format: bool = True
    train_prompt: str = "paper"
    loggers: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.backend not in ("local", "verl"):
            raise BadInputError(f"unknown backend {self.backend!r}; use local or verl")
        if self.eval_protocol not in ("paper", "probe"):
            raise BadInputError(f"unknown evaluation protocol {self.eval_protocol!r}; use paper or probe")
        if self.train_prompt not in TRAIN_PROMPTS:
            raise BadInputError(f"unknown training prompt {self.train_prompt!r}; use paper or task")
        if self.label_samples < 2 or self.verify_workers < 0:
            raise BadInputError("label_samples must be at least 2 and verify_workers at least 0")
        for name in ("train_limit", "eval_max_tokens", "eval_k"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise BadInputError(f"{name} must be at least 1, got {value}")
        if self.eval_limit is not None and self.eval_limit < 0:
            raise BadInputError(f"eval_limit must be at least 0 (0: every problem), got {self.eval_limit}")
        check_loggers(self.loggers, local=self.backend == "local")
        if self.dapo is None:
            object.__setattr__(self, "dapo", DapoSettings.default(self.technique, self.backend))

    @property
    def eval_count(self) -> int | None:
        """How many problems of each evaluation task are scored (None: all of them): `eval_limit`
        resolved (None: the backend's default; 0: all)."""
        if self.eval_limit is None:
            return LOCAL_EVAL_LIMIT if self.backend == "local" else None
        return self.eval_limit or None

    @property
    def evaluation(self) -> tuple[str, ...]:
        """The evaluation tasks, defaulting to the training task."""
        return self.eval_tasks or (self.task,)

    def as_json(self) -> dict[str, Any]:
        """Every value, JSON-ready (what train.json records)."""
        data = asdict(self)
        data["eval_limit"] = self.eval_count
        data["task_options"] = {"data_dir": str(self.task_options.data_dir or "") or None,
                                "gym": dict(self.task_options.gym),
                                "verifier": self.task_options.verifier}
        data["run_dir"] = str(self.run_dir) if self.run_dir else None
        data["local"] = asdict(self.local)
        data["eval_tasks"] = list(self.evaluation)
        data["one_shot"] = list(self.one_shot) if self.one_shot else None
        data["loggers"] = list(self.loggers)
        return data
