#!/usr/bin/env python3
"""Stability selection of half the sites from group-lasso LinEAS fits (EVALUATION.md, "Sites chosen by group lasso").

Reads a log of `steer fit ... --group LAMBDA` runs (measure.sh sparse-select: several fit seeds at one lambda, 300
steps, no early stop) and prints, per intervention, one line: its name, the sites kept as a `steer fit --sites` list
in forward order, then each site's (seeds in which it is active, summed size). Kept: the half of the sites active in
the most seeds, ties broken by the summed size, mean |w - 1| + mean |b| over the seeds. Both come from the fit's own
site table, printed to 4 decimals, so a site whose parameters all stay under 5e-5 reads as inactive.
Usage: select_sites.py LOG LAMBDA
"""
import collections
import re
import sys

FIT = re.compile(r"== (\S+) group (\S+) seed (\d+)")
SITE_ROW = re.compile(r"(layers\.(\d+)\.\w+)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)")


def read(log, penalty):
    """{name: {site: [seeds active, summed size]}} over the fits of `log` at group penalty `penalty`."""
    sites = collections.defaultdict(lambda: collections.defaultdict(lambda: [0, 0.0]))
    name = None
    for line in open(log):
        fit = FIT.match(line)
        if fit:
            name = fit.group(1) if fit.group(2) == penalty else None
            continue
        row = SITE_ROW.match(line)
        if row and name:
            size = float(row.group(4)) + float(row.group(5))  # mean |w - 1| + mean |b|
            tally = sites[name][row.group(1)]
            tally[0] += size > 0
            tally[1] += size
    return sites


def main(log, penalty):
    for name, tallies in read(log, penalty).items():
        ranked = sorted(tallies, key=lambda s: (-tallies[s][0], -tallies[s][1]))
        kept = sorted(ranked[: len(ranked) // 2], key=lambda s: (int(s.split(".")[1]), s))
        print(name, ",".join(kept), {s: (tallies[s][0], round(tallies[s][1], 4)) for s in ranked})


if __name__ == "__main__":
    if len(sys.argv) != 3:
        raise SystemExit(__doc__)
    main(sys.argv[1], sys.argv[2])
