"""Figures of the probe: the pass@k curve on a log axis with its intervals (the paper's Figure 2)."""

from __future__ import annotations

import io
from pathlib import Path

from mta_probe.estimators import PassAtK
from mta_probe.runs.store import write_bytes_atomic


def plot_passk(path: Path, curve: PassAtK, *, title: str) -> None:
    """Write a PNG of pass@k against k (log2 axis), the 95% band, and the chance level if any."""
    import matplotlib

    matplotlib.use("Agg")  # no display on the machines this runs on
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5.5, 4.0), dpi=120)
    ax.fill_between(curve.ks, curve.low, curve.high, alpha=0.25, color="tab:blue", label="95% bootstrap interval")
    ax.plot(curve.ks, curve.values, marker="o", color="tab:blue", label="pass@k")
    if curve.chance:
        ax.plot(curve.ks, curve.chance, linestyle="--", color="gray", label="chance level")
    ax.set_xscale("log", base=2)
    ax.set_xticks(curve.ks)
    ax.set_xticklabels([str(k) for k in curve.ks])
    ax.set_ylim(0.0, 1.0)
    ax.set_xlabel("k")
    ax.set_ylabel("pass@k")
    ax.set_title(f"{title}, {curve.num_problems} problems", fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(loc="upper left", fontsize=8)
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    plt.close(fig)
    write_bytes_atomic(path, buffer.getvalue())
