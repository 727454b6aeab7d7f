#!/usr/bin/env bash
# Benchmark (not a test): jcriu dump and restore of the 16-thread workload (threads.c: 16
# spinners, a futex waiter, a sleeper; 19 threads) and of a JVM with a thread pool
# (ThreadPool.java, default JVM flags, its perf data file mapping included). Per run: wall time
# of dump and restore (JVM start included), the frozen time and pages written from stats-dump,
# the image size, and the workload's own verdict after SIGTERM. Images in tmpfs.
# Usage: scripts/bench-threads.sh [RUNS]   (default 3)
set -euo pipefail
RUNS=${1:-3}
source "$(dirname "$0")/bench-lib.sh" bench-threads
W=src/test/resources/workloads
JAVA=/usr/lib/jvm/temurin-25-jdk-amd64/bin/java
gcc -O1 -pthread -I"$W" -o "$work/threads" "$W/threads.c"

# stats-dump: frozen_time (us) and pages_written
stats() {
    "$JCRIT" decode -i "$1/stats-dump" | python3 -c '
import json, sys
d = json.load(sys.stdin)["entries"][0]["dump"]
print(d["frozen_time"] // 1000, d.get("pages_written", 0))'
}

run() {
    local name=$1; shift
    for i in $(seq "$RUNS"); do
        local w="$work/$name-w$i" d="$work/$name-img$i"
        mkdir -p "$w" "$d"
        start "$@" "$w"
        for _ in $(seq 600); do [ -s "$w/ready" ] && break; sleep 0.05; done
        local p; p=$(cat "$w/ready")
        local nthr; nthr=$(ls "/proc/$p/task" | wc -l)
        sleep 0.5
        local l0; l0=$(load)
        local t0; t0=$(now); "$J" dump -t "$p" -D "$d"; local t1; t1=$(now)
        wait "$pid" 2>/dev/null || true
        while [ -e "/proc/$p" ]; do sleep 0.02; done
        local st; st=$(stats "$d")
        local kib; kib=$(du -sk "$d" | cut -f1)
        local t2; t2=$(now); "$J" restore -d -D "$d"; local t3; t3=$(now)
        pids+=("$p")
        sleep 0.5
        kill -TERM "$p"
        for _ in $(seq 200); do [ -s "$w/verdict" ] && break; sleep 0.05; done
        echo "$name run $i: $nthr threads, dump $(ms "$t0" "$t1") ms, frozen ${st% *} ms, pages ${st#* }," \
             "image $kib KiB, restore $(ms "$t2" "$t3") ms, load $l0, verdict: $(head -c 60 "$w/verdict" 2>/dev/null)"
        kill -9 "$p" 2>/dev/null || true
        while [ -e "/proc/$p" ]; do sleep 0.02; done
        rm -rf "$w" "$d"
    done
}

run threads "$work/threads"
[ -x "$JAVA" ] && run jvm "$JAVA" "$W/ThreadPool.java"
