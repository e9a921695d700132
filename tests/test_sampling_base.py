"""Seeds that never share a stream across problems, greedy detection, finish reasons, and `draw`."""

from __future__ import annotations

from itertools import pairwise

import pytest

from mta_probe.errors import BadInputError
from mta_probe.sampling import (
    Completion,
    Sampler,
    SamplingSettings,
    check_seed_streams,
    draw,
    is_greedy,
    problem_seed,
)
from mta_probe.sampling.base import SEED_STRIDE, prompt_seeds
from mta_probe.sampling.protocol import finish_reason
from mta_probe.tasks import load_task


def test_problem_seeds_are_stride_multiples_below_int64_and_stable() -> None:
    seed = problem_seed(0, "q1")
    assert seed == problem_seed(0, "q1") != problem_seed(1, "q1")
    assert seed % SEED_STRIDE == 0 and 0 <= seed < 2**63
    assert SEED_STRIDE > 16384  # vLLM's largest n (VLLM_MAX_N_SEQUENCES)


@pytest.mark.parametrize("task", ["arith-quick", "humaneval"])
def test_no_two_problems_of_a_real_task_share_a_sample_stream(task: str) -> None:
    problems = load_task(task).problems
    n = SEED_STRIDE  # the largest n allowed: streams [seed, seed + n) of vLLM's children
    for run_seed in (0, 1, 12345):
        seeds = [problem_seed(run_seed, p.id) for p in problems]
        check_seed_streams(seeds, n)
        children = {s + i for s in seeds for i in range(0, n, 997)} | {s + n - 1 for s in seeds}
        assert len(children) == len(seeds) * (len(range(0, n, 997)) + 1)  # no child seed twice
        ordered = sorted(seeds)
        assert min(b - a for a, b in pairwise(ordered)) >= n


def test_overlapping_streams_and_too_large_n_are_refused() -> None:
    with pytest.raises(BadInputError, match="overlap"):
        check_seed_streams([0, 100], 512)  # the old scheme: crc32 seeds a few hundred apart
    with pytest.raises(BadInputError, match="exceeds"):
        check_seed_streams([0], SEED_STRIDE + 1)
    check_seed_streams([0, 512], 512)


def test_an_int_seed_gives_each_prompt_its_own_stride() -> None:
    assert prompt_seeds(5, 3) == [5, 5 + SEED_STRIDE, 5 + 2 * SEED_STRIDE]
    assert prompt_seeds([9, 4], 2) == [9, 4]
    with pytest.raises(ValueError, match="2 seeds for 3 prompts"):
        prompt_seeds([1, 2], 3)


def test_greedy_is_asked_for_or_a_zero_temperature() -> None:
    assert is_greedy(SamplingSettings(greedy=True)) and is_greedy(SamplingSettings(temperature=0.0))
    assert is_greedy(SamplingSettings(temperature=5e-6))  # vLLM's threshold is 1e-5
    assert not is_greedy(SamplingSettings(temperature=1e-4))


def test_only_stop_and_length_are_scored() -> None:
    assert [finish_reason(r) for r in ("stop", "length", "abort", None, "REPETITION")] == [
        "stop", "length", "abort", "error", "repetition"]
    scored = [Completion("x", 1, reason).scored for reason in ("stop", "length", "abort", "error", "repetition")]
    assert scored == [True, True, False, False, False]


class Grouped(Sampler):
    prompts_per_call = 2

    def __init__(self) -> None:
        self.calls: list[list[str]] = []

    def sample(self, prompts, n, settings, seed, start=None):
        self.calls.append(list(prompts))
        return [[Completion(f"{p}:{s}", 1, "stop")] for p, s in zip(prompts, seed)]


class Streaming(Grouped):
    def stream(self, prompts, n, settings, seeds, start=None):
        yield from reversed(list(enumerate(self.sample(prompts, n, settings, seeds))))


def test_draw_groups_by_prompts_per_call_or_takes_the_stream() -> None:
    grouped = Grouped()
    out = list(draw(grouped, ["a", "b", "c"], 1, SamplingSettings(), [1, 2, 3]))
    assert [(i, c[0].text) for i, c in out] == [(0, "a:1"), (1, "b:2"), (2, "c:3")]
    assert grouped.calls == [["a", "b"], ["c"]]
    streaming = Streaming()
    assert [i for i, _ in draw(streaming, ["a", "b", "c"], 1, SamplingSettings(), [1, 2, 3])] == [2, 1, 0]
    assert streaming.calls == [["a", "b", "c"]]
