#!/usr/bin/env python3
"""Fitting sets from what the model itself writes (issue 12): for each concept, stories the unsteered model was
about to take to the concept, against stories from the same prompts that it did not.

Input: a prompt set POOL.jsonl and generation files GEN_DIR/gen.seed<B>.jsonl, each written by
`deploy/steer generate --prompts POOL.jsonl --max-tokens 48 --seed B` (row i = prompt i continued with seed B + i;
the text is prompt + continuation). For each concept (cheerful: sadness, no-dogs: dogs, kindness: meanness) and each
prompt without a word of the concept:
- source: a continuation that reaches a concept word, cut just before that word, if at least MIN_WORDS generated
  words precede it: the state the model was in when it chose the concept;
- target: paired with each source, a continuation of the *same prompt* (another seed) that never reaches the
  concept, cut after the same number of generated words.
The two sides differ only in where the model's own sampling went, not in the prompt or the length, so a transport
from source to target moves "about to write the concept" towards "not".
For the concepts with a desired side (cheerful: cheerfulness, kindness: kindness) it also writes the "desired" sets:
the same sources, each paired with a continuation of the same prompt that reaches a desired word before any concept
word, cut just before it (the desired cut nearest in length), so a transport moves "about to write the concept"
towards "about to write its opposite" (session 19: the "not" target steered into neutral text).
Words are matched as LexiconScorer matches them (entries and simple inflections, "!word" exclusions).
Writes OUT_DIR/<name>.<STEM>.{source,target}.jsonl and OUT_DIR/<name>.<STEM>-desired.{source,target}.jsonl;
prints the counts. STEM names the sets by the generations they come from: selfgen (20 seed blocks, session 17),
selfgen80 (80, session 20).
Usage: selfgen_sets.py POOL.jsonl GEN_DIR OUT_DIR [MIN_WORDS (default 3)] [STEM (default selfgen)]
"""
import glob
import json
import random
import re
import sys

CONCEPTS = {"cheerful": "sadness", "no-dogs": "dogs", "kindness": "meanness"}
DESIRED = {"cheerful": "cheerfulness", "kindness": "kindness"}
WORD = re.compile(r"[a-z']+")


class Lexicon:
    """LexiconScorer's rule: an entry or a simple inflection of one; "!word" lines are exclusions."""

    def __init__(self, name):
        self.entries, self.exclusions = set(), set()
        with open(f"policies/lexicons/{name}.txt") as f:
            for line in f:
                w = line.strip().lower()
                if not w or w.startswith("#"):
                    continue
                (self.exclusions if w.startswith("!") else self.entries).add(w.lstrip("!"))

    def known(self, stem):
        return len(stem) >= 2 and stem in self.entries

    def inflection(self, w):
        if any(w.endswith(s) and self.known(w[: -len(s)] + "y") for s in ("ies", "ied", "ier", "iest")):
            return True
        if w.endswith("s") and (self.known(w[:-1]) or w.endswith("es") and self.known(w[:-2])):
            return True
        for s in ("ed", "ing", "er", "est"):
            if w.endswith(s):
                stem = w[: -len(s)]
                doubled = len(stem) >= 3 and stem[-1] == stem[-2] and stem[-1] not in "aeiou"
                if self.known(stem) or self.known(stem + "e") or doubled and self.known(stem[:-1]):
                    return True
        return False

    def hits(self, w):
        if w in self.exclusions:
            return False
        if w in self.entries:
            return True
        if w.endswith("'s"):
            stem = w[:-2]
            return stem not in self.exclusions and (stem in self.entries or self.inflection(stem))
        return self.inflection(w)


def words(text):
    """(start, end, word) of each word as LexiconScorer splits them, apostrophes at either end stripped."""
    out = []
    for m in WORD.finditer(text.lower().replace("\u2019", "'")):
        w = m.group().strip("'")
        if w:
            out.append((m.start(), m.end(), w))
    return out


def read(path):
    with open(path) as f:
        return [json.loads(line)["text"] for line in f if line.strip()]


def first_hit(lex, ws):
    return next((k for k, (_, _, w) in enumerate(ws) if lex.hits(w)), None)


def write_sets(out_dir, stem, sources, targets):
    for side, texts in (("source", sources), ("target", targets)):
        with open(f"{out_dir}/{stem}.{side}.jsonl", "w") as f:
            for t in texts:
                f.write(json.dumps({"text": t}) + "\n")


def main(pool_path, gen_dir, out_dir, min_words, stem):
    prompts = read(pool_path)
    gens = [read(p) for p in sorted(glob.glob(f"{gen_dir}/gen.seed*.jsonl"))]
    for g in gens:
        if len(g) != len(prompts):
            raise SystemExit(f"a generation file has {len(g)} texts for {len(prompts)} prompts")
    for name, concept in CONCEPTS.items():
        lex, rng = Lexicon(concept), random.Random(0)
        desired = Lexicon(DESIRED[name]) if name in DESIRED else None
        sources, targets, skipped_prompts, unpaired, hits_total, n_total = [], [], 0, 0, 0, 0
        desired_sources, desired_targets = [], []
        for i, prompt in enumerate(prompts):
            if any(lex.hits(w) for _, _, w in words(prompt)):
                skipped_prompts += 1
                continue
            cuts, clean, desired_cuts = [], [], []
            for g in gens:
                text = g[i]
                if not text.startswith(prompt):
                    raise SystemExit(f"row {i}: the generated text does not start with its prompt")
                cont = text[len(prompt):]
                ws = words(cont)
                n_total += 1
                first = first_hit(lex, ws)
                if desired is not None:
                    d = first_hit(desired, ws)
                    if d is not None and d >= min_words and (first is None or first > d):
                        desired_cuts.append((d, prompt + cont[: ws[d][0]].rstrip()))
                if first is None:
                    clean.append((cont, ws))
                    continue
                hits_total += 1
                if first >= min_words:
                    cuts.append((first, prompt + cont[: ws[first][0]].rstrip()))
            rng.shuffle(clean)
            for k, (first, text) in enumerate(cuts):
                if desired_cuts:
                    desired_sources.append(text)
                    desired_targets.append(min(desired_cuts, key=lambda c: abs(c[0] - first))[1])
                pair = next((c for c in clean[k:] + clean[:k] if len(c[1]) > first), None)
                if pair is None:
                    unpaired += 1
                    continue
                cont, ws = pair
                sources.append(text)
                targets.append(prompt + cont[: ws[first - 1][1]])
        write_sets(out_dir, f"{name}.{stem}", sources, targets)
        print(f"{name} ({concept}): {len(prompts) - skipped_prompts} prompts without the concept x {len(gens)} seeds"
              f" = {n_total} continuations, {hits_total} reach it ({100 * hits_total / max(n_total, 1):.1f}%);"
              f" {len(sources)} pairs written, {unpaired} without a clean partner")
        if desired is not None:
            write_sets(out_dir, f"{name}.{stem}-desired", desired_sources, desired_targets)
            print(f"{name} desired ({DESIRED[name]}): {len(desired_sources)} pairs written")


if __name__ == "__main__":
    if len(sys.argv) not in (4, 5, 6):
        raise SystemExit(__doc__)
    main(sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]) if len(sys.argv) >= 5 else 3,
         sys.argv[5] if len(sys.argv) == 6 else "selfgen")
