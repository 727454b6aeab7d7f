#!/usr/bin/env bash
# jcrit against crit, wall time: scripts/jcrit-bench.sh [RUNS] [FILE...]
# Every file (default: every image of ../shared/fixtures/criu-4.2/*/) is decoded RUNS times
# (default 20) by each tool, alternating, and the median and minimum are printed in ms.
# Needs bash 5 ($EPOCHREALTIME: no fork to read the clock), crit on PATH (Debian's criu
# package) and a built jcrit (mvn -B package). `MODE=pretty` times `decode --pretty`.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
runs=${1:-20}
[ $# -gt 0 ] && shift
files=("$@")
if [ ${#files[@]} -eq 0 ]; then
    for d in "$here"/../shared/fixtures/criu-4.2/*/ "$here"/../../shared/fixtures/criu-4.2/*/; do
        [ -d "$d" ] || continue
        for f in "$d"*.img "$d"stats-*; do
            [ -f "$f" ] && files+=("$(readlink -f "$f")")
        done
    done
fi
[ ${#files[@]} -gt 0 ] || { echo "no files (fixtures absent?)" >&2; exit 1; }
crit=${CRIT:-$(command -v crit)}
jcrit=$here/bin/jcrit
args=(decode)
[ "${MODE:-}" = pretty ] && args+=(--pretty)

# ms with one decimal, of one run of "$@"
one() {
    local s e
    s=$EPOCHREALTIME
    "$@" >/dev/null 2>&1 || true
    e=$EPOCHREALTIME
    echo $(( (${e/./} - ${s/./}) / 100 ))
}

stats() {
    sort -n | awk '{a[NR]=$1} END {m = NR % 2 ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2; printf "%6.1f %6.1f", m/10, a[1]/10}'
}

printf '%9s  %-36s %14s %14s\n' bytes file "crit med/min" "jcrit med/min"
for f in "${files[@]}"; do
    c=() j=()
    for ((i = 0; i < runs; i++)); do
        if ((i % 2)); then
            j+=("$(one "$jcrit" "${args[@]}" -i "$f")")
            c+=("$(one "$crit" "${args[@]}" -i "$f")")
        else
            c+=("$(one "$crit" "${args[@]}" -i "$f")")
            j+=("$(one "$jcrit" "${args[@]}" -i "$f")")
        fi
    done
    printf '%9d  %-36s %14s %14s\n' "$(stat -c %s "$f")" "$(basename "$(dirname "$f")")/$(basename "$f")" \
        "$(printf '%s\n' "${c[@]}" | stats)" "$(printf '%s\n' "${j[@]}" | stats)"
done
