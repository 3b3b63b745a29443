#!/usr/bin/env bash
# The open set on orl splits: fit on 8 faces of each of s1–s36, classify the other 2 (unknown counts
# as an error) and the strangers s37–s40 (never trained). Splits: images 9–10 held out, images 1–2
# held out, and `lumaflow split --test-per 2 --seed 1..5`. Extra arguments go to `lumaflow fit`
# (e.g. --open-set-frr 0.06).
#   bench/open_set_splits.sh [build/lumaflow] [fit args...]
set -euo pipefail
LF="$(realpath "${1:-build/lumaflow}")"; shift || true
DATA="$(realpath -m "${LUMAFLOW_DATA:-$(dirname "$0")/../../shared/data}/orl")"
[ -d "$DATA" ] || { echo "open_set_splits: $DATA not found (set LUMAFLOW_DATA)" >&2; exit 1; }
W="$(mktemp -d)"; trap 'rm -rf "$W"' EXIT

score() {  # DIR NAME: fit DIR/train, classify DIR/test and DIR/strangers, print one row
  local d=$1 name=$2
  "$LF" fit "$d/train" -o "$d/m.model" --threads 2 "${FIT_ARGS[@]}" >"$d/fit.log" 2>&1 || { cat "$d/fit.log" >&2; exit 1; }
  "$LF" classify "$d/m.model" "$d/test" --threads 2 >"$d/test.jsonl" 2>"$d/test.err"
  "$LF" classify "$d/m.model" "$d/strangers" --threads 2 >"$d/str.jsonl" 2>/dev/null
  printf '%-22s accuracy %-20s known unknown %2d / %d   strangers unknown %2d / %d\n' "$name" \
    "$(sed -n 's/^accuracy against folder names: //p' "$d/test.err")" \
    "$(grep -c '"status":"unknown"' "$d/test.jsonl" || true)" "$(wc -l <"$d/test.jsonl")" \
    "$(grep -c '"status":"unknown"' "$d/str.jsonl" || true)" "$(wc -l <"$d/str.jsonl")"
}
strangers() { mkdir -p "$1/strangers"; for p in "$DATA"/s3[7-9] "$DATA"/s40; do ln -s "$p" "$1/strangers/"; done; }
FIT_ARGS=("$@")

for held in "9 10" "1 2"; do
  d="$W/fixed-${held// /-}"; mkdir -p "$d"; strangers "$d"
  for p in "$DATA"/s*; do
    n=$(basename "$p"); [ "${n#s}" -ge 37 ] && continue
    mkdir -p "$d/train/$n" "$d/test/$n"
    for i in $(seq 1 10); do
      case " $held " in *" $i "*) ln -s "$p/$i.pgm" "$d/test/$n/";; *) ln -s "$p/$i.pgm" "$d/train/$n/";; esac
    done
  done
  score "$d" "images $held held out"
done
for seed in 1 2 3 4 5; do
  d="$W/seed$seed"; mkdir -p "$d/known"; strangers "$d"
  for p in "$DATA"/s*; do [ "$(basename "$p" | tr -d s)" -ge 37 ] || ln -s "$p" "$d/known/"; done
  "$LF" split "$d/known" --train "$d/train" --test "$d/test" --test-per 2 --seed "$seed" >/dev/null
  score "$d" "split --seed $seed"
done
