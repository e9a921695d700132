"""nsr: negative sample reinforcement (Section 6, Table 6; Zhu et al.).

Differences from DAPO with ground-truth reward:
1. The GRPO advantage of every response with score 1 (correct and formatted) is multiplied by 0:
   only wrong responses push the policy. Samples are zeroed, not dropped, so token-mean still
   divides by all tokens of the batch, as the paper's code does.
Zhu et al.'s NSR uses A = -1 without group normalization; the paper (and mta) masks the
normalized GRPO advantage instead (its scripts: `algorithm.adv_estimator=nsr|psr`, a mask on GRPO).
"""

from __future__ import annotations

from mta_train.technique import Technique, Variant
from mta_train.techniques.ground_truth import SOURCE, reward



def keeps_negative(score: float) -> bool:
    """The NSR mask: a response keeps its advantage unless it earned the full reward."""
    return score < 1


TECHNIQUE = Technique(
    name="nsr",
    summary="only responses with reward 0 keep their advantage (negative samples only)",
    variants={"paper": Variant(reward, SOURCE)},
    keeps=keeps_negative,
)
