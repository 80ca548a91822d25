#!/usr/bin/env bash
# The measurement of policies/evaluation/README.md: fits Linear-AcT and mean-shift maps for the three demo
# interventions at two site sets, then evaluates them with deploy/steer. Usage:
#   policies/evaluation/measure.sh fit                      # all 12 maps into policies/evaluation/maps/
#   policies/evaluation/measure.sh eval N SUFFIX MAP...     # evaluate maps (basename, e.g. kindness.linear-act.resid)
#   policies/evaluation/measure.sh fit-lineas               # 6 LinEAS maps (300 steps, lr 1e-2, seed 0); log -> runs/lineas-fit.log
#   policies/evaluation/measure.sh sweep SET N STRENGTHS MAP...  # SET = eval | elicit; -> runs/<map>.v2[.elicit].nN.{md,svg}
#     (SEED=N before it: a replication whose row i samples with seed N+i, files .v2[.elicit].seedN.nN.*)
#   policies/evaluation/measure.sh compose SET N STRENGTHS MAP1 MAP2  # composition, -> runs/composition.<m1>+<m2>.v2[.elicit].nN.*
#   policies/evaluation/measure.sh v2                       # the whole second measurement (EVALUATION.md), in order
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
  fit-lineas)
    for name in kindness cheerful no-dogs; do
      for sites in resid attn_norm,mlp_norm; do
        tag="${sites/,/+}"
        echo "== $name lineas $tag"
        $steer fit --model "$model" --method lineas --source "$p/$name.source.jsonl" \
          --target "$p/$name.target.jsonl" --sites "$sites" --name "$name" --concept "$(concept "$name")" \
          --seed 0 --steps 300 --lr 1e-2 --out "$out/maps/$name.lineas.$tag.safetensors" 2>&1
      done
    done | tee "$out/runs/lineas-fit.log"
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
  sweep)
    set_="$2"; n="$3"; strengths="$4"; shift 4
    tag=v2; [[ "$set_" == elicit ]] && tag=v2.elicit
    seed="${SEED:-0}"; [[ "$seed" != 0 ]] && tag="$tag.seed$seed"   # SEED=N: rows use seeds N+i (a replication)
    for m in "$@"; do
      name="${m%%.*}"
      d="$(desired "$name")"
      echo "== $m on $set_ at $strengths"
      $steer evaluate --model "$model" --map "$out/maps/$m.safetensors" --eval "$p/$name.$set_.jsonl" \
        --lexicon "$lx/$(concept "$name").txt" ${d:+--desired "$lx/$d.txt"} \
        --source "$p/$name.source.jsonl" --target "$p/$name.target.jsonl" \
        --strengths "$strengths" --n "$n" --seed "$seed" --ppl-texts "$p/perplexity.jsonl" \
        --out-svg "$out/runs/$m.$tag.n$n.svg" --out-md "$out/runs/$m.$tag.n$n.md"
    done 2>&1 | tee -a "$out/runs/v2.log"
    ;;
  compose)
    set_="$2"; n="$3"; strengths="$4"; m1="$5"; m2="$6"
    tag=v2; [[ "$set_" == elicit ]] && tag=v2.elicit
    n1="${m1%%.*}"; n2="${m2%%.*}"; d="$(desired "$n1")"
    echo "== composition $m1 then $m2 on $set_ at $strengths" | tee -a "$out/runs/v2.log"
    $steer evaluate --model "$model" --map "$out/maps/$m1.safetensors" --map2 "$out/maps/$m2.safetensors" \
      --eval "$p/$n1.$set_.jsonl" --eval2 "$p/$n2.$set_.jsonl" \
      --lexicon "$lx/$(concept "$n1").txt" --lexicon2 "$lx/$(concept "$n2").txt" ${d:+--desired "$lx/$d.txt"} \
      --source "$p/$n1.source.jsonl" --target "$p/$n1.target.jsonl" \
      --strengths "$strengths" --n "$n" --ppl-texts "$p/perplexity.jsonl" \
      --out-svg "$out/runs/composition.$m1+$m2.$tag.n$n.svg" \
      --out-md "$out/runs/composition.$m1+$m2.$tag.n$n.md" 2>&1 | tee -a "$out/runs/v2.log"
    ;;
  v2)
    maps=""
    for name in kindness cheerful no-dogs; do
      for method in linear-act mean-shift lineas; do
        for sites in resid attn_norm+mlp_norm; do maps="$maps $name.$method.$sites"; done
      done
    done
    "$0" fit-lineas
    "$0" sweep elicit 200 0,0.5,1,2,3,4 $maps
    "$0" sweep eval 200 0,0.5,1,2,3,4 $maps
    for set_ in elicit eval; do
      SEED=1000 "$0" sweep "$set_" 200 0,2,3,4 kindness.linear-act.resid kindness.mean-shift.resid \
        kindness.mean-shift.attn_norm+mlp_norm no-dogs.linear-act.resid cheerful.mean-shift.resid
    done
    "$0" compose elicit 200 0,2,3 kindness.mean-shift.resid no-dogs.linear-act.resid
    "$0" compose eval 200 0,2,3 kindness.mean-shift.resid no-dogs.linear-act.resid
    "$0" compose elicit 200 0,2,3 cheerful.mean-shift.resid no-dogs.linear-act.resid
    python3 "$out/v2_tables.py"
    ;;
  *) echo "usage: $0 fit | fit-lineas | eval N SUFFIX MAP... | sweep SET N STRENGTHS MAP... | compose SET N STRENGTHS MAP1 MAP2 | v2" >&2; exit 2;;
esac
