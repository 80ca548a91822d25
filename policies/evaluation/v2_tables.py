#!/usr/bin/env python3
"""Tables of EVALUATION.md from the run reports in policies/evaluation/runs/*.v2*.md (no model needed).

Usage: python3 policies/evaluation/v2_tables.py [runs-dir]
Prints, per intervention, one Markdown table (method x sites x eval set x strength) and a floor-(c) check:
the concept moves toward the target by >= 2x, or by >= 6 points where the base rate is above 10%, at ppl <= 1.25.
"""
import glob
import os
import re
import sys

runs = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "runs")
CONCEPT = {"kindness": ("meanness", "kindness"), "cheerful": ("sadness", "cheerfulness"), "no-dogs": ("dogs", None)}
ROW = re.compile(r"^\| ([0-9.]+) \| (\d+)/(\d+) ([0-9.]+)% \[([0-9.]+), ([0-9.]+)\] \| (.*?) \| ([0-9.]+) \| "
                 r"([0-9.]+) \| ([0-9.]+) \| ([0-9.]+) \| ([0-9.]+) \|$")
RATE = re.compile(r"(\d+)/(\d+) ([0-9.]+)% \[([0-9.]+), ([0-9.]+)\]")


def parse(path):
    text = open(path, encoding="utf-8").read()
    active = re.search(r"Active neurons (\d+)/(\d+), active sites (\d+)/(\d+)", text)
    rows = []
    for line in text.splitlines():
        m = ROW.match(line)
        if m:
            d = RATE.match(m.group(7))
            rows.append(dict(s=float(m.group(1)), k=int(m.group(2)), n=int(m.group(3)), p=float(m.group(4)),
                             lo=float(m.group(5)), hi=float(m.group(6)), desired=m.group(7),
                             dp=float(d.group(3)) if d else None, dlo=float(d.group(4)) if d else None,
                             dhi=float(d.group(5)) if d else None, ppl=float(m.group(8)), w1tb=float(m.group(9)),
                             w1ta=float(m.group(10)), w1hb=float(m.group(11)), w1ha=float(m.group(12))))
    return rows, active.groups() if active else None


def moved(base, now, up):
    """Floor (c): toward the target by >= 2x, or by >= 6 points where the base is above 10%."""
    if up:
        return now >= 2 * base or (base > 10 and now - base >= 6)
    return now <= base / 2 or (base > 10 and base - now >= 6)


def main():
    for name, (concept, desired) in CONCEPT.items():
        files = sorted(f for f in glob.glob(os.path.join(runs, f"{name}.*.v2*.md")) if ".seed" not in f)
        if not files:
            continue
        print(f"\n### {name} (concept {concept}{', desired ' + desired if desired else ''})\n")
        print(f"| method | sites | eval set | strength | {concept} rate [95% CI] | desired rate [95% CI] | ppl ratio "
              "| W1 train before/after | W1 held-out before/after | active neurons / sites | floor (c) |")
        print("|---|---|---|---|---|---|---|---|---|---|---|")
        for f in files:
            base = os.path.basename(f)
            parts = base.split(".")
            method, sites = parts[1], parts[2]
            evalset = "elicit" if ".elicit." in base else "eval"
            rows, active = parse(f)
            if not rows:
                continue
            b = rows[0]
            act = f"{active[0]}/{active[1]}, {active[2]}/{active[3]}" if active else "?"
            for r in rows:
                marks = []
                if r["s"] > 0 and r["ppl"] <= 1.25:
                    if moved(b["p"], r["p"], up=False):
                        sep = " (CI apart)" if r["hi"] < b["lo"] else ""
                        marks.append(f"{concept} down{sep}")
                    if r["dp"] is not None and moved(b["dp"], r["dp"], up=True):
                        sep = " (CI apart)" if r["dlo"] > b["dhi"] else ""
                        marks.append(f"{desired} up{sep}")
                print(f"| {method} | {sites} | {evalset} | {r['s']:g} | {r['k']}/{r['n']} {r['p']:.1f}% "
                      f"[{r['lo']:.1f}, {r['hi']:.1f}] | {r['desired']} | {r['ppl']:.4f} | {r['w1tb']:.4f} / "
                      f"{r['w1ta']:.4f} | {r['w1hb']:.4f} / {r['w1ha']:.4f} | {act} | {'; '.join(marks) or '-'} |")


def wilson(k, n, z=1.959964):
    p = k / n
    d = 1 + z * z / n
    c = (p + z * z / (2 * n)) / d
    h = z * ((p * (1 - p) / n + z * z / (4 * n * n)) ** 0.5) / d
    return 100 * max(0.0, c - h), 100 * min(1.0, c + h)


def replications():
    """Replications (SEED=N runs, files *.seedN.*): the seed-0 row, the replication row, and both pooled."""
    files = sorted(glob.glob(os.path.join(runs, "*.v2*.seed*.n*.md")))
    if not files:
        return
    print("\n### Replications (rows i use seeds 1000 + i) and pooled N = 400\n")
    print("| map | eval set | strength | concept, seeds 0-199 | concept, seeds 1000-1199 | pooled concept [95% CI] "
          "| desired pooled [95% CI] | ppl ratio |")
    print("|---|---|---|---|---|---|---|---|")
    for f in files:
        base = os.path.basename(f)
        orig = re.sub(r"\.seed\d+", "", f)
        if not os.path.exists(orig):
            continue
        rep, _ = parse(f)
        first = {r["s"]: r for r in parse(orig)[0]}
        evalset = "elicit" if ".elicit." in base else "eval"
        for r in rep:
            o = first.get(r["s"])
            if o is None:
                continue
            k, n = o["k"] + r["k"], o["n"] + r["n"]
            lo, hi = wilson(k, n)
            des = "-"
            dm = RATE.match(o["desired"]) if o["dp"] is not None else None
            dr = RATE.match(r["desired"]) if r["dp"] is not None else None
            if dm and dr:
                dk, dn = int(dm.group(1)) + int(dr.group(1)), int(dm.group(2)) + int(dr.group(2))
                dlo, dhi = wilson(dk, dn)
                des = f"{dk}/{dn} {100 * dk / dn:.1f}% [{dlo:.1f}, {dhi:.1f}]"
            print(f"| {'.'.join(base.split('.')[:3])} | {evalset} | {r['s']:g} | {o['k']}/{o['n']} {o['p']:.1f}% | "
                  f"{r['k']}/{r['n']} {r['p']:.1f}% | {k}/{n} {100 * k / n:.2f}% [{lo:.1f}, {hi:.1f}] | {des} | "
                  f"{r['ppl']:.4f} |")


if __name__ == "__main__":
    main()
    replications()
