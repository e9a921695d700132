"""ttrl: test-time RL (Section 4.2, Table 3; Zuo et al.): majority vote on the evaluation set.

Differences from DAPO with ground-truth reward:
1. Reward as `vote`: the group's majority answer is the label, format AND agreement earns 1.
2. The training prompts are the evaluation task's problems, unlabelled (the labels are never
   read for training; they are used only to report accuracy before and after).
3. On verl the group is scored by the agent-loop hook `MtaAgentLoopManager`
   (mta_train/verl_plugin.py), as for `vote`.
4. Zuo et al. vote over 64 samples and train on 32 of them; mta, like the paper's DAPO setup,
   votes and trains on the same group (`group_size`, 16 by default).
5. The paper trains TTRL for 30 steps, not 300 (Section 4.2): `paper_steps`, the default of
   `mta train --technique ttrl` on verl.
6. Each step logs `majority_ratio`, `label_accuracy` and maj@k as vote does; on TTRL the
   training prompts are the evaluation set, so `label_accuracy` is the evaluation set's maj@k
   during training (Table 4).
"""

from __future__ import annotations

from mta_train.technique import Technique, Variant
from mta_train.techniques.vote import SOURCE, reward

PAPER_STEPS = 30  # Section 4.2: "we trained for 30 steps on all test datasets"

TECHNIQUE = Technique(
    name="ttrl",
    summary="majority vote trained on the unlabelled evaluation set (test-time RL)",
    variants={"paper": Variant(reward, SOURCE)},
    data="eval",
    group_level=True,
    uses_labels=False,
    paper_steps=PAPER_STEPS,
)
