"""psr: positive sample reinforcement (Section 6, Table 6; Zhu et al.).

Differences from DAPO with ground-truth reward:
1. The GRPO advantage of every response with score 0 is multiplied by 0: only correct,
   formatted responses push the policy. Samples are zeroed, not dropped.
Zhu et al.'s PSR uses A = +1 without group normalization; the paper (and mta) masks the
normalized GRPO advantage instead (its scripts: `algorithm.adv_estimator=nsr|psr`, a mask on GRPO).
"""

from __future__ import annotations

from mta_train.technique import Technique, Variant
from mta_train.techniques.ground_truth import SOURCE, reward



def keeps_positive(score: float) -> bool:
    """The PSR mask: a response keeps its advantage only when it earned some reward."""
    return score > 0


TECHNIQUE = Technique(
    name="psr",
    summary="only responses with reward 1 keep their advantage (positive samples only)",
    variants={"paper": Variant(reward, SOURCE)},
    keeps=keeps_positive,
)
