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

__all__ = [
    "CorrelationReport", "CorrelationSettings", "CurvesReport", "GainPoint", "GainRow", "GainsReport",
    "GroupCorrelation", "PairPoint", "PredictSettings", "Prediction", "Runs", "Section", "correlate",
    "correlation_report", "curves_report", "full_report", "gains_report", "gains_table", "load_runs", "spearman",
    "write_report",
]
