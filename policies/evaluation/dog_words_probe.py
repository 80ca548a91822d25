#!/usr/bin/env python3
"""Is it the dog words themselves? The no-dogs source prompts with every dog word swapped for a cat word (dog -> cat,
puppy -> kitten, bark -> meow, ...), the stories otherwise unchanged, and how often the unsteered model then writes
a dog word (EVALUATION.md, "What strength 1 can reach"; run by `measure.sh dog-words`).

Usage: dog_words_probe.py make OUT.jsonl          # the swapped prompts; fails if one still names a dog
       dog_words_probe.py count PROMPTS.jsonl DIR...  # DIR/gen.jsonl per seed block; pooled rate and the ratio to
                                                  # BASE_K/BASE_N (the unswapped source prompts' rate)
Counting is the whole-word match of continuation_rates.py.
"""
import json
import math
import re
import sys

SWAPS = {"dog": "cat", "dogs": "cats", "doggy": "kitty", "doggie": "kitty", "puppy": "kitten", "puppies": "kittens",
         "pup": "kitten", "hound": "cat", "poodle": "cat", "bark": "meow", "barked": "meowed", "barking": "meowing",
         "barks": "meows", "woof": "meow"}
SOURCE = "policies/prompts/no-dogs.source.jsonl"


def dog_words():
    with open("policies/lexicons/dogs.txt") as f:
        words = [w.strip() for w in f if w.strip() and not w.startswith("#")]
    return re.compile(r"\b(" + "|".join(map(re.escape, words)) + r")\b", re.I)


def texts(path):
    with open(path) as f:
        return [json.loads(line)["text"] for line in f if line.strip()]


def swap(text):
    pattern = re.compile(r"\b(" + "|".join(sorted(SWAPS, key=len, reverse=True)) + r")\b", re.I)
    cat = SWAPS.get

    def replace(match):
        word = cat(match.group(0).lower())
        return word.capitalize() if match.group(0)[0].isupper() else word
    return pattern.sub(replace, text)


def make(out):
    dogs = dog_words()
    swapped = [swap(t) for t in texts(SOURCE)]
    still = [t for t in swapped if dogs.search(t)]
    if still:
        raise SystemExit(f"{len(still)} swapped prompts still name a dog, e.g. {still[0]!r}")
    with open(out, "w") as f:
        for t in swapped:
            f.write(json.dumps({"text": t}) + "\n")


def count(prompts_path, dirs, base_k, base_n):
    dogs = dog_words()
    prompts = texts(prompts_path)
    per_block = []
    for d in dirs:
        written = texts(f"{d}/gen.jsonl")
        per_block.append(sum(bool(dogs.search(w[len(p):])) for p, w in zip(prompts, written)))
    k, n = sum(per_block), len(prompts) * len(dirs)
    r = (k / n) / (base_k / base_n)
    se = math.sqrt(1 / k - 1 / n + 1 / base_k - 1 / base_n)
    print(f"dog words swapped for cat words, unsteered: {' / '.join(map(str, per_block))} per block, {k}/{n} "
          f"{100 * k / n:.1f}%, {r:.2f} [{r * math.exp(-1.96 * se):.2f}, {r * math.exp(1.96 * se):.2f}] of the "
          f"source prompts' {base_k}/{base_n}")


if __name__ == "__main__":
    if sys.argv[1] == "make":
        make(sys.argv[2])
    else:
        count(sys.argv[2], sys.argv[5:], int(sys.argv[3]), int(sys.argv[4]))
