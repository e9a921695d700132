"""Every RL technique of the paper, one file each; the table users pick from.

The KL-penalty variant of Table 13 is not a technique: it is `DapoSettings.kl_coef` (0.001 in
the paper), usable with any of them (`mta train --kl-coef 0.001`).
"""

from __future__ import annotations

from mta_probe.errors import row_of
from mta_train.technique import Technique
from mta_train.techniques.incorrect import LABEL_KEY
from mta_train.techniques import (
    em,
    format_reward,
    ground_truth,
    incorrect,
    nsr,
    one_shot,
    psr,
    random_reward,
    ttrl,
    vote,
)

TECHNIQUES: dict[str, Technique] = {
    "ground-truth": ground_truth.TECHNIQUE,
    "random": random_reward.TECHNIQUE,
    "incorrect": incorrect.TECHNIQUE,
    "format": format_reward.TECHNIQUE,
    "vote": vote.TECHNIQUE,
    "em": em.TECHNIQUE,
    "ttrl": ttrl.TECHNIQUE,
    "one-shot": one_shot.TECHNIQUE,
    "nsr": nsr.TECHNIQUE,
    "psr": psr.TECHNIQUE,
}


def get_technique(name: str) -> Technique:
    """The technique called `name`.

    Raises:
        BadInputError: no such technique (the message lists the known ones).
    """
    return row_of(TECHNIQUES, name, "technique")


__all__ = ["LABEL_KEY", "TECHNIQUES", "get_technique"]
