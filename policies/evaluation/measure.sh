#!/usr/bin/env bash
# The measurement of policies/evaluation/README.md: fits Linear-AcT and mean-shift maps for the three demo
# interventions at two site sets, then evaluates them with deploy/steer. Usage:
#   policies/evaluation/measure.sh fit                      # all 12 maps into policies/evaluation/maps/
#   policies/evaluation/measure.sh eval N SUFFIX MAP...     # evaluate maps (basename, e.g. kindness.linear-act.resid)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
steer=deploy/steer
model=../shared/models/stories260K
p=policies/prompts
lx=policies/lexicons
out=policies/evaluation
mkdir -p "$out/maps" "$out/runs"

concept() { case "$1" in kindness) echo meanness;; cheerful) echo sadness;; no-dogs) echo dogs;; esac; }
desired() { case "$1" in kindness) echo kindness;; cheerful) echo cheerfulness;; *) echo "";; esac; }

case "${1:-}" in
  fit)
    for name in kindness cheerful no-dogs; do
      for method in linear-act mean-shift; do
        for sites in attn_norm,mlp_norm resid; do
          tag="${sites/,/+}"
          $steer fit --model "$model" --method "$method" --source "$p/$name.source.jsonl" \
            --target "$p/$name.target.jsonl" --sites "$sites" --name "$name" --concept "$(concept "$name")" \
            --seed 0 --out "$out/maps/$name.$method.$tag.safetensors"
        done
      done
    done
    ;;
  eval)
    n="$2"; suffix="$3"; shift 3
    for m in "$@"; do
      name="${m%%.*}"
      d="$(desired "$name")"
      $steer evaluate --model "$model" --map "$out/maps/$m.safetensors" --eval "$p/$name.eval.jsonl" \
        --lexicon "$lx/$(concept "$name").txt" ${d:+--desired "$lx/$d.txt"} \
        --source "$p/$name.source.jsonl" --target "$p/$name.target.jsonl" \
        --strengths 0,0.5,1 --n "$n" --ppl-texts "$p/perplexity.jsonl" \
        --out-svg "$out/runs/$m.$suffix.svg" --out-md "$out/runs/$m.$suffix.md"
    done
    ;;
  *) echo "usage: $0 fit | eval N SUFFIX MAP..." >&2; exit 2;;
esac
