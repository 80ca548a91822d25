#!/usr/bin/env python3
"""Pooled ratios to the unsteered rate, as EVALUATION.md's sessions 18 and 19 report them.

Usage: ratios.py GLOB...   (each GLOB names the reports of one arm under runs/, e.g.
       'no-dogs.lineas.r4.s?.last-token-gated.selfgen.v3.lineas.elicit.seed*.n200.md')
       BASE=GLOB ratios.py GLOB...   (arms run at strength 1 only: each report's strength-0 row is taken from the
       BASE report of the same seed block, the same rows unsteered, as `measure.sh big-n` writes them)
Reports with a composition table (`steer evaluate --map2`, as `measure.sh compose-copy` runs it with the desired
lexicon as --lexicon2) also give the composed rows: both probes' counts pooled, the second against the unsteered
desired count.
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
# | strength | first alone | first composed | second alone | second composed | ppl ratio |
COMPOSED = re.compile(r"^\| ([0-9.]+) \| \d+/\d+ [^|]* \| (\d+)/(\d+) [^|]* \| \d+/\d+ [^|]* \| (\d+)/(\d+) [^|]* \| "
                      r"([0-9.]+) \|$")


def katz(k, n, k0, n0):
    """Ratio (k/n) / (k0/n0) and its Katz log interval; no interval when a count is 0."""
    if k0 == 0:
        return float("nan"), float("nan"), float("nan")
    r = (k / n) / (k0 / n0)
    if k == 0:
        return r, float("nan"), float("nan")
    se = math.sqrt(1 / k - 1 / n + 1 / k0 - 1 / n0)
    return r, r * math.exp(-1.96 * se), r * math.exp(1.96 * se)


def reports(pattern):
    files = sorted(glob.glob(os.path.join(RUNS, pattern)))
    if not files:
        raise SystemExit(f"no report matches runs/{pattern}")
    return files


def block(report):
    """The report's seed block ("1000" of ....seed1000.n200.md); None for a report without one (v2's first runs)."""
    m = re.search(r"\.seed(\d+)\.n\d+\.md$", report)
    return m.group(1) if m else None


def unsteered_by_block(pattern):
    """{seed block: the strength-0 rows of the one BASE report of that block}."""
    rows = {}
    for f in reports(pattern):
        if block(f) is None:
            raise SystemExit(f"BASE={pattern}: {os.path.basename(f)} names no seed block")
        if block(f) in rows:
            raise SystemExit(f"BASE={pattern}: two reports of seed block {block(f)}")
        rows[block(f)] = [r for r in parse(f)[0] if r["s"] == 0.0]
    return rows


def composed(pattern):
    """{strength: [first k, n, second k, [ppl]]} pooled over the composition tables of the pattern's reports."""
    pooled = {}
    for f in reports(pattern):
        if block(f) == "0" and not os.environ.get("BLOCK0"):
            continue
        for line in open(f, encoding="utf-8"):
            m = COMPOSED.match(line.strip())
            if m:
                p = pooled.setdefault(float(m.group(1)), [0, 0, 0, []])
                p[0] += int(m.group(2))
                p[1] += int(m.group(3))
                p[2] += int(m.group(4))
                p[3].append(float(m.group(6)))
    return pooled


def arm(pattern, base=None):
    """{strength: [avoided k, n, desired k, [ppl]]} pooled over the pattern's reports (strength 0 from base if given)."""
    pooled = {}
    for f in reports(pattern):
        if block(f) == "0" and not os.environ.get("BLOCK0"):
            continue
        rows = parse(f)[0]
        if base is not None:
            if block(f) not in base:
                raise SystemExit(f"runs/{pattern}: {os.path.basename(f)} has no BASE report of its seed block"
                                 + (f" {block(f)}" if block(f) else " (it names none)"))
            rows = [r for r in rows if r["s"] != 0.0] + base[block(f)]
        for r in rows:
            d = COUNT.match(r["desired"]) if r["desired"] else None
            p = pooled.setdefault(r["s"], [0, 0, 0, []])
            p[0] += r["k"]
            p[1] += r["n"]
            p[2] += int(d.group(1)) if d else 0
            p[3].append(r["ppl"])
    return pooled


def main(patterns):
    base = unsteered_by_block(os.environ["BASE"]) if os.environ.get("BASE") else None
    for pattern in patterns:
        pooled = arm(pattern, base)
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
        for s, (k, n, d, ppl) in sorted(composed(pattern).items()):
            print(f"  composed at {s:g}: avoided {k}/{n} %.3f [%.3f, %.3f], second {d}/{n} %.3f [%.3f, %.3f]"
                  % (katz(k, n, k0, n0) + katz(d, n, d0, n0)) + f", ppl {min(ppl):.3f}-{max(ppl):.3f}")


if __name__ == "__main__":
    if len(sys.argv) < 2:
        raise SystemExit(__doc__)
    main(sys.argv[1:])
