"""Figures of the probe: the pass@k curve on a log axis with its intervals (the paper's Figure 2),
and the fitted curve beside it, dashed, inside the band every population consistent with the
samples allows (and, darker, the model's own band)."""

from __future__ import annotations

import io
from pathlib import Path

from mta_probe.estimators import PassAtK, PassKFit
from mta_probe.runs.store import write_bytes_atomic


def fit_label(method: str, max_n: int | None = None) -> str:
    """The fitted curve's legend entry: its model, and the samples it saw when not all of them."""
    return f"fitted ({method}, first {max_n} samples)" if max_n else f"fitted ({method})"


def plot_passk(path: Path, curve: PassAtK, *, title: str, fit: PassKFit | None = None,
               max_n: int | None = None) -> None:
    """Write a PNG of pass@k against k (log2 axis), the 95% band, the chance level if any, and
    the fitted curve when given: dashed, inside its interval (the range any population of
    success rates consistent with the samples allows, light) and the model's own interval
    (darker); a wide light band is where the samples do not identify pass@k. `max_n`: the fit
    saw only each problem's first max_n samples (`mta probe fit --max-n`), which its legend says."""
    import matplotlib

    matplotlib.use("Agg")  # no display on the machines this runs on
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 4.8), dpi=120)
    ax.fill_between(curve.ks, curve.low, curve.high, alpha=0.25, color="tab:blue",
                    label="95% interval (bootstrap over problems)")
    ax.plot(curve.ks, curve.values, marker="o", color="tab:blue", label="measured pass@k (unbiased estimate)")
    if curve.chance:
        ax.plot(curve.ks, curve.chance, linestyle=":", color="gray", label="chance level (guessing)")
    ticks = list(curve.ks)
    if fit is not None:
        ax.fill_between(fit.ks, fit.low, fit.high, alpha=0.15, color="tab:orange",
                        label=f"fit's {fit.level:.0%} interval, any population of success rates")
        if fit.model_low:
            ax.fill_between(fit.ks, fit.model_low, fit.model_high, alpha=0.3, color="tab:orange", linewidth=0,
                            label=f"fit's {fit.level:.0%} interval if {fit.method} holds")
        ax.plot(fit.ks, fit.values, linestyle="--", color="tab:orange", label=fit_label(fit.method, max_n))
        ticks = sorted(set(ticks) | set(fit.ks))
        if max(fit.ks) > max(curve.ks):  # where measuring ends and extrapolating begins
            ax.axvline(max(curve.ks), color="0.4", linewidth=0.8, linestyle=":")
            ax.annotate("measured \u2190 | \u2192 extrapolated", (max(curve.ks), 1.0),
                        xycoords=("data", "axes fraction"), xytext=(0, 3), textcoords="offset points",
                        ha="center", va="bottom", fontsize=7, color="0.3")
    ax.set_xscale("log", base=2)
    ax.set_xticks(ticks)
    ax.set_xticklabels([str(k) for k in ticks], fontsize=7 if len(ticks) > 8 else None)
    ax.set_ylim(0.0, 1.0)
    ax.set_xlabel("k: samples drawn per problem (log scale)")
    ax.set_ylabel("pass@k: share of problems solved\nby at least one of k samples")
    ax.set_title(f"pass@k of {title}\n{curve.num_problems} problems; a curve that rises with k means "
                 "the model can solve\nwhat it rarely solves on the first try", fontsize=9, pad=14)
    ax.grid(alpha=0.3)
    # below the axes (a legend inside covers the curve wherever the curve happens to be), each
    # curve above its band: measured on the left, fitted on the right
    handles, labels = ax.get_legend_handles_labels()
    order = sorted(range(len(labels)), key=lambda i: ("fit" in labels[i], "interval" in labels[i]))
    ax.legend([handles[i] for i in order], [labels[i] for i in order], loc="upper center",
              bbox_to_anchor=(0.5, -0.16), ncol=2, fontsize=7, frameon=False)
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    plt.close(fig)
    write_bytes_atomic(path, buffer.getvalue())
