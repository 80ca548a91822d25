#!/usr/bin/env python3
"""Pooled rates of groups of maps on the elicit set, from runs/<map>.dsas.elicit.seed<B>.n200.md (measure.sh
sweep-dsas), for the measurements that compare map families fitted several times (EVALUATION.md "Fitting sets from
the model's own continuations" and "Sites chosen by group lasso, then refitted").

Usage: pool_runs.py NAME LABEL=MAP[,MAP...] [LABEL=MAP,...]...
Per group and strength (those every map ran on every block): the avoided concept's count pooled over the group's maps and the blocks (env BLOCKS,
default "0 1000 2000"), its Wilson 95% interval, its ratio to the unsteered rate (strength 0 of
<NAME>.lineas.attn_out+mlp_out.s0 on the same blocks), the desired rate where the concept has one, the range of the
maps' perplexity ratios, and per map the ratio alone (how much fits of one recipe differ). Then, at each strength
all groups share, the effect each group keeps of the first group's (effect = unsteered rate - steered rate for the
avoided concept, steered - unsteered for the desired one) with a 95% bootstrap interval (10,000 draws; each draw
resamples the blocks, shared by the unsteered runs and every group since they are paired by seed, and each group's
maps: fits of one recipe are the other source of spread).
"""
import os
import random
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from v2_tables import CONCEPT, RATE, parse, wilson  # noqa: E402

RUNS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "runs")
BLOCKS = [int(b) for b in os.environ.get("BLOCKS", "0 1000 2000").split()]


def rows(m, blk):
    path = os.path.join(RUNS, f"{m}.dsas.elicit.seed{blk}.n200.md")
    if not os.path.exists(path):
        raise SystemExit(f"missing {path}: run measure.sh sweep-dsas {m} with block {blk}")
    return {r["s"]: r for r in parse(path)[0]}


def pool(maps, strength):
    k = n = dk = dn = 0
    ppl, per_map = [], []
    for m in maps:
        mk = mn = 0
        for blk in BLOCKS:
            r = rows(m, blk).get(strength)
            if r is None:
                raise SystemExit(f"{m} block {blk} has no strength {strength}")
            mk, mn = mk + r["k"], mn + r["n"]
            d = RATE.match(r["desired"]) if r["dp"] is not None else None
            if d:
                dk, dn = dk + int(d.group(1)), dn + int(d.group(2))
        ppl.append(r["ppl"])
        per_map.append((mk, mn))
        k, n = k + mk, n + mn
    return k, n, dk, dn, ppl, per_map


def counts(maps, strength, desired):
    """{(map, block): (k, n)} of the avoided concept, or of the desired one."""
    out = {}
    for m in maps:
        for blk in BLOCKS:
            r = rows(m, blk)[strength]
            d = RATE.match(r["desired"]) if r["dp"] is not None else None
            out[(m, blk)] = (int(d.group(1)), int(d.group(2))) if desired else (r["k"], r["n"])
    return out


def kept(name, groups, strength, desired, draws=10_000):
    """Effect of each group / effect of the first, point estimate and bootstrap 95% interval."""
    base = counts([f"{name}.lineas.attn_out+mlp_out.s0"], 0.0, desired)
    arms = [(label, maps, counts(maps, strength, desired)) for label, maps in groups]
    sign = 1 if desired else -1

    def effects(blocks, picks):
        b0 = [base[(f"{name}.lineas.attn_out+mlp_out.s0", b)] for b in blocks]
        p0 = sum(k for k, _ in b0) / sum(n for _, n in b0)
        out = []
        for (label, _, c), maps in zip(arms, picks):
            cells = [c[(m, b)] for m in maps for b in blocks]
            out.append(sign * (sum(k for k, _ in cells) / sum(n for _, n in cells) - p0))
        return out

    point = effects(BLOCKS, [maps for _, maps, _ in arms])
    if point[0] <= 0:
        print(f"| (all) | {strength:g} | {'desired' if desired else 'avoided'} | {100 * point[0]:.2f} | - | "
              f"- (the first group does not move it) |")
        return
    rng = random.Random(0)
    ratios = [[] for _ in arms]
    for _ in range(draws):
        blocks = [rng.choice(BLOCKS) for _ in BLOCKS]
        e = effects(blocks, [[rng.choice(maps) for _ in maps] for _, maps, _ in arms])
        for i, v in enumerate(e):
            if e[0] > 0:
                ratios[i].append(v / e[0])
    for i, (label, _, _) in enumerate(arms[1:], start=1):
        r = sorted(ratios[i])
        lo, hi = r[int(0.025 * len(r))], r[int(0.975 * len(r)) - 1]
        print(f"| {label} | {strength:g} | {'desired' if desired else 'avoided'} | {100 * point[0]:.2f} | "
              f"{100 * point[i]:.2f} | {point[i] / point[0]:.2f} [{lo:.2f}, {hi:.2f}] |")


def main(name, groups):
    concept, desired = CONCEPT[name]
    base = f"{name}.lineas.attn_out+mlp_out.s0"
    k0, n0, dk0, dn0, _, _ = pool([base], 0.0)
    lo, hi = wilson(k0, n0)
    print(f"{name}, blocks {' '.join(map(str, BLOCKS))}: unsteered {concept} {k0}/{n0} {100 * k0 / n0:.2f}% "
          f"[{lo:.1f}, {hi:.1f}]" + (f", {desired} {100 * dk0 / dn0:.1f}%" if desired else ""))
    print(f"\n| maps | strength | {concept} [95% CI] | ratio | per map | "
          + (f"{desired} | " if desired else "") + "ppl ratio |")
    print("|---|---|---|---|---|" + ("---|" if desired else "") + "---|")
    for label, maps in groups:
        strengths = sorted(set.intersection(*(set(rows(m, b)) for m in maps for b in BLOCKS)) - {0.0})
        for s in strengths:
            k, n, dk, dn, ppl, per_map = pool(maps, s)
            lo, hi = wilson(k, n)
            each = " / ".join(f"{(mk / mn) / (k0 / n0):.2f}" for mk, mn in per_map)
            cells = [label, f"{s:g}", f"{k}/{n} {100 * k / n:.2f}% [{lo:.1f}, {hi:.1f}]",
                     f"{(k / n) / (k0 / n0):.2f}", each]
            if desired:
                cells.append(f"{100 * dk / dn:.1f}%" if dn else "-")
            cells.append(f"{min(ppl):.3f}-{max(ppl):.3f}" if len(ppl) > 1 else f"{ppl[0]:.3f}")
            print("| " + " | ".join(cells) + " |")
    shared = sorted(set.intersection(*(set(rows(m, b)) for _, maps in groups for m in maps for b in BLOCKS)) - {0.0})
    if len(groups) > 1 and shared:
        print(f"\n| maps | strength | side | effect of {groups[0][0]} (points) | effect (points) | kept [95% bootstrap] |")
        print("|---|---|---|---|---|---|")
        for s in shared:
            for side in ([False, True] if desired else [False]):
                kept(name, groups, s, side)


if __name__ == "__main__":
    if len(sys.argv) < 3:
        raise SystemExit(__doc__)
    main(sys.argv[1], [(g.split("=", 1)[0], g.split("=", 1)[1].split(",")) for g in sys.argv[2:]])
