#!/usr/bin/env python3
"""How often the concept words appear in the source/target prompts and in what the unsteered model writes after them.

Reads policies/prompts/<name>.{source,target}.jsonl and the continuations written by
`deploy/steer generate --prompts <set> --max-tokens 48 --seed 0 > DIR/<name>.<side>.gen.jsonl` (see EVALUATION.md,
"What the model writes after the fitting prompts"). Counting is a whole-word, case-insensitive match of the lexicon's
words, without LexiconScorer's inflections, so it undercounts a little against `steer evaluate`.
Usage: continuation_rates.py DIR
"""
import json
import re
import sys

PAIRS = {"cheerful": ["sadness", "cheerfulness"], "no-dogs": ["dogs"], "kindness": ["meanness", "kindness"]}


def lexicon(name):
    with open(f"policies/lexicons/{name}.txt") as f:
        return [w.strip().lower() for w in f if w.strip() and not w.startswith("#")]


def main(gen_dir):
    print("| set | side | lexicon | prompts with a hit | continuations with a hit |")
    print("| --- | --- | --- | --- | --- |")
    for name, lexicons in PAIRS.items():
        for side in ["source", "target"]:
            with open(f"policies/prompts/{name}.{side}.jsonl") as f:
                prompts = [json.loads(line)["text"] for line in f if line.strip()]
            with open(f"{gen_dir}/{name}.{side}.gen.jsonl") as f:
                written = [json.loads(line)["text"] for line in f]
            continuations = [w[len(p):] for p, w in zip(prompts, written)]
            for lex in lexicons:
                words = re.compile(r"\b(" + "|".join(map(re.escape, lexicon(lex))) + r")\b", re.I)
                in_prompts = sum(bool(words.search(p)) for p in prompts)
                in_continuations = sum(bool(words.search(c)) for c in continuations)
                print(f"| {name} | {side} | {lex} | {in_prompts}/{len(prompts)} | {in_continuations}/{len(continuations)} |")


if __name__ == "__main__":
    main(sys.argv[1])
