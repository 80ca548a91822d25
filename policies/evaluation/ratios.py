#!/usr/bin/env python3
"""Pooled ratios to the unsteered rate, as EVALUATION.md's sessions 18 and 19 report them.

Usage: ratios.py GLOB...   (each GLOB names the reports of one arm under runs/, e.g.
       'no-dogs.lineas.r4.s?.last-token-gated.selfgen.v3.lineas.elicit.seed*.n200.md')
Per arm and strength: the avoided concept's and the desired concept's counts pooled over every matching report (all
maps and seed blocks; block 0, the one picks were made on, is left out unless BLOCK0=1), their ratio to the pooled
strength-0 counts of the same reports (the unsteered model on the same seeds) with a Katz log 95% interval (the two
counts taken as independent, so conservative), and the range of the perplexity ratios.
"""
import glob
import math
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from v2_tables import parse  # noqa: E402

RUNS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "runs")
COUNT = re.compile(r"(\d+)/(\d+)")


def katz(k, n, k0, n0):
    """Ratio (k/n) / (k0/n0) and its Katz log interval; no interval when a count is 0."""
    if k0 == 0:
        return float("nan"), float("nan"), float("nan")
    r = (k / n) / (k0 / n0)
    if k == 0:
        return r, float("nan"), float("nan")
    se = math.sqrt(1 / k - 1 / n + 1 / k0 - 1 / n0)
    return r, r * math.exp(-1.96 * se), r * math.exp(1.96 * se)


def arm(pattern):
    """{strength: [avoided k, n, desired k, [ppl]]} pooled over the pattern's reports."""
    files = sorted(glob.glob(os.path.join(RUNS, pattern)))
    if not files:
        raise SystemExit(f"no report matches runs/{pattern}")
    pooled = {}
    for f in files:
        if re.search(r"\.seed0\.n\d+\.md$", f) and not os.environ.get("BLOCK0"):
            continue
        for r in parse(f)[0]:
            d = COUNT.match(r["desired"]) if r["desired"] else None
            p = pooled.setdefault(r["s"], [0, 0, 0, []])
            p[0] += r["k"]
            p[1] += r["n"]
            p[2] += int(d.group(1)) if d else 0
            p[3].append(r["ppl"])
    return pooled


def main(patterns):
    for pattern in patterns:
        pooled = arm(pattern)
        if 0.0 not in pooled:
            raise SystemExit(f"runs/{pattern}: no strength 0 to compare with")
        k0, n0, d0, _ = pooled[0.0]
        print(f"{pattern}: unsteered {k0}/{n0}" + (f", desired {d0}/{n0}" if d0 else ""))
        for s in sorted(pooled):
            if s == 0.0:
                continue
            k, n, d, ppl = pooled[s]
            line = f"  strength {s:g}: avoided {k}/{n} %.3f [%.3f, %.3f]" % katz(k, n, k0, n0)
            if d0:
                line += f", desired {d}/{n} %.3f [%.3f, %.3f]" % katz(d, n, d0, n0)
            print(line + f", ppl {min(ppl):.3f}-{max(ppl):.3f}")


if __name__ == "__main__":
    if len(sys.argv) < 2:
        raise SystemExit(__doc__)
    main(sys.argv[1:])
