#!/usr/bin/env python3
"""Tables of EVALUATION.md's DSAS section (issue 12 item 5) from policies/evaluation/runs/*.dsas.elicit.*.md.

Usage: python3 policies/evaluation/dsas_tables.py [runs-dir]
Per concept, fixed-strength maps against their token-gated copies (steer gate) and, for LinEAS, against fits whose
gates were trained with the maps (end to end, `.e2e`): the LinEAS attn_out+mlp_out fits s0, s1, s2 (pooled over the three fits and the three generation seed blocks 0, 1000, 2000: N = 1800 per strength) and the
shipped map (policies/interventions, pooled over the three blocks: N = 600). Concept rate on the elicit set with a
Wilson 95% interval, its ratio to the unsteered rate (strength 0 of the s0 runs, same blocks, N = 600), the desired
rate where there is one, and the perplexity ratio on the neutral passages (policies/prompts/perplexity.jsonl; one
value per map, the range over the three fits). Verdict against issue 12's target: strength <= 1, ppl ratio <= 1.10
and the avoided concept at <= 1/3 of unsteered or the desired side at >= 3x.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from v2_tables import CONCEPT, RATE, parse, wilson  # noqa: E402

runs = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(os.path.abspath(__file__)), "runs")
# DSAS_BLOCKS=3000,4000,5000 / DSAS_FITS=0,1,2,3,4,5: other generation blocks, more LinEAS fits (measure.sh replicate-e2e)
BLOCKS = tuple(int(b) for b in os.environ.get("DSAS_BLOCKS", "0,1000,2000").split(","))
FITS = tuple(int(f) for f in os.environ.get("DSAS_FITS", "0,1,2").split(","))
MAX_PPL = 1.10
# how a map of a family is steered, and the suffix of its runs: fixed strength; the two-step gates (steer gate); the
# gates trained jointly with the LinEAS maps (steer fit --control, measure.sh fit-e2e; separate fits, not gated copies)
VARIANTS = (("fixed", ""), ("fixed, lr 3e-2, 300 steps", ".sched"), ("gated (DSAS)", ".gated"),
            ("gated end to end", ".e2e"),
            ("gated end to end, control weight 0.3", ".e2e-w0.3"), ("gated end to end, control weight 0.1", ".e2e-w0.1"))


def rows_of(m, blk):
    path = os.path.join(runs, f"{m}.dsas.elicit.seed{blk}.n200.md")
    return {r["s"]: r for r in parse(path)[0]} if os.path.exists(path) else None


def pooled(maps, strength):
    """Pooled counts of `maps` at `strength` over the blocks each ran: k, n, desired k, desired n, ppl per map."""
    k = n = dk = dn = 0
    ppl = []
    runs_in = 0
    for m in maps:
        seen = False
        for blk in BLOCKS:
            rows = rows_of(m, blk)
            if not rows or strength not in rows:
                continue
            r = rows[strength]
            k += r["k"]
            n += r["n"]
            d = RATE.match(r["desired"]) if r["dp"] is not None else None
            if d:
                dk += int(d.group(1))
                dn += int(d.group(2))
            if not seen:
                ppl.append(r["ppl"])
                seen = True
            runs_in += 1
    return dict(k=k, n=n, dk=dk, dn=dn, ppl=ppl, runs=runs_in)


def fmt_rate(k, n):
    if n == 0:
        return "-"
    lo, hi = wilson(k, n)
    return f"{k}/{n} {100 * k / n:.2f}% [{lo:.1f}, {hi:.1f}]"


def main():
    for name, (concept, desired) in CONCEPT.items():
        base = pooled([f"{name}.lineas.attn_out+mlp_out.s0"], 0.0)
        if base["n"] == 0:
            continue
        b = base["k"] / base["n"]
        bd = base["dk"] / base["dn"] if base["dn"] else None
        print(f"\n### {name} (avoided: {concept}{'; desired: ' + desired if desired else ''})\n")
        print(f"Unsteered (strength 0, blocks {', '.join(map(str, BLOCKS))}): {concept} {fmt_rate(base['k'], base['n'])}"
              + (f"; {desired} {fmt_rate(base['dk'], base['dn'])}" if desired else "") + "\n")
        print(f"| map | steering | strength | runs | {concept} rate [95% CI] | x unsteered | "
              + (f"{desired} rate [95% CI] | x unsteered | " if desired else "")
              + "ppl ratio (neutral) | target met |")
        print("|---|---|---|---|---|---|" + ("---|---|" if desired else "") + "---|---|")
        families = [(f"LinEAS s{FITS[0]}-s{FITS[-1]}", [f"{name}.lineas.attn_out+mlp_out.s{i}" for i in FITS],
                     (1.0, 2.0, 3.0)),
                    ("shipped", [f"{name}.shipped"], (0.5, 1.0, 2.0))]
        for label, maps, strengths in families:
            for st in strengths:
                for steering, suffix in VARIANTS:
                    ms = [m + suffix for m in maps]
                    p = pooled(ms, st)
                    if p["n"] == 0:
                        continue
                    ratio = (p["k"] / p["n"]) / b if b > 0 else float("nan")
                    dratio = (p["dk"] / p["dn"]) / bd if desired and p["dn"] and bd else None
                    ppl = p["ppl"]
                    ppl_s = f"{min(ppl):.4f}" if len(ppl) == 1 else f"{min(ppl):.4f}-{max(ppl):.4f}"
                    effect = ratio <= 1 / 3 or (dratio is not None and dratio >= 3)
                    met = st <= 1 and max(ppl) <= MAX_PPL and effect
                    why = "yes" if met else "no (" + ", ".join(x for x in (
                        "strength > 1" if st > 1 else "", f"ppl > {MAX_PPL}" if max(ppl) > MAX_PPL else "",
                        "effect < 3x" if not effect else "") if x) + ")"
                    cells = [label, steering, f"{st:g}", str(p["runs"]),
                             fmt_rate(p["k"], p["n"]), f"{ratio:.2f}"]
                    if desired:
                        cells += [fmt_rate(p["dk"], p["dn"]), f"{dratio:.2f}" if dratio is not None else "-"]
                    cells += [ppl_s, why]
                    print("| " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
