"""What a technique is: a reward over a group, an advantage rule and a choice of training data.

Every technique of the paper is plain DAPO (mta_train/settings.py) with some of these three
changed; each lives in one file under mta_train/techniques/ whose docstring lists the changes.

A reward may have more than one published definition: the paper's (its scripts, the default)
and the original authors' (Shao et al.'s spurious rewards). Each is a named `Variant` of the
technique, chosen with `TrainSettings.variant` (`mta train --variant NAME`), and records the
file and lines it follows.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Literal

from mta_probe.errors import BadInputError
from mta_train.reward import Group, Reward

TrainingData = Literal["train", "eval", "one-shot"]
DEFAULT_VARIANT = "paper"


@dataclass(frozen=True)
class Variant:
    """One published definition of a technique's reward.

    Attributes:
        reward: scores the rollouts of one prompt.
        source: the script (file and lines) this definition follows.
        fixed_label: on math tasks, the reward reads Shao et al.'s fixed per-problem incorrect
            label (`problem.meta["incorrect_label"]`, made before training by
            mta_train/labels.py) instead of the true one.
    """

    reward: Callable[[Group], list[Reward]]
    source: str
    fixed_label: bool = False


@dataclass(frozen=True)
class Technique:
    """One row of TECHNIQUES.

    Attributes:
        name: the key users type (`mta train --technique NAME`).
        summary: one line for listings.
        variants: name -> Variant; "paper" (the paper's scripts) is the default.
        keeps: None for plain GRPO advantages; else the paper's mask (NSR / PSR, Section 6):
            only responses whose score it accepts keep their group-normalized advantage, the
            others stay in the batch with advantage 0. A top-level function of the technique's
            module (verl's workers receive it pickled by reference).
        data: "train" (the task's training set), "eval" (the evaluation set, unlabelled: TTRL)
            or "one-shot" (one or two examples repeated to fill the batch).
        group_level: the reward of a response depends on the other responses of its group
            (majority vote), so it cannot be a per-sample reward function.
        needs_logprobs: the reward reads the policy's log-probabilities (entropy minimization),
            so it can only be computed after they are.
        uses_labels: the reward reads the true label (False for the self-rewarded ones).
        paper_steps: training steps the paper ran this technique for when they differ from
            DAPO's 300 (TTRL: 30, Section 4.2); `DapoSettings.for_technique` applies them.
    """

    name: str
    summary: str
    variants: Mapping[str, Variant]
    keeps: Callable[[float], bool] | None = None
    data: TrainingData = "train"
    group_level: bool = False
    needs_logprobs: bool = False
    uses_labels: bool = True
    paper_steps: int | None = None

    @property
    def estimator(self) -> str:
        """verl's `algorithm.adv_estimator`: "grpo", or the technique's own name for a masked
        one (mta_train/verl_plugin.py registers one estimator per technique with `keeps`)."""
        return "grpo" if self.keeps is None else self.name

    @property
    def reward(self) -> Callable[[Group], list[Reward]]:
        """The paper's reward (the default variant)."""
        return self.variants[DEFAULT_VARIANT].reward

    def variant(self, name: str) -> Variant:
        """The variant called `name`.

        Raises:
            BadInputError: the technique has no such variant (the message lists its variants).
        """
        if name not in self.variants:
            raise BadInputError(f"{self.name} has no reward variant {name!r}; its variants: "
                                f"{', '.join(self.variants)}")
        return self.variants[name]
