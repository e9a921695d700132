"""one-shot: one example (or two) repeated to fill every batch (Section 5, Table 5; Wang et al.).

Differences from DAPO with ground-truth reward:
1. The training set is one problem (`--one-shot ID`) or two, repeated to fill each batch of
   `batch_size` prompts; the paper's "random-1", "random-2" and "selected-1".
2. Without ids, the example is drawn at random with the run's seed (random-1). Wang et al.'s
   choice (the example whose training accuracy varied most) comes from
   `mta train select-example`, which reads a logged accuracy history (mta_train/selection.py).
Reward, advantages and the rest are DAPO's.
"""

from __future__ import annotations

from mta_train.technique import Technique, Variant
from mta_train.techniques.ground_truth import SOURCE, reward

TECHNIQUE = Technique(
    name="one-shot",
    summary="one (or two) training examples repeated to fill the batch",
    variants={"paper": Variant(reward, SOURCE)},
    data="one-shot",
)
