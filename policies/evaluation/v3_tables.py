#!/usr/bin/env python3
"""Tables of EVALUATION.md's third measurement (issue 12 items 3, 4, 6) from policies/evaluation/runs/*.v3*.md.

Usage: python3 policies/evaluation/v3_tables.py [runs-dir]
Prints, per intervention, the elicit-set rates at strengths 0, 0.5, 1 over three generation seed blocks (rows i use
seeds B + i, B = 0, 1000, 2000; N = 200 each, pooled N = 600) with Wilson 95% intervals, and the issue's target check:
at strength <= 1 and ppl ratio <= 1.10, the avoided concept at <= 1/3 of the unsteered rate (or the desired side at
>= 3x), for LinEAS and for the best of Linear-AcT and mean shift. LinEAS maps fitted with three seeds (s0, s1, s2) are
also pooled over the fit seeds (N = 1800). Then the sparsity sweep (runs/<map>.v3sparse.*.md with the fit logs).
"""
import glob
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from v2_tables import CONCEPT, RATE, parse, wilson  # noqa: E402

runs = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(os.path.abspath(__file__)), "runs")
BLOCKS = (0, 1000, 2000)
MAX_PPL = 1.10


def desired_k(r):
    m = RATE.match(r["desired"]) if r["dp"] is not None else None
    return (int(m.group(1)), int(m.group(2))) if m else None


def block_file(m, b):
    """The run of map m for seed block b: the v3 file, or for block 0 the v2 elicit run (same rows, same seeds:
    generation at one strength does not depend on the other strengths listed)."""
    path = os.path.join(runs, f"{m}.v3.elicit.seed{b}.n200.md")
    if os.path.exists(path):
        return path
    old = os.path.join(runs, f"{m}.v2.elicit.n200.md")
    return old if b == 0 and os.path.exists(old) else None


def load(name):
    """{map: {strength: {"k", "n", "dk", "dn", "ppl", "blocks": [k per block], "seeds": [block]}}} over the seed
    blocks the map was run with (at least block 0). Strength 0 is the unsteered model whatever the map, so its rows
    come from any map of the concept that ran it, per block."""
    names = set()
    for f in glob.glob(os.path.join(runs, f"{name}.*.v3.elicit.seed*.n200.md")):
        names.add(re.sub(r"\.v3\.elicit\.seed\d+\.n200\.md$", "", os.path.basename(f)))
    raw = {}
    base = {}
    for m in sorted(names):
        raw[m] = {}
        for blk in BLOCKS:
            path = block_file(m, blk)
            if path:
                rows = {r["s"]: r for r in parse(path)[0] if r["s"] <= 1}
                raw[m][blk] = rows
                if 0.0 in rows:
                    base.setdefault(blk, rows[0.0])
    maps = {}
    for m, blocks in raw.items():
        if 0 not in blocks:
            continue
        per = {}
        for blk, rows in blocks.items():
            if blk not in base:
                continue
            rows = dict(rows)
            rows.setdefault(0.0, base[blk])
            for st, r in rows.items():
                e = per.setdefault(st, dict(k=0, n=0, dk=0, dn=0, ppl=r["ppl"], blocks=[], dblocks=[], seeds=[]))
                e["k"] += r["k"]
                e["n"] += r["n"]
                e["blocks"].append(r["k"])
                e["seeds"].append(blk)
                d = desired_k(r)
                e["dblocks"].append(d[0] if d else 0)
                if d:
                    e["dk"] += d[0]
                    e["dn"] += d[1]
        maps[m] = per
    return maps


def fmt(k, n):
    lo, hi = wilson(k, n)
    return f"{k}/{n} {100 * k / n:.2f}% [{lo:.1f}, {hi:.1f}]"


def pooled_lineas(maps, sites):
    """LinEAS maps of one site set fitted with seeds s0..s2, pooled over fit seeds and their blocks (one pseudo-map);
    strength 0 counts each seed block once."""
    members = [m for m in maps if ".lineas." in m and f".{sites}.s" in m]
    if len(members) < 2:
        return None, members
    out = {}
    for m in members:
        for st, e in maps[m].items():
            o = out.setdefault(st, dict(k=0, n=0, dk=0, dn=0, ppls=[], fits=[], seen=set()))
            if st == 0.0:
                for blk, k, dk in zip(e["seeds"], e["blocks"], e["dblocks"]):
                    if blk not in o["seen"]:
                        o["seen"].add(blk)
                        o["k"] += k
                        o["n"] += 200
                        if e["dn"]:
                            o["dk"] += dk
                            o["dn"] += 200
                o["ppls"] = [1.0]
                continue
            o["k"] += e["k"]
            o["n"] += e["n"]
            o["dk"] += e["dk"]
            o["dn"] += e["dn"]
            o["ppls"].append(e["ppl"])
            o["fits"].append(f"{e['k']}/{e['n']}")
    return out, members


def verdict_row(per, base, up_desired):
    """Best strength <= 1 at ppl <= 1.10: (strength, concept ratio, desired ratio, ppl)."""
    best = None
    for s, e in sorted(per.items()):
        if s <= 0 or s > 1:
            continue
        ppl = e["ppl"] if "ppl" in e else max(e["ppls"])
        if ppl > MAX_PPL:
            continue
        cr = (e["k"] / e["n"]) / (base["k"] / base["n"]) if base["k"] else float("inf")
        dr = (e["dk"] / e["dn"]) / (base["dk"] / base["dn"]) if up_desired and base["dn"] and base["dk"] else None
        key = min(cr, 1 / dr if dr else cr)
        if best is None or key < best[4]:
            best = (s, cr, dr, ppl, key)
    return best


TRAIN = re.compile(r"in (\d+) ms: (\d+) steps, loss ([0-9.]+) -> ([0-9.]+) \((\d+)% lower\).*?train W1 ([0-9.]+) -> "
                   r"([0-9.]+); held-out W1 \((\d+) prompts per side\) ([0-9.]+) -> ([0-9.]+) \(floor ([0-9.]+)\); "
                   r"maps of step (\d+)")


def fits():
    """The LinEAS fits of fit-v3 (runs/v3-fit.log): train and held-out W1 per seed."""
    path = os.path.join(runs, "v3-fit.log")
    if not os.path.exists(path):
        return
    print("\n### v3: LinEAS fits at attn_out,mlp_out (held-out 25%, patience 50; runs/v3-fit.log)\n")
    print("| intervention | seed | steps run | maps of step | loss drop | train W1 before -> after | "
          "held-out W1 before -> after | floor | after / floor | fit time |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    head = None
    for line in open(path, encoding="utf-8"):
        m = re.match(r"== (\S+) lineas \S+ seed (\d+)", line)
        if line.startswith("=="):
            head = (m.group(1), m.group(2)) if m else None
            continue
        t = TRAIN.search(line)
        if head and t:
            hb, ha, fl = float(t.group(9)), float(t.group(10)), float(t.group(11))
            print(f"| {head[0]} | {head[1]} | {t.group(2)} | {t.group(12)} | {t.group(5)}% | {t.group(6)} -> "
                  f"{t.group(7)} | {hb:.6f} -> {ha:.6f} | {fl:.6f} | {ha / fl:.3f} | "
                  f"{int(t.group(1)) / 1000:.0f} s |")


def main():
    fits()
    for name, (concept, desired) in CONCEPT.items():
        maps = load(name)
        if not maps:
            continue
        print(f"\n### v3: {name} (concept {concept}{', desired ' + desired if desired else ''}), elicit set\n")
        print(f"| map | strength | {concept} count per seed block (block) | {concept} pooled [95% CI] | "
              f"{desired or '-'} pooled [95% CI] | ppl ratio |")
        print("|---|---|---|---|---|---|")
        rows = dict(maps)
        for sites in ("attn_out+mlp_out", "resid"):
            pl, members = pooled_lineas(maps, sites)
            if pl:
                rows[f"{name}.lineas.{sites}.pooled(s0-s2)"] = pl
        for m in sorted(rows):
            for s, e in sorted(rows[m].items()):
                per = (" / ".join(f"{k} ({blk})" for k, blk in zip(e["blocks"], e["seeds"])) if "blocks" in e
                       else "fits " + " / ".join(e["fits"]) if e["fits"] else "blocks " + ", ".join(map(str, sorted(e["seen"]))))
                ppl = f"{e['ppl']:.4f}" if "ppl" in e else "/".join(f"{p:.4f}" for p in e["ppls"])
                des = fmt(e["dk"], e["dn"]) if e["dn"] else "-"
                print(f"| {m[len(name) + 1:]} | {s:g} | {per} | {fmt(e['k'], e['n'])} | {des} | {ppl} |")
        # target check
        print(f"\nTarget (strength <= 1, ppl <= {MAX_PPL}): {concept} <= 1/3 of unsteered"
              f"{' or ' + desired + ' >= 3x' if desired else ''}. Best strength per map:\n")
        print(f"| map | strength | {concept} ratio | {desired or '-'} ratio | ppl ratio | meets 1/3 (or 3x) |")
        print("|---|---|---|---|---|---|")
        for m in sorted(rows):
            per = rows[m]
            base = per.get(0.0)
            if not base:
                continue
            v = verdict_row(per, base, desired is not None)
            if not v:
                print(f"| {m[len(name) + 1:]} | - | - | - | - | no strength within ppl |")
                continue
            s, cr, dr, ppl, key = v
            meets = "yes" if key <= 1 / 3 else "no"
            print(f"| {m[len(name) + 1:]} | {s:g} | {cr:.2f} | {f'{dr:.2f}' if dr else '-'} | {ppl:.4f} | {meets} |")
    sparsity()
    bases = {}  # unsteered concept rate over blocks 0 and 1000 (the sparsity runs' blocks), per concept
    for name in CONCEPT:
        maps = load(name)
        if maps:
            ks = next(iter(maps.values()))[0.0]["blocks"]
            for r in sparsity_rows():
                if r["base"].startswith(name + "."):
                    bases[r["base"]] = 100 * (ks[0] + ks[1]) / 400
    sparsity_svg(os.path.join(runs, "v3-sparsity.svg"), bases)


FIT = re.compile(r"held-out W1 \((\d+) prompts per side\) ([0-9.]+) -> ([0-9.]+) \(floor ([0-9.]+)\); maps of step (\d+)")
ACTIVE = re.compile(r"active neurons (\d+)/(\d+), active sites (\d+)/(\d+)")


def fit_sections():
    """The unpenalized references: runs/v3-fit.log split by its '== <name> lineas <sites> seed 0' headers."""
    out = {}
    path = os.path.join(runs, "v3-fit.log")
    if not os.path.exists(path):
        return out
    head = None
    for line in open(path, encoding="utf-8"):
        m = re.match(r"== (\S+) lineas (\S+) seed 0$", line.strip())
        if line.startswith("=="):
            head = f"{m.group(1)}.lineas.{m.group(2)}" if m else None
            if head:
                out[head] = ""
        elif head:
            out[head] += line
    return out


def strength_one(paths):
    k = n = dk = dn = 0
    ppl = None
    for path in paths:
        if not os.path.exists(path):
            continue
        for r in parse(path)[0]:
            if r["s"] == 1.0:
                k, n, ppl = k + r["k"], n + r["n"], r["ppl"]
                d = desired_k(r)
                if d:
                    dk, dn = dk + d[0], dn + d[1]
    return k, n, dk, dn, ppl


def sparsity_rows():
    rows = []
    refs = fit_sections()
    for log in sorted(glob.glob(os.path.join(runs, "*.v3sparse.*.fit.log"))):
        tag = os.path.basename(log)[: -len(".fit.log")]
        rows.append((tag.split(".v3sparse.")[0], tag.split(".v3sparse.")[1], open(log, encoding="utf-8").read(),
                     [os.path.join(runs, f"{tag}.elicit.seed{b}.n200.md") for b in (0, 1000)]))
    for base in sorted({r[0] for r in rows}):
        if base in refs:
            rows.insert(0, (base, "none", refs[base],
                            [os.path.join(runs, f"{base}.s0.v3.elicit.seed{b}.n200.md") for b in (0, 1000)]))
    out = []
    for base, penalty, text, paths in rows:
        f, a = FIT.search(text), ACTIVE.search(text)
        if not f or not a:
            continue
        start, end, floor = float(f.group(2)), float(f.group(3)), float(f.group(4))
        out.append(dict(base=base, penalty=penalty, neurons=(int(a.group(1)), int(a.group(2))),
                        sites=(int(a.group(3)), int(a.group(4))), start=start, end=end, floor=floor,
                        step=int(f.group(5)), rate=strength_one(paths)))
    return out


def sparsity():
    rows = sparsity_rows()
    if not rows:
        return
    print("\n### v3: sparsity sweep (LinEAS seed 0, strength 1, elicit set, seed blocks 0 and 1000 pooled, N = 400)\n")
    print("| map | penalty | active neurons | active sites | maps of step | held-out W1 start -> maps (floor) | "
          "concept at 1 [95% CI] | desired at 1 [95% CI] | ppl ratio at 1 |")
    print("|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        k, n, dk, dn, ppl = r["rate"]
        print(f"| {r['base']} | {r['penalty']} | {r['neurons'][0]}/{r['neurons'][1]} | {r['sites'][0]}/{r['sites'][1]} | "
              f"{r['step']} | {r['start']:.4f} -> {r['end']:.4f} ({r['floor']:.4f}) | {fmt(k, n) if n else '-'} | "
              f"{fmt(dk, dn) if dn else '-'} | {f'{ppl:.4f}' if ppl else '-'} |")


def sparsity_svg(path, base_rates):
    """Effect at strength 1 (concept-rate drop from unsteered, points) against the share of active neurons, one marker
    per fit, labelled with its penalty and active sites; base_rates: {map base: unsteered concept rate in % over the
    same blocks}."""
    rows = [r for r in sparsity_rows() if r["rate"][1]]
    if not rows:
        return
    w, h, l, b = 640, 400, 70, 60
    xs = lambda v: l + v * (w - l - 20)  # noqa: E731
    effects = [base_rates.get(r["base"], 0) - 100 * r["rate"][0] / r["rate"][1] for r in rows]
    top = max(1.0, max(effects) * 1.2)
    low = min(0.0, min(effects) * 1.2)
    ys = lambda v: (h - b) - (v - low) / (top - low) * (h - b - 20)  # noqa: E731
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" font-family="sans-serif" font-size="11">',
           f'<rect width="{w}" height="{h}" fill="white"/>',
           f'<line x1="{l}" y1="{h - b}" x2="{w - 20}" y2="{h - b}" stroke="black"/>',
           f'<line x1="{l}" y1="20" x2="{l}" y2="{h - b}" stroke="black"/>',
           f'<line x1="{l}" y1="{ys(0):.1f}" x2="{w - 20}" y2="{ys(0):.1f}" stroke="#bbb" stroke-dasharray="4,3"/>',
           f'<text x="{(w + l) / 2}" y="{h - 20}" text-anchor="middle">share of neurons active (LinEAS, strength 1; label: penalty, active sites)</text>',
           f'<text x="16" y="{(h - b) / 2}" transform="rotate(-90 16 {(h - b) / 2})" text-anchor="middle">'
           'concept rate drop vs unsteered (points)</text>']
    for t in range(0, 11, 2):
        out.append(f'<text x="{xs(t / 10):.1f}" y="{h - b + 15}" text-anchor="middle">{t / 10:.1f}</text>')
    step = max(0.5, round((top - low) / 6 * 2) / 2)
    v = 0.0
    while v <= top:
        out.append(f'<text x="{l - 6}" y="{ys(v) + 4:.1f}" text-anchor="end">{v:g}</text>')
        v += step
    v = -step
    while v >= low:
        out.append(f'<text x="{l - 6}" y="{ys(v) + 4:.1f}" text-anchor="end">{v:g}</text>')
        v -= step
    colors = {"none": "black", "l1": "#1f77b4", "group": "#d62728"}
    for r, e in zip(rows, effects):
        share = r["neurons"][0] / r["neurons"][1]
        x, y = xs(share), ys(e)
        kind = r["penalty"].split("-")[0]
        out.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="4" fill="{colors.get(kind, "gray")}"/>')
        label = f'{r["penalty"]}, {r["sites"][0]}/{r["sites"][1]} sites'
        anchor, dx = ("end", -6) if share > 0.7 else ("start", 6)
        out.append(f'<text x="{x + dx:.1f}" y="{y - 5:.1f}" text-anchor="{anchor}">{label}</text>')
    out.append("</svg>")
    with open(path, "w", encoding="utf-8") as f:
        f.write("\n".join(out) + "\n")


if __name__ == "__main__":
    main()
