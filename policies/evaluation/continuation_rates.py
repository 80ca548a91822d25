#!/usr/bin/env python3
"""How often the concept words appear in what the model writes after the source and target prompts: unsteered after
both, and (optionally) steered after the source prompts.

Unsteered continuations per generation seed block B, in DIR_B/<name>.<side>.gen.jsonl, written by
`deploy/steer generate --prompts policies/prompts/<name>.<side>.jsonl --max-tokens 48 --seed B`; steered ones in
the same layout with only the source side, written with `--map FILE --strength S` added (EVALUATION.md, "What the model
writes after the fitting prompts"). Counting is a whole-word, case-insensitive match of the lexicon's words, without
LexiconScorer's inflections, so it undercounts a little against `steer evaluate`. Rates are pooled over the blocks
with Wilson 95% intervals; ratios are against the unsteered source side, with a 95% interval on the log scale (Katz).

What it is for: a map at strength 1 carries the source prompts' activations to the target prompts' distribution, so
what the unsteered model writes after the *target* prompts is what a faithful strength-1 transport should reach; the
table puts each map's steered source continuations beside that reference.
Usage: continuation_rates.py DIR... [--steered LABEL DIR...]...
"""
import json
import math
import re
import sys

PAIRS = {"cheerful": ["sadness", "cheerfulness"], "no-dogs": ["dogs"], "kindness": ["meanness", "kindness"]}


def lexicon(name):
    with open(f"policies/lexicons/{name}.txt") as f:
        return [w.strip().lower() for w in f if w.strip() and not w.startswith("#")]


def words_of(name):
    """The lexicon's words as one whole-word, case-insensitive pattern."""
    return re.compile(r"\b(" + "|".join(map(re.escape, lexicon(name))) + r")\b", re.I)


def wilson(k, n, z=1.96):
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return 100 * (centre - half), 100 * (centre + half)


def ratio(k, n, k0, n0, z=1.96):
    if k == 0 or k0 == 0:
        return "-"
    r = (k / n) / (k0 / n0)
    se = math.sqrt(1 / k - 1 / n + 1 / k0 - 1 / n0)
    return f"{r:.2f} [{r * math.exp(-z * se):.2f}, {r * math.exp(z * se):.2f}]"


def texts(path):
    with open(path) as f:
        return [json.loads(line)["text"] for line in f if line.strip()]


def hits(words, prompts, dirs, name, side):
    per_block = []
    for gen_dir in dirs:
        written = texts(f"{gen_dir}/{name}.{side}.gen.jsonl")
        if len(written) != len(prompts):
            raise SystemExit(f"{gen_dir}/{name}.{side}.gen.jsonl has {len(written)} texts for {len(prompts)} prompts")
        per_block.append(sum(bool(words.search(w[len(p):])) for p, w in zip(prompts, written)))
    return per_block


def parse(args):
    unsteered, steered, label = [], {}, None
    i = 0
    while i < len(args):
        if args[i] == "--steered":
            label = args[i + 1]
            steered[label] = []
            i += 2
            continue
        (steered[label] if label else unsteered).append(args[i])
        i += 1
    return unsteered, steered


def main(args):
    unsteered, steered = parse(args)
    print("| set | lexicon | continuations of | prompts with a hit | continuations with a hit, per block |"
          " pooled [95% CI] | / unsteered source [95% CI] |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for name, lexicons in PAIRS.items():
        for lex in lexicons:
            words = words_of(lex)
            rows = []
            for side in ["source", "target"]:
                prompts = texts(f"policies/prompts/{name}.{side}.jsonl")
                rows.append((f"{side}, unsteered", prompts, hits(words, prompts, unsteered, name, side)))
            source_prompts = rows[0][1]
            for label, dirs in steered.items():
                rows.append((f"source, {label}", source_prompts, hits(words, source_prompts, dirs, name, "source")))
            k0, n0 = sum(rows[0][2]), len(source_prompts) * len(rows[0][2])
            for label, prompts, per_block in rows:
                k, n = sum(per_block), len(prompts) * len(per_block)
                low, high = wilson(k, n)
                in_prompts = sum(bool(words.search(p)) for p in prompts)
                print(f"| {name} | {lex} | {label} | {in_prompts}/{len(prompts)} | {' / '.join(map(str, per_block))} | "
                      f"{k}/{n} {100 * k / n:.1f}% [{low:.1f}, {high:.1f}] | "
                      f"{'' if label == 'source, unsteered' else ratio(k, n, k0, n0)} |")


if __name__ == "__main__":
    main(sys.argv[1:])
