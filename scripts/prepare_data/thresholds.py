"""Water-quality standards (GB 3838-2002, OGewV 2016), copied unchanged to ``monitoring/``."""

from __future__ import annotations

from .common import Builder

#: Standards tables under ``monitoring/thresholds`` of the source folder, with their source key.
TABLES = (
    ("cn_gb3838_2002_table1_selected.csv", "gb3838"),
    ("cn_gb3838_2002_table2_supplementary.csv", "gb3838"),
    ("de_ogewv2016_anlage7_2-1-2_rivers_good_status.csv", "ogewv"),
    ("de_ogewv2016_other_targets.csv", "ogewv"),
)


def write(b: Builder) -> None:
    """Copy the standards tables unchanged.

    Parameters
    ----------
    b
        Builder.
    """
    for f, key in TABLES:
        b.copy(
            f"monitoring/thresholds/{f}",
            f"monitoring/thresholds/{f}",
            [key],
            "none (byte copy)",
            "-",
        )
