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
#   policies/evaluation/measure.sh fit-v3                   # v3 (issue 12 items 4, 6): LinEAS at attn_out,mlp_out, held-out 0.25,
#                                                           # patience 50, seeds 0 1 2; Linear-AcT and mean shift at the same sites
#   policies/evaluation/measure.sh sweep-v3 MAP...          # elicit set, N 200, strengths 0,0.5,1, seed blocks 0 1000 2000
#                                                           # -> runs/<map>.v3.elicit.seedS.n200.{md,svg}; BLOCKS="1000 2000" and
#                                                           # STRENGTHS=0.5,1 narrow it (strength 0 is the same model for
#                                                           # every map: v3_tables.py takes it from any map of the concept);
#                                                           # SKIP_DONE=1 skips runs whose report exists; SUFFIX=.X names the
#                                                           # files <map>.v3.X.elicit.* (runs outside the core table)
#   policies/evaluation/measure.sh v3                       # the whole third measurement (EVALUATION.md "v3"), in order
#   policies/evaluation/measure.sh sparse-v3 NAME SITES PENALTY...  # sparsity sweep (issue 12 item 3): PENALTY = l1=X or group=X;
#                                                           # LinEAS as fit-v3 (seed 0) plus the penalty, evaluated at strength 1
#                                                           # on the elicit set, blocks 0 and 1000 -> maps/ and runs/
#                                                           # <name>.lineas.<sites>.v3sparse.<l1|group>-X.{fit.log,elicit.seedB.n200.*}
#   policies/evaluation/measure.sh fit-dsas                 # DSAS (issue 12 item 5): token gates (steer gate, source vs target
#                                                           # prompts, l2 0.1) for the LinEAS attn_out+mlp_out fits s0 s1 s2 (gate
#                                                           # seed = fit seed) and the shipped maps (policies/interventions, seed 0)
#                                                           # -> maps/<map>.gated, maps/<name>.shipped.gated; log runs/dsas-fit.log
#   policies/evaluation/measure.sh sweep-dsas MAP...        # elicit set, N 200, STRENGTHS (default 1,2,3), seed blocks BLOCKS
#                                                           # (default 0 1000 2000) -> runs/<map>.dsas.elicit.seedS.n200.{md,svg};
#                                                           # MAP <name>.shipped is policies/interventions/<name>.safetensors
#   policies/evaluation/measure.sh report-dsas              # how open the gates are (steer gate --report, strength 1) on the
#                                                           # elicit, perplexity, source and target prompts -> runs/dsas-openness.log
#   policies/evaluation/measure.sh dsas                     # the whole DSAS measurement (EVALUATION.md "DSAS"), then dsas_tables.py
#   policies/evaluation/measure.sh fit-e2e                  # end-to-end DSAS (issue 12 item 5): LinEAS at attn_out,mlp_out with a
#                                                           # token gate per map trained jointly (steer fit --control, the target
#                                                           # prompts as the control set, weight 1), lr 3e-2, 300 steps, held-out
#                                                           # 0.25 reported but no early stop, seeds 0 1 2
#                                                           # -> maps/<name>.lineas.attn_out+mlp_out.s<seed>.e2e; runs/e2e-fit.log
#   policies/evaluation/measure.sh sched-e2e                # fit-e2e's schedule (lr 3e-2, 300 steps, no early stop) without gates,
#                                                           # elicit sweep at 1,2,3 -> <map>.sched.*: is it the gates or the schedule
#   policies/evaluation/measure.sh replicate-e2e            # kindness at weight 0.3: fits seeds 3-5, new blocks 3000-5000 beside
#                                                           # the v3 fixed fits -> runs/replicate-e2e.md
#   policies/evaluation/measure.sh replicate-blocks         # fixed v3 and end-to-end (weight 1) fits on blocks 3000-5000
#                                                           # -> runs/replicate-blocks.md
#   policies/evaluation/measure.sh weights-e2e              # fit-e2e at control weights 0.1 and 0.3 (WEIGHT=X fit-e2e), elicit
#                                                           # sweep at 1 and 2 -> maps/ and runs/ <map>.e2e-wX.*
#   policies/evaluation/measure.sh e2e                      # fit-e2e, their elicit sweep at 1,2,3 (sweep-dsas), how open their
#                                                           # gates are (runs/e2e-openness.log), then dsas_tables.py
#   policies/evaluation/measure.sh context                  # what the model writes after the fitting prompts (issue 12): unsteered
#                                                           # after source and target prompts, and steered at strength 1 after the
#                                                           # source prompts (shipped; mean shift, Linear-AcT and LinEAS at resid,
#                                                           # attn_out+mlp_out (LinEAS: v3 fits s0-s2) and attn_norm+mlp_norm),
#                                                           # 48 tokens, seed blocks 0..5000 -> $GEN (default
#                                                           # /tmp/steergate-context; SKIP_DONE=1 keeps what is there), table
#                                                           # -> runs/context-reference.md
#   policies/evaluation/measure.sh context-gated            # as `context` for the LinEAS attn_out+mlp_out fits s0-s2: fixed, with
#                                                           # two-step gates (fit-dsas) and the end-to-end fits (fit-e2e)
#                                                           # -> runs/context-gated.md
#   policies/evaluation/measure.sh gate-tokens              # where the gates open, token by token (bench GateTokenProbe): the
#                                                           # two-step (.gated) and end-to-end (.e2e) LinEAS fits s0-s2 on the
#                                                           # source, target and elicit prompts -> runs/gate-tokens.log
#   policies/evaluation/measure.sh selfgen                  # fitting sets from the model's own continuations (issue 12): the pooled
#                                                           # prompts continued 48 tokens, 20 seed blocks from 100000 -> $GEN/selfgen,
#                                                           # selfgen_sets.py -> policies/evaluation/selfgen; LinEAS (as fit-v3, s0-s2),
#                                                           # mean shift and Linear-AcT on them -> maps/<map>.selfgen; elicit at 1,2
#   policies/evaluation/measure.sh sparse-select            # group lasso 0.8, 300 steps, no early stop, seeds 0 1 -> runs/sparse-select.log
#   policies/evaluation/measure.sh sparse-refit             # LinEAS as fit-v3 on the 5 sites select_sites.py keeps, seeds 0-5
#                                                           # (maps/<name>.lineas.sel5.s<seed>), fit-v3's recipe at all 10 sites
#                                                           # seeds 3-5; all at strength 1 on blocks 0..5000 -> pool_runs.py
#   policies/evaluation/measure.sh last-token               # mean shift on the selfgen sets' last tokens, 6 site sets a concept,
#                                                           # elicit block 0 at 0.25/0.5/1 (to pick) -> runs/last-token.log
#   policies/evaluation/measure.sh last-token-gated         # the same with token gates fitted on the same last tokens,
#                                                           # 7 maps, block 0 at 0.25/0.5/1/2 -> runs/last-token-gated.log
#   policies/evaluation/measure.sh last-token-lineas        # LinEAS at the last token, gated, seeds 0-2, at those picks' sites,
#                                                           # blocks 0 and 1000-3000 -> runs/last-token-lineas.log (~15 min);
#                                                           # METHOD=linear-act SEEDS=0: Linear-AcT the same way;
#                                                           # SELFGEN=selfgen-desired: cheerful and kindness fitted
#                                                           # towards continuations about to write the desired words;
#                                                           # GATE_SETS=selfgen: gated as the maps on the selfgen sets
#   policies/evaluation/measure.sh last-token-confirm MAP S # the picked MAP at strength S on blocks 1000-3000
#   policies/evaluation/measure.sh last-token-sparse        # LinEAS at the last token at every resid site, gated, group lasso
#                                                           # 0 / 0.1 / 0.3 / 1, blocks 1000-3000 -> runs/last-token-sparse.log;
#                                                           # METRIC=adam WEIGHTS="...": the group step in Adam's metric
#   policies/evaluation/measure.sh last-token-resid NAME G  # that recipe at group G, seeds 0-2, and the shipped copy, blocks
#                                                           # 4000-6000 -> runs/last-token-resid.log
#   policies/evaluation/measure.sh last-token-methods       # LinEAS s0-s2, mean shift, Linear-AcT at every resid site, last
#                                                           # token, gated, blocks 1000-3000 -> runs/last-token-methods.log
#   policies/evaluation/measure.sh methods-confirm          # the one-site last-token gated LinEAS s0-s2, Linear-AcT, mean shift
#                                                           # at 1 on unused blocks 7000+ (N 1,800 each) -> runs/methods-confirm.log
#   policies/evaluation/measure.sh last-token-sites NAME rN.. # LinEAS s0-s2, last token, gated, at each one-site resid site rN,
#                                                           # at 1 on blocks 1000-3000 -> runs/last-token-sites.log
#   policies/evaluation/measure.sh selfgen80                # selfgen's sets from 80 seed blocks instead of 20, LinEAS s0-s2 at
#                                                           # each one-site pick, blocks 1000-3000 and 16000-18000 -> runs/selfgen80.log
#   policies/evaluation/measure.sh selfgen80-methods        # then the 20-block LinEAS maps on 16000-18000 and Linear-AcT / mean
#                                                           # shift on the selfgen80 sets on 16000-24000 -> runs/selfgen80.log
#   policies/evaluation/measure.sh big-n                    # the one-site and five-site last-token maps, the closed forms and the
#                                                           # copies at 1, N 52,800 an arm on unused blocks from 2,000,000
#                                                           # -> runs/<map>.bign.elicit.seedB.n8800.md, runs/big-n.log
#   policies/evaluation/measure.sh relative-sparse          # LinEAS at every resid site, last token, gated, with the group step
#                                                           # in units of each site's activation spread (adam-relative),
#                                                           # WEIGHTS, on blocks 3,000,000+ (N 17,600) -> runs/relative-sparse.log
#   policies/evaluation/measure.sh compose-copy             # the one-site LinEAS maps then the scaled copies, both at 1, on
#                                                           # big-n's first three blocks -> runs/compose-copy.log
#   policies/evaluation/measure.sh all-pairs                # the one-site LinEAS recipe on every pair (no held-out split, no
#                                                           # early stop) against Linear-AcT, blocks 4,000,000+ -> runs/all-pairs.log
#   policies/evaluation/measure.sh converged                # LinEAS to convergence at one site (full batch, 1,000 steps) on
#                                                           # every pair and on the 32-pair subsets, against Linear-AcT, blocks
#                                                           # 8,000,000+ and R8's rows -> runs/converged.log
#   policies/evaluation/measure.sh converged-frontier       # after converged: the converged maps at 0.7 / 0.85, mean shift at
#                                                           # 1.3 / 1.5, the shipped no-dogs map's twin at 1, on the same rows
#                                                           # -> runs/converged-frontier.log
#   policies/evaluation/measure.sh desired-converged        # R16: cheerful and kindness to convergence on the desired-side
#                                                           # sets, beside the copies, on blocks 9,000,000+
#                                                           # -> runs/desired-converged.log
#   policies/evaluation/measure.sh converged-sites          # R17: LinEAS at every resid site to convergence, at 1 on R16's
#                                                           # rows (FIT_ONLY=1: the fits) -> runs/converged-sites.log
#   policies/evaluation/measure.sh paper-converged          # R18: LinEAS as the paper trains it (hand-written sets, every resid
#                                                           # site, mean pooling) to convergence, at 1 on R16's rows
#                                                           # -> runs/paper-converged.log
#   policies/evaluation/measure.sh shipped-confirm          # the scaled copies shipped until session 19, at 1, blocks 1000-3000
#   policies/evaluation/measure.sh ship                     # writes policies/interventions/*.safetensors (the demo maps)
#   policies/evaluation/measure.sh dog-words                # after `context`: the no-dogs source prompts with the dog words
#                                                           # swapped for cat words, unsteered, same blocks -> appended to
#                                                           # runs/context-reference.md
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

# context / context-gated: every fitting prompt continued 48 tokens, seed blocks 0..5000, unsteered after the source
# and target prompts and at strength 1 after the source prompts with each map <name>.<MAP> given -> $GEN/<MAP>/seed<B>/
gen="${GEN:-/tmp/steergate-context}"
blocks="0 1000 2000 3000 4000 5000"
context_generate() {
  for seed in $blocks; do
    mkdir -p "$gen/unsteered/seed$seed"
    for name in cheerful no-dogs kindness; do
      for side in source target; do
        [[ -n "${SKIP_DONE:-}" && -s "$gen/unsteered/seed$seed/$name.$side.gen.jsonl" ]] && continue
        $steer generate --model "$model" --prompts "$p/$name.$side.jsonl" --max-tokens 48 --seed "$seed" \
          > "$gen/unsteered/seed$seed/$name.$side.gen.jsonl"
      done
      for m in "$@"; do
        [[ -n "${SKIP_DONE:-}" && -s "$gen/$m/seed$seed/$name.source.gen.jsonl" ]] && continue  # resume, add maps
        file="$out/maps/$name.$m.safetensors"
        [[ "$m" == shipped ]] && file="policies/interventions/$name.safetensors"
        mkdir -p "$gen/$m/seed$seed"
        $steer generate --model "$model" --prompts "$p/$name.source.jsonl" --map "$file" --strength 1 \
          --max-tokens 48 --seed "$seed" > "$gen/$m/seed$seed/$name.source.gen.jsonl"
      done
    done
  done
}
dirs() { for m in "$@"; do for seed in $blocks; do echo "$gen/$m/seed$seed"; done; done; }

# lineas_fits NAME SUFFIX ARGS...: LinEAS at attn_out,mlp_out, 300 steps, held-out 0.25, seeds ${SEEDS:-0 1 2}, with ARGS
# (learning rate, patience, control set) -> maps/<NAME>.lineas.attn_out+mlp_out.s<seed><SUFFIX>.safetensors, fitted on
# $SETS.{source,target}.jsonl (SETS: a path prefix, default policies/prompts/<NAME>; selfgen passes its own sets)
lineas_fits() {
  local name="$1" suffix="$2"; shift 2
  local sets="${SETS:-$p/$name}"
  for seed in ${SEEDS:-0 1 2}; do
    echo "== $name lineas attn_out+mlp_out seed $seed${suffix:+ ($suffix)}"
    $steer fit --model "$model" --method lineas --source "$sets.source.jsonl" --target "$sets.target.jsonl" \
      --sites attn_out,mlp_out --name "$name" --concept "$(concept "$name")" --seed "$seed" --steps 300 \
      --held-out 0.25 "$@" --out "$out/maps/$name.lineas.attn_out+mlp_out.s$seed$suffix.safetensors" 2>&1
  done
}

# last_token_fit NAME SITES METHOD OUT [gated]: `steer fit --pooling last` (EVALUATION.md "Session 18") on the concept's
# selfgen sets (SELFGEN=selfgen-desired: the sets whose target side is about to write the desired concept); LinEAS with
# the third measurement's recipe, seed $SEED, $STEPS steps (default 300), learning rate $LR (default 1e-2); gated: then
# `steer gate --pooling last`, source against target of the same sets (GATE_SETS=selfgen: of those, whatever the map
# was fitted on); FIT_ARGS: more `steer fit` options
last_token_fit() {
  local name="$1" sites="$2" method="$3" map="$4" gated="${5:-}"
  local sets="$out/selfgen/$name.${SELFGEN:-selfgen}" fitted="$map" recipe=(--seed 0)
  local gate_sets="$out/selfgen/$name.${GATE_SETS:-${SELFGEN:-selfgen}}"
  [[ "$method" == lineas ]] && recipe=(--seed "${SEED:-0}" --steps "${STEPS:-300}" --lr "${LR:-1e-2}" --held-out "${HELD_OUT:-0.25}" --patience 50)
  [[ -n "$gated" ]] && fitted="$(mktemp --suffix=.safetensors)"
  $steer fit --model "$model" --method "$method" --source "$sets.source.jsonl" --target "$sets.target.jsonl" \
    --sites "$sites" --name "$name" --concept "$(concept "$name")" --pooling last "${recipe[@]}" ${FIT_ARGS:-} \
    --out "$fitted" 2>&1
  if [[ -n "$gated" ]]; then
    $steer gate --model "$model" --map "$fitted" --source "$gate_sets.source.jsonl" --control "$gate_sets.target.jsonl" \
      --pooling last --out "$map" 2>&1
    rm -f "$fitted"
  fi
}

# big-n, relative-sparse, low-data, frontier: MAP at STRENGTHS on the elicit set's seed block BLOCK, 8,800 rows (200 a
# prompt) -> runs/<map>.bign[.TAG].elicit.seed<BLOCK>.n8800.md (TAG: a fourth argument, for a second reading of the same
# map on the same block; SKIP_DONE=1 keeps a report that is there)
big_n_report() {
  local m="$1" block="$2" strengths="$3" tag="${4:+.$4}" name="${1%%.*}" d report
  d="$(desired "$name")"
  report="$out/runs/$m.bign$tag.elicit.seed$block.n8800.md"
  [[ -n "${SKIP_DONE:-}" && -s "$report" ]] && return
  echo "== $m at $strengths, seed block $block"
  $steer evaluate --model "$model" --map "$out/maps/$m.safetensors" --eval "$p/$name.elicit.jsonl" \
    --lexicon "$lx/$(concept "$name").txt" ${d:+--desired "$lx/$d.txt"} --source "$p/$name.source.jsonl" \
    --target "$p/$name.target.jsonl" --strengths "$strengths" --n 8800 --seed "$block" \
    --ppl-texts "$p/perplexity.jsonl" --out-md "$report"
}

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
  fit-v3)
    # LinEAS as in the audit's finding 4 (branch outputs, not the compounding resid), early-stopped on held-out W1
    for name in kindness cheerful no-dogs; do
      lineas_fits "$name" "" --lr 1e-2 --patience 50
      for method in linear-act mean-shift; do
        echo "== $name $method attn_out+mlp_out"
        $steer fit --model "$model" --method "$method" --source "$p/$name.source.jsonl" \
          --target "$p/$name.target.jsonl" --sites attn_out,mlp_out --name "$name" --concept "$(concept "$name")" \
          --seed 0 --out "$out/maps/$name.$method.attn_out+mlp_out.safetensors" 2>&1
      done
    done | tee "$out/runs/v3-fit.log"
    ;;
  sweep-v3)
    shift
    for m in "$@"; do
      name="${m%%.*}"
      d="$(desired "$name")"
      for seed in ${BLOCKS:-0 1000 2000}; do
        [[ -n "${SKIP_DONE:-}" && -s "$out/runs/$m.v3${SUFFIX:-}.elicit.seed$seed.n200.md" ]] && continue  # resume a cut run
        echo "== $m on elicit at ${STRENGTHS:-0,0.5,1}, seed block $seed"
        $steer evaluate --model "$model" --map "$out/maps/$m.safetensors" --eval "$p/$name.elicit.jsonl" \
          --lexicon "$lx/$(concept "$name").txt" ${d:+--desired "$lx/$d.txt"} \
          --source "$p/$name.source.jsonl" --target "$p/$name.target.jsonl" \
          --strengths "${STRENGTHS:-0,0.5,1}" --n 200 --seed "$seed" --ppl-texts "$p/perplexity.jsonl" \
          --out-svg "$out/runs/$m.v3${SUFFIX:-}.elicit.seed$seed.n200.svg" --out-md "$out/runs/$m.v3${SUFFIX:-}.elicit.seed$seed.n200.md"
      done
    done 2>&1 | tee -a "$out/runs/v3.log"
    ;;
  sparse-v3)
    name="$2"; sites="$3"; shift 3
    d="$(desired "$name")"
    for pen in "$@"; do
      kind="${pen%%=*}"; weight="${pen#*=}"
      tag="$name.lineas.${sites/,/+}.v3sparse.$kind-$weight"
      echo "== $tag"
      $steer fit --model "$model" --method lineas --source "$p/$name.source.jsonl" \
        --target "$p/$name.target.jsonl" --sites "$sites" --name "$name" --concept "$(concept "$name")" \
        --seed 0 --steps 300 --lr 1e-2 --held-out 0.25 --patience 50 "--$kind" "$weight" \
        --out "$out/maps/$tag.safetensors" 2>&1 | tee "$out/runs/$tag.fit.log"
      for seed in 0 1000; do
        $steer evaluate --model "$model" --map "$out/maps/$tag.safetensors" --eval "$p/$name.elicit.jsonl" \
          --lexicon "$lx/$(concept "$name").txt" ${d:+--desired "$lx/$d.txt"} \
          --source "$p/$name.source.jsonl" --target "$p/$name.target.jsonl" \
          --strengths 1 --n 200 --seed "$seed" --ppl-texts "$p/perplexity.jsonl" \
          --out-svg "$out/runs/$tag.elicit.seed$seed.n200.svg" --out-md "$out/runs/$tag.elicit.seed$seed.n200.md"
      done
    done 2>&1 | tee -a "$out/runs/v3.log"
    ;;
  v3)
    # the third measurement (EVALUATION.md "Third measurement"), in the order it ran; ~1 h on a quiet 2-core machine
    "$0" fit-v3
    resid=""; branch=""
    for name in kindness cheerful no-dogs; do
      for m in linear-act.resid lineas.resid; do resid="$resid $name.$m"; done
      for m in linear-act mean-shift lineas.attn_out+mlp_out.s0 lineas.attn_out+mlp_out.s1 lineas.attn_out+mlp_out.s2; do
        [[ "$m" == lineas.* ]] && branch="$branch $name.$m" || branch="$branch $name.$m.attn_out+mlp_out"
      done
    done
    # block 0 of the resid maps is their v2 elicit run (measure.sh v2): the same rows and seeds give the same text
    BLOCKS="1000 2000" "$0" sweep-v3 kindness.mean-shift.resid cheerful.mean-shift.resid no-dogs.mean-shift.resid
    BLOCKS="1000 2000" STRENGTHS=0.5,1 "$0" sweep-v3 $resid
    STRENGTHS=0.5,1 "$0" sweep-v3 $branch
    "$0" sparse-v3 cheerful attn_out,mlp_out l1=0.1 group=0.1 l1=0.2 group=0.2 l1=0.5 group=0.5 l1=1 group=1 \
      l1=0.75 group=0.75 group=0.9 group=0.8 group=0.85
    "$0" sparse-v3 no-dogs attn_out,mlp_out l1=0.5 group=0.75 group=0.5
    SUFFIX=.over1 STRENGTHS=2,3 BLOCKS="0 1000" "$0" sweep-v3 cheerful.lineas.attn_out+mlp_out.s0 \
      no-dogs.lineas.attn_out+mlp_out.s0 cheerful.lineas.attn_out+mlp_out.s1 no-dogs.lineas.attn_out+mlp_out.s1 \
      cheerful.lineas.attn_out+mlp_out.s2 no-dogs.lineas.attn_out+mlp_out.s2
    python3 "$out/v3_tables.py"
    ;;
  fit-dsas)
    for name in kindness cheerful no-dogs; do
      for seed in 0 1 2; do
        m="$name.lineas.attn_out+mlp_out.s$seed"
        echo "== gate $m (seed $seed)"
        $steer gate --model "$model" --map "$out/maps/$m.safetensors" --source "$p/$name.source.jsonl" \
          --control "$p/$name.target.jsonl" --seed "$seed" --out "$out/maps/$m.gated.safetensors"
      done
      echo "== gate $name.shipped (seed 0)"
      $steer gate --model "$model" --map "policies/interventions/$name.safetensors" --source "$p/$name.source.jsonl" \
        --control "$p/$name.target.jsonl" --seed 0 --out "$out/maps/$name.shipped.gated.safetensors"
    done 2>&1 | tee "$out/runs/dsas-fit.log"
    ;;
  sweep-dsas)
    shift
    for m in "$@"; do
      name="${m%%.*}"
      d="$(desired "$name")"
      file="$out/maps/$m.safetensors"
      [[ "$m" == *.shipped ]] && file="policies/interventions/$name.safetensors"
      for seed in ${BLOCKS:-0 1000 2000}; do
        [[ -n "${SKIP_DONE:-}" && -s "$out/runs/$m.dsas.elicit.seed$seed.n200.md" ]] && continue  # resume a cut run
        echo "== $m on elicit at ${STRENGTHS:-1,2,3}, seed block $seed"
        $steer evaluate --model "$model" --map "$file" --eval "$p/$name.elicit.jsonl" \
          --lexicon "$lx/$(concept "$name").txt" ${d:+--desired "$lx/$d.txt"} \
          --source "$p/$name.source.jsonl" --target "$p/$name.target.jsonl" \
          --strengths "${STRENGTHS:-1,2,3}" --n 200 --seed "$seed" --ppl-texts "$p/perplexity.jsonl" \
          --out-svg "$out/runs/$m.dsas.elicit.seed$seed.n200.svg" --out-md "$out/runs/$m.dsas.elicit.seed$seed.n200.md"
      done
    done 2>&1 | tee -a "$out/runs/dsas.log"
    ;;
  report-dsas)
    # KIND=e2e: the jointly trained gates instead of the two-step ones -> runs/e2e-openness.log
    kind="${KIND:-gated}"; log="$out/runs/dsas-openness.log"; [[ "$kind" == e2e ]] && log="$out/runs/e2e-openness.log"
    for name in kindness cheerful no-dogs; do
      ms="$name.lineas.attn_out+mlp_out.s0.$kind $name.lineas.attn_out+mlp_out.s1.$kind"
      ms="$ms $name.lineas.attn_out+mlp_out.s2.$kind"; [[ "$kind" == gated ]] && ms="$ms $name.shipped.gated"
      for m in $ms; do
        echo "== $m"
        $steer gate --model "$model" --map "$out/maps/$m.safetensors" --report "$p/$name.elicit.jsonl" \
          --report "$p/perplexity.jsonl" --report "$p/$name.source.jsonl" --report "$p/$name.target.jsonl"
      done
    done 2>&1 | tee "$log"
    ;;
  fit-e2e)
    # lr 3e-2: at v3's 1e-2 the gates of a no-dogs seed-0 fit opened on the dog tokens (0.54-0.58) and not much less
    # elsewhere (0.2-0.45) after 300 steps; at 3e-2 they closed elsewhere (0.05-0.2, dog tokens 0.3-0.4).
    # No early stop: held-out W1 stops improving long before the gates have learned where to open.
    # WEIGHT=X: another control weight (default 1) -> maps/<name>.lineas.attn_out+mlp_out.s<seed>.e2e-wX, runs/e2e-wX-fit.log;
    # NAMES, SEEDS: fewer concepts, other seeds; LOG: another log file name
    weight="${WEIGHT:-1}"; kind=e2e; [[ "$weight" != 1 ]] && kind="e2e-w$weight"
    for name in ${NAMES:-kindness cheerful no-dogs}; do
      lineas_fits "$name" ".$kind" --lr 3e-2 --patience 0 --control "$p/$name.target.jsonl" --control-weight "$weight"
    done | tee "$out/runs/${LOG:-$kind-fit.log}"
    ;;
  sched-e2e)
    # the control for fit-e2e's schedule: the same LinEAS fits (lr 3e-2, 300 steps, held-out 0.25, no early stop)
    # without gates -> maps/<name>.lineas.attn_out+mlp_out.s<seed>.sched, elicit sweep at 1,2,3
    for name in kindness cheerful no-dogs; do
      lineas_fits "$name" .sched --lr 3e-2 --patience 0
    done | tee "$out/runs/sched-fit.log"
    for name in kindness cheerful no-dogs; do
      "$0" sweep-dsas "$name.lineas.attn_out+mlp_out.s0.sched" "$name.lineas.attn_out+mlp_out.s1.sched" \
        "$name.lineas.attn_out+mlp_out.s2.sched"
    done
    python3 "$out/dsas_tables.py"
    ;;
  replicate-e2e)
    # the kindness pass at strength 1 (weight 0.3) was the best of three weights on blocks 0-2000: new fits (seeds 3-5)
    # and new generation blocks 3000-5000, beside the v3 fixed fits -> dsas_tables.py with DSAS_BLOCKS / DSAS_FITS
    WEIGHT=0.3 SEEDS="3 4 5" NAMES=kindness LOG=replicate-fit.log "$0" fit-e2e
    ms=""; for seed in 0 1 2 3 4 5; do ms="$ms kindness.lineas.attn_out+mlp_out.s$seed.e2e-w0.3"; done
    BLOCKS="3000 4000 5000" STRENGTHS=0,1 "$0" sweep-dsas kindness.lineas.attn_out+mlp_out.s0 \
      kindness.lineas.attn_out+mlp_out.s1 kindness.lineas.attn_out+mlp_out.s2 $ms
    BLOCKS="0 1000 2000" STRENGTHS=1,2 "$0" sweep-dsas kindness.lineas.attn_out+mlp_out.s3.e2e-w0.3 \
      kindness.lineas.attn_out+mlp_out.s4.e2e-w0.3 kindness.lineas.attn_out+mlp_out.s5.e2e-w0.3
    for blocks in 0,1000,2000 3000,4000,5000; do
      DSAS_BLOCKS=$blocks DSAS_FITS=0,1,2,3,4,5 python3 "$out/dsas_tables.py" | sed -n '/^### kindness/,/^### cheerful/p'
    done | tee "$out/runs/replicate-e2e.md"
    ;;
  replicate-blocks)
    # the main comparison on new generation blocks 3000-5000: fixed v3 fits at 0-3, end-to-end (weight 1) at 1-3
    for name in kindness cheerful no-dogs; do
      BLOCKS="3000 4000 5000" STRENGTHS=0,1,2,3 "$0" sweep-dsas "$name.lineas.attn_out+mlp_out.s0" \
        "$name.lineas.attn_out+mlp_out.s1" "$name.lineas.attn_out+mlp_out.s2"
      BLOCKS="3000 4000 5000" "$0" sweep-dsas "$name.lineas.attn_out+mlp_out.s0.e2e" \
        "$name.lineas.attn_out+mlp_out.s1.e2e" "$name.lineas.attn_out+mlp_out.s2.e2e"
    done
    DSAS_BLOCKS=3000,4000,5000 python3 "$out/dsas_tables.py" | tee "$out/runs/replicate-blocks.md"
    ;;
  weights-e2e)
    # the control weight's trade: end-to-end fits at weights 0.1 and 0.3, elicit sweep at 1 and 2
    for weight in 0.1 0.3; do
      WEIGHT=$weight "$0" fit-e2e
      for name in kindness cheerful no-dogs; do
        STRENGTHS=1,2 "$0" sweep-dsas "$name.lineas.attn_out+mlp_out.s0.e2e-w$weight" \
          "$name.lineas.attn_out+mlp_out.s1.e2e-w$weight" "$name.lineas.attn_out+mlp_out.s2.e2e-w$weight"
      done
    done
    python3 "$out/dsas_tables.py"
    ;;
  selfgen)
    sg="$gen/selfgen"; sets="$out/selfgen"; mkdir -p "$sg" "$sets"
    cat "$p"/*.eval.jsonl "$p"/*.source.jsonl "$p"/*.target.jsonl | sort -u > "$sg/pool.jsonl"
    for k in $(seq 0 19); do
      s=$((100000 + 1000 * k))
      $steer generate --model "$model" --prompts "$sg/pool.jsonl" --max-tokens 48 --seed "$s" > "$sg/gen.seed$s.jsonl"
    done
    python3 "$out/selfgen_sets.py" "$sg/pool.jsonl" "$sg" "$sets" | tee "$out/runs/selfgen-sets.log"
    for name in kindness cheerful no-dogs; do
      SETS="$sets/$name.selfgen" lineas_fits "$name" .selfgen --lr 1e-2 --patience 50
      for method in mean-shift linear-act; do
        $steer fit --model "$model" --method "$method" --source "$sets/$name.selfgen.source.jsonl" \
          --target "$sets/$name.selfgen.target.jsonl" --sites attn_out,mlp_out --name "$name" \
          --concept "$(concept "$name")" --seed 0 --out "$out/maps/$name.$method.attn_out+mlp_out.selfgen.safetensors" 2>&1
      done
    done | tee "$out/runs/selfgen-fit.log"
    # every fit is evaluated, those early stopping returned at step 0 (the identity) too: they are the recipe's outcome
    for name in kindness cheerful no-dogs; do
      STRENGTHS=1,2 "$0" sweep-dsas "$name.lineas.attn_out+mlp_out.s0.selfgen" "$name.lineas.attn_out+mlp_out.s1.selfgen" \
        "$name.lineas.attn_out+mlp_out.s2.selfgen" "$name.mean-shift.attn_out+mlp_out.selfgen" \
        "$name.linear-act.attn_out+mlp_out.selfgen"
    done
    ;;
  sparse-select)
    for name in cheerful no-dogs kindness; do
      for seed in 0 1; do
        echo "== $name group 0.8 seed $seed 300 steps"
        $steer fit --model "$model" --method lineas --source "$p/$name.source.jsonl" --target "$p/$name.target.jsonl" \
          --sites attn_out,mlp_out --name "$name" --concept "$(concept "$name")" --seed "$seed" --steps 300 \
          --held-out 0.25 --lr 1e-2 --group 0.8 --out "$out/maps/$name.lineas.attn_out+mlp_out.group-0.8.s$seed.safetensors" 2>&1
      done
    done | tee "$out/runs/sparse-select.log"
    python3 "$out/select_sites.py" "$out/runs/sparse-select.log" 0.8
    ;;
  sparse-refit)
    python3 "$out/select_sites.py" "$out/runs/sparse-select.log" 0.8 | while read -r name sites _; do
      for seed in 0 1 2 3 4 5; do
        echo "== $name lineas $sites seed $seed"
        $steer fit --model "$model" --method lineas --source "$p/$name.source.jsonl" --target "$p/$name.target.jsonl" \
          --sites "$sites" --name "$name" --concept "$(concept "$name")" --seed "$seed" --steps 300 --held-out 0.25 \
          --lr 1e-2 --patience 50 --out "$out/maps/$name.lineas.sel5.s$seed.safetensors" 2>&1
      done
      SEEDS="3 4 5" lineas_fits "$name" "" --lr 1e-2 --patience 50
    done | tee "$out/runs/sparse-refit.log"
    for name in cheerful no-dogs kindness; do
      ms=""; for seed in 0 1 2 3 4 5; do ms="$ms $name.lineas.sel5.s$seed"; done
      for seed in 3 4 5; do ms="$ms $name.lineas.attn_out+mlp_out.s$seed"; done
      STRENGTHS=1 BLOCKS="0 1000 2000 3000 4000 5000" "$0" sweep-dsas $ms
    done
    ;;
  e2e)
    "$0" fit-e2e
    uptime | tee -a "$out/runs/dsas.log"
    for name in kindness cheerful no-dogs; do
      "$0" sweep-dsas "$name.lineas.attn_out+mlp_out.s0.e2e" "$name.lineas.attn_out+mlp_out.s1.e2e" \
        "$name.lineas.attn_out+mlp_out.s2.e2e"
    done
    uptime | tee -a "$out/runs/dsas.log"
    KIND=e2e "$0" report-dsas
    python3 "$out/dsas_tables.py"
    ;;
  dsas)
    # the DSAS measurement (EVALUATION.md "DSAS"), in the order it ran; strength 0 (unsteered) once per concept and block
    "$0" fit-dsas
    uptime | tee -a "$out/runs/dsas.log"
    for name in kindness cheerful no-dogs; do
      STRENGTHS=0,1,2,3 "$0" sweep-dsas "$name.lineas.attn_out+mlp_out.s0"
      "$0" sweep-dsas "$name.lineas.attn_out+mlp_out.s0.gated" "$name.lineas.attn_out+mlp_out.s1" \
        "$name.lineas.attn_out+mlp_out.s1.gated" "$name.lineas.attn_out+mlp_out.s2" "$name.lineas.attn_out+mlp_out.s2.gated"
    done
    for name in kindness cheerful no-dogs; do
      STRENGTHS=0.5,1,2 "$0" sweep-dsas "$name.shipped" "$name.shipped.gated"
    done
    uptime | tee -a "$out/runs/dsas.log"
    "$0" report-dsas
    python3 "$out/dsas_tables.py"
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
  context)
    context_generate shipped mean-shift.resid linear-act.resid lineas.resid lineas.attn_out+mlp_out.s0 \
      lineas.attn_out+mlp_out.s1 lineas.attn_out+mlp_out.s2 mean-shift.attn_out+mlp_out linear-act.attn_out+mlp_out \
      mean-shift.attn_norm+mlp_norm linear-act.attn_norm+mlp_norm lineas.attn_norm+mlp_norm
    python3 "$out/continuation_rates.py" $(dirs unsteered) \
      --steered "mean shift resid at 1" $(dirs mean-shift.resid) \
      --steered "Linear-AcT resid at 1" $(dirs linear-act.resid) \
      --steered "LinEAS resid at 1 (v2, no split)" $(dirs lineas.resid) \
      --steered "LinEAS attn_out,mlp_out at 1 (fits 0-2 pooled)" \
        $(dirs lineas.attn_out+mlp_out.s0 lineas.attn_out+mlp_out.s1 lineas.attn_out+mlp_out.s2) \
      --steered "LinEAS fit 0 at 1" $(dirs lineas.attn_out+mlp_out.s0) \
      --steered "mean shift attn_out,mlp_out at 1" $(dirs mean-shift.attn_out+mlp_out) \
      --steered "Linear-AcT attn_out,mlp_out at 1" $(dirs linear-act.attn_out+mlp_out) \
      --steered "mean shift attn_norm,mlp_norm at 1" $(dirs mean-shift.attn_norm+mlp_norm) \
      --steered "Linear-AcT attn_norm,mlp_norm at 1" $(dirs linear-act.attn_norm+mlp_norm) \
      --steered "LinEAS attn_norm,mlp_norm at 1 (v2, no split)" $(dirs lineas.attn_norm+mlp_norm) \
      --steered "shipped map at 1 (scaled copy)" $(dirs shipped) | tee "$out/runs/context-reference.md"
    ;;
  context-gated)
    # the LinEAS attn_out+mlp_out fits s0-s2 fixed, with two-step gates (fit-dsas) and the end-to-end fits (fit-e2e)
    v3="lineas.attn_out+mlp_out.s0 lineas.attn_out+mlp_out.s1 lineas.attn_out+mlp_out.s2"
    twostep="${v3// /.gated }.gated"; e2e="${v3// /.e2e }.e2e"
    context_generate $v3 $twostep $e2e
    python3 "$out/continuation_rates.py" $(dirs unsteered) \
      --steered "LinEAS attn_out,mlp_out at 1, fixed (fits 0-2 pooled)" $(dirs $v3) \
      --steered "the same fits with two-step gates at 1" $(dirs $twostep) \
      --steered "LinEAS with gates trained end to end at 1 (fits 0-2 pooled)" $(dirs $e2e) \
      | tee "$out/runs/context-gated.md"
    ;;
  gate-tokens)
    ./mvnw -q -B test-compile dependency:build-classpath -Dmdep.outputFile=target/test.classpath \
      -Dmdep.includeScope=test >&2
    for name in kindness cheerful no-dogs; do
      for kind in gated e2e; do
        for seed in 0 1 2; do
          for set_ in source target elicit; do
            java --add-modules jdk.incubator.vector -Dai.djl.offline=true -Dai.djl.pytorch.num_threads=1 \
              -cp "target/classes:target/test-classes:$(cat target/test.classpath)" io.steergate.bench.GateTokenProbe \
              "$model" "$out/maps/$name.lineas.attn_out+mlp_out.s$seed.$kind.safetensors" "$p/$name.$set_.jsonl" \
              "$lx/$(concept "$name").txt" 1 2>&1 | grep -v '^WARNING'
          done
        done
      done
    done | tee "$out/runs/gate-tokens.log"
    ;;
  dog-words)
    mkdir -p "$gen/dog-words"
    python3 "$out/dog_words_probe.py" make "$gen/dog-words/prompts.jsonl"
    dirs=()
    for seed in 0 1000 2000 3000 4000 5000; do
      mkdir -p "$gen/dog-words/seed$seed"
      $steer generate --model "$model" --prompts "$gen/dog-words/prompts.jsonl" --max-tokens 48 --seed "$seed" \
        > "$gen/dog-words/seed$seed/no-dogs.source.gen.jsonl"
      dirs+=("$gen/dog-words/seed$seed")
    done
    base="$(grep '| no-dogs | dogs | source, unsteered |' "$out/runs/context-reference.md" | grep -o '[0-9]*/[0-9]* ' | tail -1)"
    { echo; python3 "$out/dog_words_probe.py" count "$gen/dog-words/prompts.jsonl" "${base%/*}" "${base#*/}" "${dirs[@]}"; } \
      | tee -a "$out/runs/context-reference.md"
    ;;
  last-token)
    # token-level estimation (EVALUATION.md "Session 18"): mean shift fitted on the selfgen sets' last tokens (where the
    # model is about to write the concept, or not), at one resid site or at every branch output; the elicit set's block
    # 0 at strengths 0.25, 0.5, 1 picks, the blocks of last-token-confirm check
    for name in no-dogs cheerful kindness; do
      for cfg in r1:layers.1.resid r2:layers.2.resid r3:layers.3.resid r4:layers.4.resid \
          mlp_out:layers.0.mlp_out,layers.1.mlp_out,layers.2.mlp_out,layers.3.mlp_out,layers.4.mlp_out \
          attn_out+mlp_out:layers.0.attn_out,layers.0.mlp_out,layers.1.attn_out,layers.1.mlp_out,layers.2.attn_out,layers.2.mlp_out,layers.3.attn_out,layers.3.mlp_out,layers.4.attn_out,layers.4.mlp_out; do
        tag="$name.mean-shift.${cfg%%:*}.last-token.selfgen"
        echo "== $tag"
        last_token_fit "$name" "${cfg#*:}" mean-shift "$out/maps/$tag.safetensors"
        BLOCKS=0 STRENGTHS=0,0.25,0.5,1 SUFFIX=.pick "$0" sweep-v3 "$tag"
      done
    done 2>&1 | tee "$out/runs/last-token.log"
    ;;
  last-token-gated)
    # the same estimate with DSAS token gates fitted on the same last tokens (steer gate --pooling last), at the sites
    # tried in session 18; block 0 at 0.25, 0.5, 1, 2 picks, last-token-confirm checks
    for cfg in no-dogs:r4:layers.4.resid no-dogs:r2:layers.2.resid \
        no-dogs:mlp_out:layers.0.mlp_out,layers.1.mlp_out,layers.2.mlp_out,layers.3.mlp_out,layers.4.mlp_out \
        cheerful:r3:layers.3.resid cheerful:r2:layers.2.resid kindness:r2:layers.2.resid kindness:r1:layers.1.resid; do
      IFS=: read -r name sites at <<< "$cfg"
      tag="$name.mean-shift.$sites.last-token-gated.selfgen"
      echo "== $tag"
      last_token_fit "$name" "$at" mean-shift "$out/maps/$tag.safetensors" gated
      BLOCKS=0 STRENGTHS=0,0.25,0.5,1,2 SUFFIX=.pick "$0" sweep-v3 "$tag"
    done 2>&1 | tee "$out/runs/last-token-gated.log"
    ;;
  last-token-lineas)
    # LinEAS (v3 recipe) with its loss, targets and checks at the last token, gated as last-token-gated, at each
    # concept's picked site there, seeds 0-2; every fit at strength 0.5 and 1 on blocks 0 and 1000-3000
    method="${METHOD:-lineas}"  # METHOD=linear-act: the same with Linear-AcT (closed form: one fit, the seed unused)
    stem="${SELFGEN:-selfgen}"  # SELFGEN=selfgen-desired: the concepts that have those sets, on them
    for cfg in no-dogs:r4:layers.4.resid cheerful:r3:layers.3.resid kindness:r2:layers.2.resid; do
      IFS=: read -r name sites at <<< "$cfg"
      [[ -s "$out/selfgen/$name.$stem.source.jsonl" ]] || continue
      for seed in ${SEEDS:-0 1 2}; do
        tag="$name.$method.$sites.s$seed.last-token-gated${GATE_SETS:+-$GATE_SETS}.$stem"
        [[ "$method" == lineas ]] || tag="$name.$method.$sites.last-token-gated${GATE_SETS:+-$GATE_SETS}.$stem"
        echo "== $tag"
        SEED="$seed" last_token_fit "$name" "$at" "$method" "$out/maps/$tag.safetensors" gated
        BLOCKS="0 1000 2000 3000" STRENGTHS=0,0.5,1 SUFFIX=".$method" "$0" sweep-v3 "$tag"
      done
    done 2>&1 | tee "$out/runs/last-token-$method${SELFGEN:+.$SELFGEN}${GATE_SETS:+.gate-$GATE_SETS}.log"
    ;;
  last-token-sparse)
    # sparsity at the token level (issue 12 item 3): LinEAS at the last token at every resid site, gated, seed 0,
    # group lasso 0 (all five sites), 0.1, 0.3, 1 (WEIGHTS: others; NAMES: fewer concepts; METRIC=adam: the group
    # step in Adam's metric, maps <name>.lineas.resid.group-<G>.adam...; LOSS=last: the loss at the last site only,
    # maps ...group-<G>[.adam].last-site-loss...); strength 1 on blocks 1000-3000 -> runs/last-token-sparse.log (appended)
    for name in ${NAMES:-no-dogs cheerful kindness}; do
      for group in ${WEIGHTS:-0 0.1 0.3 1}; do
        tag="$name.lineas.resid.group-$group${METRIC:+.$METRIC}${LOSS:+.$LOSS-site-loss}.last-token-gated.selfgen"
        echo "== $tag"
        FIT_ARGS="--group $group --prox-metric ${METRIC:-lr}${LOSS:+ --last-site-loss}" last_token_fit "$name" resid \
          lineas "$out/maps/$tag.safetensors" gated
        BLOCKS="1000 2000 3000" STRENGTHS=0,1 SUFFIX=.sparse "$0" sweep-v3 "$tag"
      done
    done 2>&1 | tee -a "$out/runs/last-token-sparse.log"
    ;;
  last-token-resid)
    # NAME GROUP: the recipe last-token-sparse chose on blocks 1000-3000 (LinEAS at the last token at every resid site,
    # gated, group lasso GROUP) fitted with seeds 0-2, and the shipped copy, at 1 on fresh blocks 4000-6000
    name="$2"; group="$3"
    for seed in 0 1 2; do
      tag="$name.lineas.resid.group-$group.s$seed.last-token-gated.selfgen"
      echo "== $tag"
      SEED="$seed" FIT_ARGS="--group $group" last_token_fit "$name" resid lineas "$out/maps/$tag.safetensors" gated
      BLOCKS="4000 5000 6000" STRENGTHS=0,1 SUFFIX=.fresh "$0" sweep-v3 "$tag"
    done 2>&1 | tee -a "$out/runs/last-token-resid.log"
    BLOCKS="4000 5000 6000" STRENGTHS=0,1 SUFFIX=.fresh "$0" sweep-v3 "$name.scaled-copy" 2>&1 \
      | tee -a "$out/runs/last-token-resid.log"
    ;;
  last-token-methods)
    # LinEAS (seeds 0-2, the five-site recipe of last-token-sparse/-resid), mean shift and Linear-AcT at every resid
    # site, at the last token, gated, strength 1, blocks 1000-3000 -> runs/last-token-methods.log (issue 12's
    # "LinEAS at least as well as the best of the others", where the sites interact)
    for name in no-dogs cheerful kindness; do
      for seed in 0 1 2; do
        tag="$name.lineas.resid.group-0.s$seed.last-token-gated.selfgen"
        echo "== $tag"
        [[ -s "$out/maps/$tag.safetensors" ]] || SEED="$seed" FIT_ARGS="--group 0" last_token_fit "$name" resid lineas \
          "$out/maps/$tag.safetensors" gated
        BLOCKS="1000 2000 3000" STRENGTHS=0,1 SUFFIX=.methods "$0" sweep-v3 "$tag"
      done
      for method in mean-shift linear-act; do
        tag="$name.$method.resid.last-token-gated.selfgen"
        echo "== $tag"
        last_token_fit "$name" resid "$method" "$out/maps/$tag.safetensors" gated
        BLOCKS="1000 2000 3000" STRENGTHS=0,1 SUFFIX=.methods "$0" sweep-v3 "$tag"
      done
    done 2>&1 | tee -a "$out/runs/last-token-methods.log"
    ;;
  methods-confirm)
    # the rule EVALUATION.md "Session 20" states, written before this ran: the one-site last-token gated maps of
    # last-token-lineas (LinEAS s0-s2) and METHOD=linear-act / mean-shift, as fitted there, on blocks never used before:
    # LinEAS 7000-9000, the closed forms (one fit each) 7000-15000, so every arm has N = 1,800
    # -> runs/methods-confirm.log; ratios.py '<name>.<method>.<site>*.v3.methods-confirm.elicit.*' pools them
    for cfg in no-dogs:r4 cheerful:r3 kindness:r2; do
      IFS=: read -r name sites <<< "$cfg"
      for seed in 0 1 2; do
        BLOCKS="7000 8000 9000" STRENGTHS=0,1 SUFFIX=.methods-confirm "$0" sweep-v3 "$name.lineas.$sites.s$seed.last-token-gated.selfgen"
      done
      for method in linear-act mean-shift; do
        BLOCKS="7000 8000 9000 10000 11000 12000 13000 14000 15000" STRENGTHS=0,1 SUFFIX=.methods-confirm "$0" sweep-v3 \
          "$name.$method.$sites.last-token-gated.selfgen"
      done
    done 2>&1 | tee -a "$out/runs/methods-confirm.log"
    ;;
  last-token-sites)
    # NAME rN...: LinEAS s0-s2 at the last token, gated (last-token-lineas' recipe) at each one-site resid site rN,
    # strength 1 on blocks 1000-3000, where session 18 picked its site by mean shift on block 0 -> runs/last-token-sites.log;
    # the pick is then confirmed on blocks no run has used (EVALUATION.md, session 20)
    name="$2"; shift 2
    for r in "$@"; do
      for seed in 0 1 2; do
        tag="$name.lineas.$r.s$seed.last-token-gated.selfgen"
        echo "== $tag"
        [[ -s "$out/maps/$tag.safetensors" ]] || SEED="$seed" last_token_fit "$name" "layers.${r#r}.resid" lineas \
          "$out/maps/$tag.safetensors" gated
        BLOCKS="1000 2000 3000" STRENGTHS=0,1 SUFFIX=.lineas "$0" sweep-v3 "$tag"
      done
    done 2>&1 | tee -a "$out/runs/last-token-sites.log"
    ;;
  selfgen80)
    # four times selfgen's data: the pool continued with 80 seed blocks (the first 20 are selfgen's) -> sets
    # selfgen/<name>.selfgen80.*; LinEAS s0-s2 at each concept's one-site resid site, last token, gated on the same
    # sets, at 1 on blocks 1000-3000 and on blocks 16000-18000 (never used before) -> runs/selfgen80.log
    sg="$gen/selfgen"; mkdir -p "$sg"
    cat "$p"/*.eval.jsonl "$p"/*.source.jsonl "$p"/*.target.jsonl | sort -u > "$sg/pool.jsonl"
    for k in $(seq 0 79); do
      s=$((100000 + 1000 * k))
      [[ -s "$sg/gen.seed$s.jsonl" ]] || $steer generate --model "$model" --prompts "$sg/pool.jsonl" --max-tokens 48 \
        --seed "$s" > "$sg/gen.seed$s.jsonl"
    done
    python3 "$out/selfgen_sets.py" "$sg/pool.jsonl" "$sg" "$out/selfgen" 3 selfgen80 | tee "$out/runs/selfgen80-sets.log"
    for cfg in no-dogs:r4 cheerful:r3 kindness:r2; do
      IFS=: read -r name r <<< "$cfg"
      for seed in 0 1 2; do
        tag="$name.lineas.$r.s$seed.last-token-gated.selfgen80"
        echo "== $tag"
        SELFGEN=selfgen80 SEED="$seed" last_token_fit "$name" "layers.${r#r}.resid" lineas "$out/maps/$tag.safetensors" gated
        BLOCKS="1000 2000 3000" STRENGTHS=0,1 SUFFIX=.lineas "$0" sweep-v3 "$tag"
        BLOCKS="16000 17000 18000" STRENGTHS=0,1 SUFFIX=.fresh "$0" sweep-v3 "$tag"
      done
    done 2>&1 | tee -a "$out/runs/selfgen80.log"
    ;;
  selfgen80-methods)
    # after selfgen80: the 20-block LinEAS maps (last-token-lineas) on the same fresh blocks 16000-18000, and Linear-AcT
    # and mean shift fitted on the selfgen80 sets at the same sites (gated alike, one fit each) on blocks 16000-24000,
    # N 1,800 an arm -> runs/selfgen80.log (appended)
    for cfg in no-dogs:r4 cheerful:r3 kindness:r2; do
      IFS=: read -r name r <<< "$cfg"
      for seed in 0 1 2; do
        BLOCKS="16000 17000 18000" STRENGTHS=0,1 SUFFIX=.fresh "$0" sweep-v3 "$name.lineas.$r.s$seed.last-token-gated.selfgen"
      done
      for method in linear-act mean-shift; do
        tag="$name.$method.$r.last-token-gated.selfgen80"
        echo "== $tag"
        SELFGEN=selfgen80 last_token_fit "$name" "layers.${r#r}.resid" "$method" "$out/maps/$tag.safetensors" gated
        BLOCKS="16000 17000 18000 19000 20000 21000 22000 23000 24000" STRENGTHS=0,1 SUFFIX=.fresh "$0" sweep-v3 "$tag"
      done
    done 2>&1 | tee -a "$out/runs/selfgen80.log"
    ;;
  ship)
    # the demo interventions policies/interventions/ holds (index.txt says why each; EVALUATION.md, session 19):
    # no-dogs = LinEAS at the last token, gated, layers.4.resid, seed 1 (the lowest held-out W1 of seeds 0-2);
    # cheerful and kindness = the mean-shift resid fits at strength 2 (steer scale), kept against the last-token maps
    SEED=1 last_token_fit no-dogs layers.4.resid lineas policies/interventions/no-dogs.safetensors gated
    for name in cheerful kindness; do
      $steer scale --map "$out/maps/$name.mean-shift.resid.safetensors" --strength 2 \
        --out "policies/interventions/$name.safetensors"
    done
    ;;
  big-n)
    # the rule EVALUATION.md "Session 21" states, written before this ran: six seed blocks 2,000,000 + 100,000 j of
    # 8,800 rows (200 a prompt), never used before; LinEAS fit k (one-site and five-site) on blocks k and k+3, Linear-AcT
    # and mean shift (one-site and five-site; the five-site ones by a fourth rule, written after the others were read)
    # and the copy on all six; the one-site LinEAS reports carry the unsteered rows (strength 0) for every
    # arm, the others run strength 1 only (ratios.py BASE=...). SKIP_DONE=1 resumes a cut run
    for cfg in kindness:r2 cheerful:r3 no-dogs:r4; do
      IFS=: read -r name r <<< "$cfg"
      for j in 0 1 2 3 4 5; do
        block=$((2000000 + 100000 * j)); k=$((j % 3))
        maps=("$name.lineas.$r.s$k.last-token-gated.selfgen" "$name.lineas.resid.group-0.s$k.last-token-gated.selfgen"
          "$name.linear-act.$r.last-token-gated.selfgen" "$name.mean-shift.$r.last-token-gated.selfgen"
          "$name.linear-act.resid.last-token-gated.selfgen" "$name.mean-shift.resid.last-token-gated.selfgen")
        [[ "$name" == no-dogs ]] || maps+=("$name.scaled-copy")
        strengths=0,1
        for m in "${maps[@]}"; do
          big_n_report "$m" "$block" "$strengths"
          strengths=1
        done
      done
    done 2>&1 | tee -a "$out/runs/big-n.log"
    ;;
  compose-copy)
    # the fifth rule of EVALUATION.md "Session 21", written before it ran: the one-site LinEAS map (fit k, at 1) then
    # the scaled copy (at 1), on big-n's blocks 2,000,000 + 100,000 k (the same rows; N 26,400); the second probe
    # counts the desired words -> runs/<name>.lineas.<site>.sK.last-token-gated.selfgen+copy.bign.elicit.seed<B>.n8800.md
    for cfg in kindness:r2 cheerful:r3; do
      IFS=: read -r name r <<< "$cfg"
      for k in 0 1 2; do
        block=$((2000000 + 100000 * k)); m="$name.lineas.$r.s$k.last-token-gated.selfgen"
        report="$out/runs/$m+copy.bign.elicit.seed$block.n8800.md"
        [[ -n "${SKIP_DONE:-}" && -s "$report" ]] && continue
        echo "== $m then $name.scaled-copy, seed block $block"
        $steer evaluate --model "$model" --map "$out/maps/$m.safetensors" --map2 "$out/maps/$name.scaled-copy.safetensors" \
          --eval "$p/$name.elicit.jsonl" --lexicon "$lx/$(concept "$name").txt" --lexicon2 "$lx/$(desired "$name").txt" \
          --strengths 1 --n 8800 --seed "$block" --ppl-texts "$p/perplexity.jsonl" --out-md "$report"
      done
    done 2>&1 | tee -a "$out/runs/compose-copy.log"
    ;;
  all-pairs)
    # the sixth rule of EVALUATION.md "Session 21", written before it ran: the one-site LinEAS recipe on every pair
    # (HELD_OUT=0: no early stopping, the whole schedule), seeds 0-2, against Linear-AcT at the same site, on blocks
    # 4,000,000 + 100,000 j (fit k on blocks k and k+3) -> maps/<name>.lineas.<site>.sK.all-pairs.last-token-gated.selfgen,
    # runs/...bign..., runs/all-pairs.log
    for cfg in kindness:r2 cheerful:r3 no-dogs:r4; do
      IFS=: read -r name r <<< "$cfg"
      for k in 0 1 2; do
        tag="$name.lineas.$r.s$k.all-pairs.last-token-gated.selfgen"
        [[ -s "$out/maps/$tag.safetensors" ]] || HELD_OUT=0 SEED="$k" last_token_fit "$name" "layers.${r#r}.resid" lineas \
          "$out/maps/$tag.safetensors" gated
      done
      for j in 0 1 2 3 4 5; do
        block=$((4000000 + 100000 * j))
        big_n_report "$name.lineas.$r.s$((j % 3)).all-pairs.last-token-gated.selfgen" "$block" 0,1
        big_n_report "$name.linear-act.$r.last-token-gated.selfgen" "$block" 1
      done
    done 2>&1 | tee -a "$out/runs/all-pairs.log"
    ;;
  low-data)
    # the first rule of EVALUATION.md "Session 22", written before it ran: 32 pairs, as the paper trains. Subset k = 1-3
    # of each concept's selfgen sets (selfgen/<name>.selfgen-n32-k<k>.*, the same lines of source and target); on each,
    # LinEAS (the evaluation's recipe: a quarter held out, seed k), LinEAS on every pair (HELD_OUT=0, the engine's
    # default), Linear-AcT and mean shift at the concept's site, each gated on the subset; read at 1 (LinEAS at 0 and 1,
    # the unsteered rows) on blocks 6,000,000 + 100,000 j, subset k on j = k-1 and k+2
    # -> maps/<name>.<method>.<site>[.all-pairs].last-token-gated.selfgen-n32-k<k>, runs/...bign..., runs/low-data.log
    for cfg in kindness:r2 cheerful:r3 no-dogs:r4; do
      IFS=: read -r name r <<< "$cfg"
      for k in 1 2 3; do
        sets="$out/selfgen/$name.selfgen-n32-k$k"
        [[ -s "$sets.target.jsonl" ]] || python3 -c '
import random, sys
src, tgt, out, k = sys.argv[1:]
lines = [open(f).read().splitlines() for f in (src, tgt)]
assert len(lines[0]) == len(lines[1]), "the selfgen sets are paired by line"
pick = sorted(random.Random(int(k)).sample(range(len(lines[0])), 32))
for side, rows in zip(("source", "target"), lines):
    with open(f"{out}.{side}.jsonl", "w") as f:
        f.writelines(rows[i] + "\n" for i in pick)
' "$out/selfgen/$name.selfgen.source.jsonl" "$out/selfgen/$name.selfgen.target.jsonl" "$sets" "$k"
        for arm in lineas all-pairs linear-act mean-shift; do
          method="${arm/all-pairs/lineas}" held=0.25 tag="$name.$arm.$r.last-token-gated.selfgen-n32-k$k"
          if [[ "$arm" == all-pairs ]]; then held=0 tag="$name.lineas.$r.all-pairs.last-token-gated.selfgen-n32-k$k"; fi
          echo "== $tag"
          [[ -s "$out/maps/$tag.safetensors" ]] || SELFGEN="selfgen-n32-k$k" HELD_OUT="$held" SEED="$k" \
            last_token_fit "$name" "layers.${r#r}.resid" "$method" "$out/maps/$tag.safetensors" gated
        done
        for j in $((k - 1)) $((k + 2)); do
          block=$((6000000 + 100000 * j))
          big_n_report "$name.lineas.$r.last-token-gated.selfgen-n32-k$k" "$block" 0,1
          for arm in lineas.$r.all-pairs linear-act.$r mean-shift.$r; do
            big_n_report "$name.$arm.last-token-gated.selfgen-n32-k$k" "$block" 1
          done
        done
      done
    done 2>&1 | tee -a "$out/runs/low-data.log"
    ;;
  frontier)
    # the second and third rules of EVALUATION.md "Session 22", each written before it ran: all-pairs' rows again
    # (blocks 4,000,000 + 100,000 j), Linear-AcT at 0.7 and 0.85, LinEAS's every-pair maps (fit j mod 3) at 1.15 and
    # 1.3; then (the third) mean shift at 1 to 1.5 -> runs/<map>.bign.frontier.elicit.seed<B>.n8800.md, runs/frontier.log
    for cfg in kindness:r2 cheerful:r3 no-dogs:r4; do
      IFS=: read -r name r <<< "$cfg"
      for j in 0 1 2 3 4 5; do
        block=$((4000000 + 100000 * j))
        big_n_report "$name.linear-act.$r.last-token-gated.selfgen" "$block" 0.7,0.85 frontier
        big_n_report "$name.lineas.$r.s$((j % 3)).all-pairs.last-token-gated.selfgen" "$block" 1.15,1.3 frontier
        big_n_report "$name.mean-shift.$r.last-token-gated.selfgen" "$block" 1,1.15,1.3,1.5 frontier
      done
    done 2>&1 | tee -a "$out/runs/frontier.log"
    ;;
  converged)
    # session 23's rules (EVALUATION.md "Session 23"), written before they ran: LinEAS trained to convergence at the
    # concept's site (every pair, full batch, 1,000 steps: the reference's count), gated like the others, on the full
    # selfgen sets and on session 22's three 32-pair subsets (seed k). R11: the full-data map at 0 and 1, Linear-AcT at 1,
    # on blocks 8,000,000 + 100,000 j (R13, a later rule: mean shift at 1 on the same rows; SKIP_DONE=1 to add it);
    # R12: subset k's map at 1 on R8's rows (blocks 6,000,000 + 100,000 j, j = k-1, k+2)
    # -> maps/<name>.lineas.<site>.converged.last-token-gated.<sets>, runs/...bign..., runs/converged.log
    for cfg in kindness:r2 cheerful:r3 no-dogs:r4; do
      IFS=: read -r name r <<< "$cfg"
      for sets in selfgen selfgen-n32-k1 selfgen-n32-k2 selfgen-n32-k3; do
        seed=0; [[ "$sets" == selfgen-n32-k? ]] && seed="${sets: -1}"
        tag="$name.lineas.$r.converged.last-token-gated.$sets"
        echo "== $tag"
        [[ -s "$out/maps/$tag.safetensors" ]] || SELFGEN="$sets" HELD_OUT=0 SEED="$seed" STEPS=1000 FIT_ARGS="--batch 1000" \
          last_token_fit "$name" "layers.${r#r}.resid" lineas "$out/maps/$tag.safetensors" gated
      done
      for j in 0 1 2 3 4 5; do
        block=$((8000000 + 100000 * j))
        big_n_report "$name.lineas.$r.converged.last-token-gated.selfgen" "$block" 0,1
        big_n_report "$name.linear-act.$r.last-token-gated.selfgen" "$block" 1
        big_n_report "$name.mean-shift.$r.last-token-gated.selfgen" "$block" 1
      done
      for k in 1 2 3; do
        for j in $((k - 1)) $((k + 2)); do
          big_n_report "$name.lineas.$r.converged.last-token-gated.selfgen-n32-k$k" "$((6000000 + 100000 * j))" 1
        done
      done
    done 2>&1 | tee -a "$out/runs/converged.log"
    ;;
  converged-frontier)
    # session 23's fourth rule (R14), written after R11-R13 were read and before it ran: the converged maps at 0.7 and
    # 0.85, mean shift at 1.3 and 1.5, on R11's rows (blocks 8,000,000 + 100,000 j) -> runs/...bign.frontier...,
    # runs/converged-frontier.log
    for cfg in kindness:r2 cheerful:r3 no-dogs:r4; do
      IFS=: read -r name r <<< "$cfg"
      for j in 0 1 2 3 4 5; do
        block=$((8000000 + 100000 * j))
        big_n_report "$name.lineas.$r.converged.last-token-gated.selfgen" "$block" 0.7,0.85 frontier
        big_n_report "$name.mean-shift.$r.last-token-gated.selfgen" "$block" 1.3,1.5 frontier
        # the fifth rule (R15, shipping): the shipped no-dogs map's evaluation twin at 1 on the same rows
        if [[ "$name" == no-dogs ]]; then big_n_report "$name.lineas.$r.s1.last-token-gated.selfgen" "$block" 1; fi
      done
    done 2>&1 | tee -a "$out/runs/converged-frontier.log"
    ;;
  desired-converged)
    # session 24's first rule (R16), written before it ran: cheerful and kindness trained to convergence (every pair,
    # full batch, 1,000 steps) on the selfgen-desired sets, gated by session 18's gates; at 1 beside the converged "did
    # not" map (0 and 1: the unsteered reference), the shipped copy and session 19's early-stopped desired map (seed
    # j mod 3), on blocks 9,000,000 + 100,000 j -> runs/...bign..., runs/desired-converged.log
    for cfg in kindness:r2 cheerful:r3; do
      IFS=: read -r name r <<< "$cfg"
      tag="$name.lineas.$r.converged.last-token-gated-selfgen.selfgen-desired"
      echo "== $tag"
      [[ -s "$out/maps/$tag.safetensors" ]] || SELFGEN=selfgen-desired GATE_SETS=selfgen HELD_OUT=0 STEPS=1000 \
        FIT_ARGS="--batch 1000" last_token_fit "$name" "layers.${r#r}.resid" lineas "$out/maps/$tag.safetensors" gated
      for j in 0 1 2 3 4 5; do
        block=$((9000000 + 100000 * j))
        big_n_report "$name.lineas.$r.converged.last-token-gated.selfgen" "$block" 0,1
        big_n_report "$tag" "$block" 1
        big_n_report "$name.scaled-copy" "$block" 1
        big_n_report "$name.lineas.$r.s$((j % 3)).last-token-gated-selfgen.selfgen-desired" "$block" 1
      done
    done 2>&1 | tee -a "$out/runs/desired-converged.log"
    ;;
  converged-sites)
    # session 24's second rule (R17), written before it ran: LinEAS at all five resid sites to convergence (every pair,
    # full batch; lr 3e-2 for 300 steps, which at each concept's one site reaches the 1,000-step lr 1e-2 map to 1.5e-4),
    # gated, for NAMES (default no-dogs kindness); at 1 on R16's rows beside the one-site converged map read there
    # -> maps/<name>.lineas.resid.converged.last-token-gated.selfgen, runs/converged-sites.log
    for name in ${NAMES:-no-dogs kindness}; do
      tag="$name.lineas.resid.converged.last-token-gated.selfgen"
      echo "== $tag"
      [[ -s "$out/maps/$tag.safetensors" ]] || HELD_OUT=0 STEPS=300 LR=3e-2 FIT_ARGS="--batch 1000" \
        last_token_fit "$name" resid lineas "$out/maps/$tag.safetensors" gated
      [[ -n "${FIT_ONLY:-}" ]] && continue
      for j in 0 1 2 3 4 5; do
        big_n_report "$tag" "$((9000000 + 100000 * j))" 1
      done
    done 2>&1 | tee -a "$out/runs/converged-sites.log"
    ;;
  paper-converged)
    # session 24's third rule (R18), written before it ran: LinEAS as the paper trains it, converged, on the hand-written
    # sets: every resid site, mean pooling, every pair, full batch, lr 3e-2 for 300 steps, ungated (the copies' recipe is
    # mean shift on the same sets and sites); at 1 on R16's rows, no-dogs beside its shipped map's twin
    # -> maps/<name>.lineas.resid.converged, runs/...bign..., runs/paper-converged.log
    for name in ${NAMES:-cheerful kindness no-dogs}; do
      tag="$name.lineas.resid.converged"
      if [[ ! -s "$out/maps/$tag.safetensors" ]]; then
        echo "== $tag"
        $steer fit --model "$model" --method lineas --source "$p/$name.source.jsonl" --target "$p/$name.target.jsonl" \
          --sites resid --name "$name" --concept "$(concept "$name")" --seed 0 --steps 300 --lr 3e-2 --held-out 0 \
          --batch 1000 --out "$out/maps/$tag.safetensors" 2>&1
      fi
      for j in 0 1 2 3 4 5; do
        block=$((9000000 + 100000 * j))
        big_n_report "$tag" "$block" 1
        if [[ "$name" == no-dogs ]]; then
          big_n_report "$name.lineas.r4.converged.last-token-gated.selfgen" "$block" 0,1
          big_n_report "$name.lineas.r4.s1.last-token-gated.selfgen" "$block" 1
        fi
      done
    done 2>&1 | tee -a "$out/runs/paper-converged.log"
    ;;
  relative-sparse)
    # the second rule of EVALUATION.md "Session 21", written before these fits: the group step with β in units of each
    # site's activation spread (--prox-metric adam-relative), LinEAS at every resid site, last token, gated, seed 0,
    # WEIGHTS (default 0.001 0.003 0.01 0.03; LOSS=last: the loss at the last site only); each map and the unpenalized group-0 s0 map read on blocks BLOCKS
    # (default 3,000,000 and 3,100,000, the selection read) -> runs/relative-sparse.log; ratios.py with
    # BASE='<name>.lineas.resid.group-0.s0.last-token-gated.selfgen.bign.elicit.seed3[0-9]00000.n8800.md'
    for name in ${NAMES:-no-dogs cheerful kindness}; do
      for block in ${BLOCKS:-3000000 3100000}; do
        big_n_report "$name.lineas.resid.group-0.s0.last-token-gated.selfgen" "$block" 0,1
      done
      for group in ${WEIGHTS:-0.001 0.003 0.01 0.03}; do
        tag="$name.lineas.resid.group-$group.adam-relative${LOSS:+.$LOSS-site-loss}.last-token-gated.selfgen"
        if [[ ! -s "$out/maps/$tag.safetensors" ]]; then
          echo "== $tag"
          FIT_ARGS="--group $group --prox-metric adam-relative${LOSS:+ --last-site-loss}" last_token_fit "$name" resid \
            lineas "$out/maps/$tag.safetensors" gated
        fi
        for block in ${BLOCKS:-3000000 3100000}; do
          big_n_report "$tag" "$block" 1
        done
      done
    done 2>&1 | tee -a "$out/runs/relative-sparse.log"
    ;;
  shipped-confirm)
    # the demo maps (as maps/<name>.scaled-copy: the copies shipped until session 19) at the policies' strength 1 on
    # the elicit set's blocks 1000-3000, against which session 19 judged the last-token maps
    BLOCKS="1000 2000 3000" STRENGTHS=0,1 SUFFIX=.confirm "$0" sweep-v3 cheerful.scaled-copy kindness.scaled-copy \
      no-dogs.scaled-copy
    ;;
  last-token-confirm)
    # MAP STRENGTH: the picked map on the elicit set's blocks 1000, 2000, 3000 (not used to pick it)
    BLOCKS="1000 2000 3000" STRENGTHS="0,$3" SUFFIX=.confirm "$0" sweep-v3 "$2" 2>&1 | tee -a "$out/runs/last-token.log"
    ;;
  *) echo "usage: $0 fit | fit-lineas | eval N SUFFIX MAP... | sweep SET N STRENGTHS MAP... | compose SET N STRENGTHS MAP1 MAP2 | v2 | fit-v3 | sweep-v3 MAP... | sparse-v3 NAME SITES PENALTY... | v3 | fit-dsas | sweep-dsas MAP... | report-dsas | dsas | context | dog-words | last-token | last-token-gated | last-token-lineas | last-token-confirm MAP STRENGTH | last-token-sparse | last-token-resid NAME GROUP | last-token-methods | big-n | compose-copy | all-pairs | low-data | frontier | converged | converged-frontier | desired-converged | converged-sites | paper-converged | relative-sparse | shipped-confirm | ship" >&2; exit 2;;
esac
