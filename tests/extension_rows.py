"""What a contributor writes to add a verifier, a technique, a backend and a task: one module of
their own each (here, for the test, one module for all four), and one row in each table
(tests/test_extension.py adds the rows). Nothing else in mta changes."""

from __future__ import annotations

from mta_probe.problem import Problem
from mta_probe.sampling import Completion, Sampler, SamplingSettings
from mta_probe.tasks import TaskOptions
from mta_probe.verify import NO_ANSWER, Verdict, extract_answer
from mta_train.reward import Group, Reward, ground_truth
from mta_train.technique import Technique, Variant

CAPITALS = {"France": "Paris", "Italy": "Rome", "Spain": "Madrid", "Japan": "Tokyo"}


# --- a verifier: the answer in capitals, compared without regard to case --------------------

def verify_shouted(completion: str, problem: Problem) -> Verdict:
    """Right when the marked answer, upper-cased, is the gold upper-cased."""
    answer = extract_answer(completion)
    if answer is None:
        return Verdict(False, None, NO_ANSWER)
    return Verdict(answer.strip().upper() == problem.gold.strip().upper(), answer)


# --- a task ---------------------------------------------------------------------------------

def load_capitals(options: TaskOptions) -> list[Problem]:
    return [Problem(id=country, prompt=f"What is the capital of {country}? Answer in <answer></answer>.",
                    statement=f"What is the capital of {country}?", gold=capital)
            for country, capital in CAPITALS.items()]


# --- a technique: ground-truth reward, only wrong answers keep their advantage below 0.5 ----

def keeps_low(score: float) -> bool:
    return score < 0.5


def reward(group: Group) -> list[Reward]:
    return ground_truth(group)


TECHNIQUE = Technique(name="low-only", summary="ground truth; only low-scored responses keep their advantage",
                      variants={"paper": Variant(reward, "tests/extension_rows.py")}, keeps=keeps_low)


# --- a backend: an engine that always answers "<answer>PARIS</answer>" ----------------------

class ParisSampler(Sampler):
    name = "paris"
    prompts_per_call = 3
    continues = True

    def __init__(self, model: object, chat: bool | None = None) -> None:
        self.chat = bool(chat)

    def sample(self, prompts: list[str], n: int | list[int], settings: SamplingSettings,
               seed: int | list[int], start: list[int] | None = None) -> list[list[Completion]]:
        counts = [n] * len(prompts) if isinstance(n, int) else list(n)
        return [[Completion("<answer>PARIS</answer>", 3, "stop") for _ in range(count)] for count in counts]


def paris_sampler() -> type[Sampler]:
    return ParisSampler
