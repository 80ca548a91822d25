#!/usr/bin/env python3
"""Is it the dog words themselves? The no-dogs source prompts with every dog word swapped for a cat word (dog -> cat,
puppy -> kitten, bark -> meow, ...), the stories otherwise unchanged, and how often the unsteered model then writes
a dog word (EVALUATION.md, "What strength 1 can reach"; run by `measure.sh dog-words`).

Usage: dog_words_probe.py make OUT.jsonl                      # the swapped prompts; fails if one still names a dog
       dog_words_probe.py count PROMPTS.jsonl BASE_K BASE_N DIR...  # DIR/no-dogs.source.gen.jsonl per seed block;
                                                              # pooled rate and its ratio to BASE_K/BASE_N (the
                                                              # unswapped source prompts' rate)
Counting and intervals are continuation_rates.py's.
"""
import json
import re
import sys

import continuation_rates as rates

SWAPS = {"dog": "cat", "dogs": "cats", "doggy": "kitty", "doggie": "kitty", "puppy": "kitten", "puppies": "kittens",
         "pup": "kitten", "hound": "cat", "poodle": "cat", "bark": "meow", "barked": "meowed", "barking": "meowing",
         "barks": "meows", "woof": "meow"}
SWAP = re.compile(r"\b(" + "|".join(sorted(SWAPS, key=len, reverse=True)) + r")\b", re.I)
SOURCE = "policies/prompts/no-dogs.source.jsonl"


def swap(text):
    def replace(match):
        word = SWAPS[match.group(0).lower()]
        return word.capitalize() if match.group(0)[0].isupper() else word
    return SWAP.sub(replace, text)


def make(out):
    dogs = rates.words_of("dogs")
    swapped = [swap(t) for t in rates.texts(SOURCE)]
    still = [t for t in swapped if dogs.search(t)]
    if still:
        raise SystemExit(f"{len(still)} swapped prompts still name a dog, e.g. {still[0]!r}")
    with open(out, "w") as f:
        for t in swapped:
            f.write(json.dumps({"text": t}) + "\n")


def count(prompts_path, base_k, base_n, dirs):
    prompts = rates.texts(prompts_path)
    per_block = rates.hits(rates.words_of("dogs"), prompts, dirs, "no-dogs", "source")
    k, n = sum(per_block), len(prompts) * len(dirs)
    print(f"dog words swapped for cat words, unsteered: {' / '.join(map(str, per_block))} per block, {k}/{n} "
          f"{100 * k / n:.1f}%, {rates.ratio(k, n, base_k, base_n)} of the source prompts' {base_k}/{base_n}")


if __name__ == "__main__":
    if sys.argv[1] == "make":
        make(sys.argv[2])
    else:
        count(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5:])
