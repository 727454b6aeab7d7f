#!/usr/bin/env bash
# Benchmark (not a test): the final dump after a pre-dump against a plain dump, for a process
# with MiB of touched anonymous memory of which 1/STRIDE of the pages changed in between
# (default 1024 MiB, stride 20 = 5%), images in tmpfs. Prints frozen time (stats-dump), the bytes
# of pages written and the wall time of each dump, JVM start included.
# Usage: scripts/bench-predump.sh [MiB] [STRIDE] [ROUNDS]
set -euo pipefail
MIB=${1:-1024}
STRIDE=${2:-20}
ROUNDS=${3:-3}
source "$(dirname "$0")/bench-lib.sh" bench-predump
pid=
cleanup() {
    [ -n "$pid" ] && kill -9 "$pid" 2>/dev/null || true
    bench_remove_work
}
stat_of() { "$JCRIT" show "$1/stats-dump" | awk -v k="\"$2\":" '$1 == k { gsub(/,/, "", $2); print $2 }'; }
mb() { awk -v b="$(stat -c %s "$1")" 'BEGIN { printf "%.1f", b / 1048576 }'; }

gcc -O2 -I src/test/resources/workloads -o "$work/predump" src/test/resources/workloads/predump.c
mkdir -p "$work/w"
setsid "$work/predump" "$work/w" "$MIB" "$STRIDE" </dev/null >/dev/null 2>&1 &
for _ in $(seq 200); do [ -s "$work/w/ready" ] && break; sleep 0.05; done
pid=$(cat "$work/w/ready")
round=0
change() {
    round=$((round + 1))
    kill -USR1 "$pid"
    for _ in $(seq 400); do [ "$(cat "$work/w/changed" 2>/dev/null)" = "$round" ] && return; sleep 0.05; done
    echo "round $round never finished" >&2; exit 1
}

echo "== ${MIB} MiB, 1/${STRIDE} of the pages changed between pre-dump and dump, images in $work"
printf '%-28s %10s %12s %10s\n' "" "frozen ms" "pages MiB" "wall ms"
for r in $(seq "$ROUNDS"); do
    base="$work/r$r"; mkdir -p "$base/pre" "$base/inc" "$base/full"
    t0=$(now); "$J" pre-dump -t "$pid" -D "$base/pre" -o pre-dump.log; t1=$(now)
    printf '%-28s %10s %12s %10s\n' "pre-dump" "$(($(stat_of "$base/pre" frozen_time) / 1000))" "$(mb "$base/pre/pages-1.img")" "$(ms "$t0" "$t1")"
    change
    t0=$(now); "$J" dump -t "$pid" -D "$base/inc" --prev-images-dir ../pre --track-mem -R -o dump.log; t1=$(now)
    printf '%-28s %10s %12s %10s\n' "dump after the pre-dump" "$(($(stat_of "$base/inc" frozen_time) / 1000))" "$(mb "$base/inc/pages-1.img")" "$(ms "$t0" "$t1")"
    t0=$(now); "$J" dump -t "$pid" -D "$base/full" -R -o dump.log; t1=$(now)
    printf '%-28s %10s %12s %10s\n' "plain dump" "$(($(stat_of "$base/full" frozen_time) / 1000))" "$(mb "$base/full/pages-1.img")" "$(ms "$t0" "$t1")"
    rm -rf "$base"
done
