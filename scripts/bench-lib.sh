# Sourced by scripts/bench*.sh (bash, set -euo pipefail) with the bench's name:
#   source "$(dirname "$0")/bench-lib.sh" bench-tree
# The preamble they share, nothing they measure: the checkout as working directory, JDK 25
# (env.sh), root, target/jcriu.jar built if missing; $J and $JCRIT name the launchers; $work is
# a new directory in tmpfs (/dev/shm, so image I/O is not disk speed). On exit cleanup() SIGKILLs
# every pid in $pids and removes $work (KEEP=1 keeps it); a bench that starts processes some
# other way redefines cleanup() after sourcing this, as the trap calls it by name.
cd "$(dirname "$0")/.."
source scripts/env.sh
jcriu_require_root
[ -f target/jcriu.jar ] || mvn -B -q -ntp package -DskipTests
J="$PWD/bin/jcriu"
JCRIT="$PWD/bin/jcrit"
work=$(mktemp -d "/dev/shm/jcriu-$1.XXXXXX")
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done
    bench_remove_work
}
bench_remove_work() {
    if [ -n "${KEEP:-}" ]; then echo "kept $work" >&2; else rm -rf "$work"; fi
}
trap cleanup EXIT

now() { date +%s.%N; }
ms() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.0f", (b - a) * 1000 }'; }
load() { cut -d' ' -f1 /proc/loadavg; }
# Workloads are children of this shell, which reaps them as soon as a dump kills them: a task
# orphaned to this machine's init stays a zombie (holding its PID) for up to a second, and a
# restore then waits for the PID to be free. setsid makes each one a session leader.
start() { setsid "$@" </dev/null >/dev/null 2>&1 & pid=$!; pids+=("$pid"); }
