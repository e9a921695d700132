"""mta_probe: how aligned is a model with a task, before any RL is spent on it.

The verbs: `probe_passk` samples and scores a model on a task and estimates its pass@k curve;
`score_completions` does the same for completions produced elsewhere; `refit_passk` fits a
finished run's curve beyond n again; `probe_contamination`
measures how much of a task's statements the model can recite; `probe_kl` how far a trained
policy moved from its reference; `probe_alignment` sorts a model-task pair into red, green or
gray; `estimate` is the unbiased pass@k estimator with bootstrap intervals; `load_task` and
`resolve_model` turn names into problems and models.

The probes are the modules at this level (passk, rescore, refit, contam, kl, align and its
rule, category); what they stand on is one package per step of the data flow: tasks -> sampling
-> verify -> collect (a run's records, adaptive rounds) -> runs -> estimators. ARCHITECTURE.md at the project root draws the map.
"""

import os
from typing import TYPE_CHECKING

# torch's OpenMP threads spin while they wait for work. Where cores are shared (verifier
# workers, a second probe, a test suite), spinning threads starve each other: greedy decoding
# of the embedded model fell from 17 to 0.6 tokens/s on 2 busy cores. Passive waiting gave
# 16.6 tokens/s there. It must be set before torch loads its OpenMP runtime, hence here;
# a value the user set wins.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from mta_probe.exports import lazy_exports

if TYPE_CHECKING:
    from mta_probe.align import AlignResult, AlignSettings, passk_reading, probe_alignment
    from mta_probe.category import AlignRule
    from mta_probe.contam import ContamResult, ContamSettings, probe_contamination
    from mta_probe.errors import MtaError
    from mta_probe.estimators import AdaptiveSettings, FitSettings, PassAtK, estimate
    from mta_probe.kl import KLResult, KLSettings, probe_kl
    from mta_probe.passk import probe_passk
    from mta_probe.passk_settings import PassKResult, PassKSettings
    from mta_probe.refit import RefitSettings, refit_passk
    from mta_probe.rescore import score_completions
    from mta_probe.sampling import SamplingSettings, resolve_model
    from mta_probe.tasks import TASKS, TaskOptions, load_task

# Name -> the module it comes from, imported on first use (mta_probe/exports.py).
_EXPORTS = {
    "AlignResult": "mta_probe.align",
    "AlignSettings": "mta_probe.align",
    "passk_reading": "mta_probe.align",
    "probe_alignment": "mta_probe.align",
    "AlignRule": "mta_probe.category",
    "ContamResult": "mta_probe.contam",
    "ContamSettings": "mta_probe.contam",
    "probe_contamination": "mta_probe.contam",
    "MtaError": "mta_probe.errors",
    "AdaptiveSettings": "mta_probe.estimators",
    "FitSettings": "mta_probe.estimators",
    "PassAtK": "mta_probe.estimators",
    "estimate": "mta_probe.estimators",
    "KLResult": "mta_probe.kl",
    "KLSettings": "mta_probe.kl",
    "probe_kl": "mta_probe.kl",
    "PassKResult": "mta_probe.passk_settings",
    "PassKSettings": "mta_probe.passk_settings",
    "probe_passk": "mta_probe.passk",
    "RefitSettings": "mta_probe.refit",
    "refit_passk": "mta_probe.refit",
    "score_completions": "mta_probe.rescore",
    "SamplingSettings": "mta_probe.sampling",
    "resolve_model": "mta_probe.sampling",
    "TASKS": "mta_probe.tasks",
    "TaskOptions": "mta_probe.tasks",
    "load_task": "mta_probe.tasks",
}
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
__all__ = sorted(_EXPORTS)
