"""The verifier pool: order kept, hung or dead workers killed and replaced, the rest scored."""

from __future__ import annotations

import os
import signal
import tempfile
import time
from pathlib import Path

import pytest

from mta_probe.errors import BadInputError
from mta_probe.tasks import Problem
from mta_probe.verify import Verdict, Verifier, VerifierPool, verify_one
from mta_probe.verify.sandbox import DIR_PREFIX, run_program


# Test verifiers: top-level so that the workers can unpickle them by reference.
def misbehave(completion: str, problem: Problem) -> Verdict:
    """Sleeps, segfaults, raises or reports its pid on command; else compares with the gold."""
    if completion == "sleep":
        time.sleep(60)
    if completion == "segfault":
        os.kill(os.getpid(), signal.SIGSEGV)
    if completion == "raise":
        raise ValueError("broken verifier")
    if completion == "pid":
        return Verdict(False, str(os.getpid()))
    if completion == "nap":
        time.sleep(1.5)
    if completion == "sandbox-sleep":  # a worker killed while its sandboxed child runs
        run_program("import time\ntime.sleep(60)\n", timeout=60.0)
    return Verdict(completion == problem.gold, completion)


TABLE = {"misbehave": Verifier(misbehave)}


def _problem(gold: str) -> Problem:
    return Problem(id=gold, prompt="p", statement="s", gold=gold)


PATIENT = Problem(id="p", prompt="p", statement="s", gold="nap", meta={"verify_timeout": 5.0})


def test_timeouts_and_crashes_cost_one_item_each() -> None:
    plan = ["1", "sleep", "2", "segfault", "x", "raise", "3", "sleep", "4", "5"]
    items = [(text, _problem(text if text != "x" else "y")) for text in plan] + [("nap", PATIENT)]
    with VerifierPool(workers=2, timeout=1.0, table=TABLE) as pool:
        start = time.monotonic()
        verdicts = pool.verify("misbehave", items)
        elapsed = time.monotonic() - start
        again = pool.verify("misbehave", [("7", _problem("7")), ("8", _problem("9"))])
    assert [verdict.reason for verdict in verdicts] == [
        None, "timeout after 1.0s", None, "crashed: worker killed by SIGSEGV", None,
        "crashed: ValueError: broken verifier", None, "timeout after 1.0s", None, None, None,
    ]
    assert [verdict.correct for verdict in verdicts] == [  # the nap outlasts 1 s, within its 5 s
        True, False, True, False, False, False, True, False, True, True, True,
    ]
    assert verdicts[4] == Verdict(False, "x")
    assert elapsed < 6.0  # two 1 s timeouts and a 1.5 s nap on two workers, not two 60 s sleeps
    assert again == [Verdict(True, "7"), Verdict(False, "8")]  # replacements work


def test_a_problem_may_ask_for_a_longer_budget() -> None:
    # LiveCodeBench rows set meta["verify_timeout"]: the run of all their tests may take longer
    # (the pool honours it in test_timeouts_and_crashes_cost_one_item_each).
    pool = VerifierPool(workers=0, timeout=1.0, table=TABLE)
    assert (pool.budget(PATIENT), pool.budget(_problem("nap"))) == (5.0, 1.0)


def test_power_tower_times_out_and_the_rest_score_fast() -> None:
    tower = "\\boxed{2^{2^{2^{2^{2^{2^{2}}}}}}}"
    items = [(tower, _problem("5"))] + [
        (f"<answer>\\frac{{{k}}}{{2}}</answer>", _problem(str(k / 2))) for k in range(1, 9)
    ]
    with VerifierPool(workers=2, timeout=1.0) as pool:
        # each worker imports math-verify and sympy on its first item: not part of what is timed
        # (on a loaded machine that import alone can pass the 1 s timeout)
        pool.verify("math", [("<answer>1</answer>", _problem("1"))] * 2)
        start = time.monotonic()
        verdicts = pool.verify("math", items)
        elapsed = time.monotonic() - start
    assert verdicts[0] == Verdict(False, None, "timeout after 1.0s")
    assert [v.reason for v in verdicts[1:] if not v.correct] == []
    assert elapsed < 4.0  # math-verify alone would spend 5 s on the tower


def test_killed_worker_leaves_no_sandbox_behind() -> None:
    with VerifierPool(workers=1, timeout=1.0, table=TABLE) as pool:
        pid = int(pool.verify("misbehave", [("pid", _problem("pid"))])[0].answer)
        verdict = pool.verify("misbehave", [("sandbox-sleep", _problem("x"))])[0]
        assert verdict.reason == "timeout after 1.0s"
        time.sleep(0.3)  # PR_SET_PDEATHSIG delivery is asynchronous
        leftovers = list(Path(tempfile.gettempdir()).glob(f"{DIR_PREFIX}{pid}-*"))
        orphans = [p for p in Path("/proc").iterdir() if p.name.isdigit() and _home_of(p, pid)]
    assert leftovers == []
    assert orphans == []


def _home_of(proc: Path, pid: int) -> bool:
    """Whether that process runs in a sandbox dir of worker `pid`."""
    try:
        return f"{DIR_PREFIX}{pid}-".encode() in (proc / "environ").read_bytes()
    except OSError:
        return False


@pytest.mark.parametrize("workers", [0, 2])
def test_pool_matches_in_process_scoring(workers: int) -> None:
    completions = ["<answer>0.5</answer>", "\\boxed{\\frac{1}{3}}", "nothing", "The answer is 1/2."]
    problem = _problem("\\frac{1}{2}")
    expected = [verify_one("math", text, problem) for text in completions]
    # KOR's verifier is handed the whole completion and cuts a continuation itself (rules.py)
    kor = Problem(id="k", prompt="p", statement="s", gold="[[C]]", meta={"category": "counterfactual"})
    kor_items = [("[C]\n\n### Question:\nWhich? [[D]]", kor), ("[C]", kor)]
    with VerifierPool(workers=workers, timeout=10.0) as pool:
        assert pool.verify("math", [(text, problem) for text in completions]) == expected
        assert pool.verify("math", []) == []
        assert [v.correct for v in pool.verify("kor", kor_items)] == [False, True]
    assert [verdict.correct for verdict in expected] == [True, False, False, True]


def test_unknown_verifier_and_bad_settings() -> None:
    with VerifierPool(workers=0) as pool, pytest.raises(BadInputError, match="math"):
        pool.verify("nope", [("x", _problem("x"))])
    with pytest.raises(BadInputError):
        VerifierPool(workers=-1)
    with pytest.raises(BadInputError):
        VerifierPool(workers=1, timeout=0)


@pytest.mark.parametrize("workers", [0, 1])
def test_verify_from_another_thread(workers: int) -> None:
    # the probe verifies on a background thread while it samples; math-verify's SIGALRM
    # timeout cannot be armed there, which must not break in-process scoring
    from concurrent.futures import ThreadPoolExecutor

    items = [("<answer>0.5</answer>", _problem("\\frac{1}{2}")),
             ("<answer>2</answer>", _problem("3"))]
    with VerifierPool(workers=workers, timeout=10.0) as pool, ThreadPoolExecutor(1) as thread:
        verdicts = thread.submit(pool.verify, "math", items).result()
    assert verdicts == [Verdict(True, "0.5"), Verdict(False, "2")]
