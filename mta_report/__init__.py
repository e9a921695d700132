"""mta_report: turn probe and train runs into answers, tables and the paper's figures.

- `gains_report`: was each gain predictable from alignment? One row per (model, task,
  technique): alignment, predicted gain with an interval, actual gain, whether it held.
- `correlation_report`: alignment against RL gain per technique, Spearman's rho with a bootstrap
  interval, like the paper's Figure 10; runs on the paper's data alone.
- `curves_report`: pass@k curves, training curves and KL bars of several runs.
- `full_report`: all three at once, as one HTML and one Markdown document.

The pieces are usable alone: `load_runs`, `gains_table`, `spearman`, `correlate`, the plots of
`mta_report.figures`, and `write_report`. The paper's own numbers are in `mta_report.reference`.
docs/report.md describes the predictor, its limits, and which measure each point uses.
"""

from typing import TYPE_CHECKING

from mta_probe.exports import lazy_exports

if TYPE_CHECKING:
    from mta_report.correlation import CorrelationSettings, GroupCorrelation, PairPoint, correlate, spearman
    from mta_report.document import Section, write_report
    from mta_report.points import GainPoint
    from mta_report.predict import GainRow, Prediction, PredictSettings, gains_table
    from mta_report.reports import (
        CorrelationReport,
        CurvesReport,
        GainsReport,
        correlation_report,
        curves_report,
        full_report,
        gains_report,
    )
    from mta_report.runs import Runs, load_runs

# Name -> the module it comes from, imported on first use (mta_probe/exports.py).
_EXPORTS = {
    "CorrelationSettings": "mta_report.correlation",
    "GroupCorrelation": "mta_report.correlation",
    "PairPoint": "mta_report.correlation",
    "correlate": "mta_report.correlation",
    "spearman": "mta_report.correlation",
    "Section": "mta_report.document",
    "write_report": "mta_report.document",
    "GainPoint": "mta_report.points",
    "GainRow": "mta_report.predict",
    "PredictSettings": "mta_report.predict",
    "Prediction": "mta_report.predict",
    "gains_table": "mta_report.predict",
    "CorrelationReport": "mta_report.reports",
    "CurvesReport": "mta_report.reports",
    "GainsReport": "mta_report.reports",
    "correlation_report": "mta_report.reports",
    "curves_report": "mta_report.reports",
    "full_report": "mta_report.reports",
    "gains_report": "mta_report.reports",
    "Runs": "mta_report.runs",
    "load_runs": "mta_report.runs",
}
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
__all__ = sorted(_EXPORTS)
