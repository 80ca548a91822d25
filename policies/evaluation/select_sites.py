#!/usr/bin/env python3
"""Stability selection of half the sites from group-lasso LinEAS fits (EVALUATION.md, "Sites chosen by group lasso").

Reads a log of `steer fit ... --group LAMBDA` runs (measure.sh sparse-select: several fit seeds at one lambda, 300
steps, no early stop) and prints, per intervention, the 5 sites kept: the sites active in the most seeds, ties broken
by the summed per-site mean |w - 1| + mean |b| over the seeds (the fit's own site table), in forward order, as a
`steer fit --sites` list; then each site's (seeds active, summed size).
Usage: select_sites.py LOG LAMBDA
"""
import collections
import re
import sys

score = collections.defaultdict(collections.Counter)
active = collections.defaultdict(collections.Counter)
cur = None
for line in open(sys.argv[1]):
    m = re.match(r'== (\S+) group (\S+) seed (\d)', line)
    if m: cur = (m.group(1), m.group(2)); continue
    m = re.match(r'(layers\.\d\.\w+)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)', line)
    if m and cur and cur[1] == sys.argv[2]:
        s = float(m.group(3)) + float(m.group(4))
        score[cur[0]][m.group(1)] += s
        active[cur[0]][m.group(1)] += s > 0
for name, c in score.items():
    top = sorted(c, key=lambda k: (-active[name][k], -c[k]))[:5]
    order = sorted(top, key=lambda k: (int(k.split('.')[1]), k))
    print(name, ','.join(order), {k: (active[name][k], round(c[k], 4)) for k in sorted(c, key=lambda k: -c[k])})
