"""docs/reproduction.md, "The mechanism": per train run, the clip fractions of each side, the
log-probability of the initial policy's greedy answers (all, right, wrong) from step 0 (the
initial policy, greedy_answers.jsonl) to the last step, and the evaluation before and after.

Usage: python docs/reproduction/clips.py [--per-step | --plot OUT.png] RUN...
(--plot: greedy_logprob and pg_clipfrac per step, one line per run, labelled by its last three
folders, e.g. main/capitals-famous/random-s0.)
"""

from __future__ import annotations

import json
import sys
from pathlib import Path


def lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def initial(run: Path) -> dict[str, float | None]:
    """greedy_logprob and its split at step 0, from the initial policy's own scores."""
    answers = lines(run / "greedy_answers.jsonl")
    mean = lambda xs: sum(xs) / len(xs) if xs else None
    return {"greedy_logprob": mean([a["logprob"] for a in answers]),
            "greedy_logprob_correct": mean([a["logprob"] for a in answers if a["correct"]]),
            "greedy_logprob_wrong": mean([a["logprob"] for a in answers if not a["correct"]]),
            "greedy_right": sum(a["correct"] for a in answers), "greedy_total": len(answers)}


def fmt(value: float | None, digits: int = 2) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def summary(run: Path) -> str:
    steps = lines(run / "metrics.jsonl")
    start, last = initial(run), steps[-1]
    mean = lambda key: sum(s[key] for s in steps) / len(steps)
    gains = json.loads((run / "gains.json").read_text()) if (run / "gains.json").exists() else None
    task = next(iter(gains["tasks"].values())) if gains else None
    evaluation = (f"{task['before']:.3f} -> {task['after']:.3f}" if task else "(running)")
    greedy = " / ".join(f"{fmt(start[k])} -> {fmt(last[k])}" for k in
                        ("greedy_logprob", "greedy_logprob_correct", "greedy_logprob_wrong"))
    return (f"| {run.parent.name}/{run.name} | {len(steps)} | {mean('pg_clipfrac_high'):.4f} | "
            f"{mean('pg_clipfrac_low'):.4f} | {max(s['pg_clipfrac'] for s in steps):.4f} | "
            f"{mean('ppo_kl'):+.5f} | {greedy} | {evaluation} |")


def per_step(run: Path) -> str:
    out = [(f"{run.parent.name}/{run.name}: step, rollout accuracy, pg_clipfrac_high, pg_clipfrac_low, ppo_kl, "
            "entropy, greedy_logprob (right, wrong)")]
    start = initial(run)
    out.append(f"  0  -      -       -       -         -     {fmt(start['greedy_logprob'])} "
               f"({fmt(start['greedy_logprob_correct'])}, {fmt(start['greedy_logprob_wrong'])})")
    for s in lines(run / "metrics.jsonl"):
        out.append(f"  {s['step']:<2} {s['accuracy']:.3f}  {s['pg_clipfrac_high']:.4f}  "
                   f"{s['pg_clipfrac_low']:.4f}  {s['ppo_kl']:+.5f}  {s['entropy']:.2f}  "
                   f"{fmt(s['greedy_logprob'])} ({fmt(s['greedy_logprob_correct'])}, "
                   f"{fmt(s['greedy_logprob_wrong'])})")
    return "\n".join(out)


def plot(runs: list[Path], out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (top, bottom) = plt.subplots(2, 1, figsize=(8, 7), sharex=True)
    for run in runs:
        steps = lines(run / "metrics.jsonl")
        label = "/".join(run.parts[-3:])
        style = "--" if "ground-truth" in run.name else "-"
        line, = top.plot([0] + [s["step"] for s in steps],
                         [initial(run)["greedy_logprob"]] + [s["greedy_logprob"] for s in steps], style, label=label)
        bottom.plot([s["step"] for s in steps], [s["pg_clipfrac"] for s in steps], style, color=line.get_color())
    top.set_ylabel("log-probability of the initial\ngreedy answers (mean, nats)")
    bottom.set_ylabel("share of tokens clipped\n(pg_clipfrac)")
    bottom.set_xlabel("training step")
    bottom.xaxis.get_major_locator().set_params(integer=True)
    top.set_title("Does the policy move toward its initial mode? (rising = toward it)")
    top.legend(fontsize=7, loc="lower left")
    fig.tight_layout()
    fig.savefig(out, dpi=120)
    print(f"written: {out}")


if __name__ == "__main__":
    args = sys.argv[1:]
    if "--plot" in args:
        at = args.index("--plot")
        plot([Path(a) for a in args[at + 2:] + args[:at]], Path(args[at + 1]))
        sys.exit(0)
    runs = [Path(a) for a in args if a != "--per-step"]
    if "--per-step" in args:
        print("\n\n".join(per_step(run) for run in runs))
    else:
        print("| run | steps | mean pg_clipfrac_high | mean pg_clipfrac_low | max pg_clipfrac | "
              "mean ppo_kl | greedy_logprob step 0 -> last: all / right / wrong | "
              "avg@k before -> after |")
        print("|---|---|---|---|---|---|---|---|")
        for run in runs:
            print(summary(run))
