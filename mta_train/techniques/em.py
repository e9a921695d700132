"""em: entropy minimization on self-generated samples (Table 2 "EM"; Agarwal et al.'s EM-RL).

Differences from DAPO with ground-truth reward:
1. No external reward: the reward of a response is its mean token log-probability under the
   policy that sampled it, which is minus the Monte-Carlo estimate of its per-token entropy
   (EM-RL with the trajectory-level reward of Agarwal et al.; not EM-FT, which minimizes the
   token entropy directly by gradient descent).
2. Advantages are DAPO's group-normalized ones on that continuous reward, so dynamic sampling
   drops only groups whose rewards are all equal (it almost never happens).
The reward needs the log-probabilities, so it is computed after them: the local trainer scores
the responses before rewarding them; on verl, whose custom advantage estimators never see
log-probs, the group hook `MtaAgentLoopManager` (mta_train/verl_plugin.py) rewards each group with
the rollout engine's own log-probs (`rollout.calculate_log_probs`), before dynamic sampling.
The paper's code read log-probs that were not computed yet and crashed (defect 3 in docs/train.md).
"""

from __future__ import annotations

from mta_probe.errors import BadInputError
from mta_train.reward import Group, Reward, graded
from mta_train.technique import Technique, Variant

SOURCE = "model-task-align-rl src/syn_logic_reward.py:317-331 (entropy_min; score_type=extropy_min)"


def reward(group: Group) -> list[Reward]:
    """Each response's mean token log-probability (higher = lower entropy)."""
    if group.mean_logprobs is None:
        raise BadInputError("entropy minimization needs the responses' log-probabilities")
    return graded(group, list(group.mean_logprobs))


TECHNIQUE = Technique(
    name="em",
    summary="reward = mean token log-prob of the response (entropy minimization, EM-RL)",
    variants={"paper": Variant(reward, SOURCE)},
    needs_logprobs=True,
    uses_labels=False,
)
