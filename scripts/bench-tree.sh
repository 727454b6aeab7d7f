#!/usr/bin/env bash
# Benchmark (not a test): wall time of jcriu dump/restore of process trees, JVM start included,
# images in tmpfs: a 5-task sh tree, and a tree of TASKS processes each with MIB MiB of touched
# private anonymous memory (not shared with the others); for comparison `sleep` and one task with
# the same memory in total. Each case runs RUNS times and prints
# min-max, with the load average before the runs.
# Usage: scripts/bench-tree.sh [RUNS] [TASKS] [MIB]   (defaults 5 4 256)
set -euo pipefail
RUNS=${1:-5}
TASKS=${2:-4}
MIB=${3:-256}
source "$(dirname "$0")/bench-lib.sh" bench-tree
# Each tree leads a process group of its own (see below): killed as a group and by pid.
cleanup() {
    for p in "${pids[@]}"; do kill -9 -- "-$p" 2>/dev/null || true; kill -9 "$p" 2>/dev/null || true; done
    bench_remove_work
}
# Every tree runs under a child subreaper of its own (reaper.c): the dump kills the tree, and
# orphans left to this machine's init stay zombies (holding their PIDs) for up to a second, which
# the next restore would wait for. The reaper's child, the tree's root, leads its own session and
# process group; its PID is written to $work/root.
start() {
    rm -f "$work/root"
    "$work/reaper" "$work/root" "$@" </dev/null >/dev/null 2>&1 & reaper=$!
    disown "$reaper"
    pids+=("$reaper")
    for _ in $(seq 200); do [ -s "$work/root" ] && break; sleep 0.01; done
    pid=$(cat "$work/root")
    pids+=("$pid")
}
# waits until the process group of $1 has $2 members
wait_tasks() {
    for _ in $(seq 400); do
        [ "$(ps -o pid= -g "$1" | wc -l)" -ge "$2" ] && return 0
        sleep 0.025
    done
    echo "tree of $1 did not reach $2 tasks" >&2
    return 1
}
# the restored tree must be gone (PIDs free) before the next run restores the same PIDs
kill_tree() {
    kill -9 -- "-$1" 2>/dev/null || true
    for _ in $(seq 200); do
        [ -z "$(ps -o pid= -g "$1")" ] && return 0
        sleep 0.01
    done
}
minmax() { tr ' ' '\n' | grep . | sort -n | awk 'NR==1{a=$1} {b=$1} END {print a "-" b}'; }

cat > "$work/reaper.c" <<'C'
#include <stdio.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>
/* argv: pid-file cmd...: runs cmd as a session leader, reaps every orphan of its tree until the
   tree is gone */
int main(int argc, char **argv) {
    prctl(PR_SET_CHILD_SUBREAPER, 1);
    pid_t c = fork();
    if (c == 0) { setsid(); execvp(argv[2], argv + 2); _exit(127); }
    FILE *f = fopen(argv[1], "w"); fprintf(f, "%d\n", c); fclose(f);
    while (wait(NULL) > 0) ;
    return 0;
}
C
gcc -O2 -o "$work/reaper" "$work/reaper.c"

cat > "$work/tree.c" <<'C'
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
/* argv: tasks MiB ready-file. The root forks tasks-1 children; every task touches its own MiB
   MiB after the fork (nothing shared copy-on-write), the last one to be ready writes the file. */
int main(int argc, char **argv) {
    int tasks = atoi(argv[1]);
    size_t n = (size_t)atol(argv[2]) << 20;
    int i, me = 0;
    for (i = 1; i < tasks; i++) {
        if (fork() == 0) { me = i; break; }
    }
    unsigned char *p = malloc(n);
    for (size_t o = 0; o < n; o += 4096) p[o] = (unsigned char)(o >> 12), p[o + 1] = (unsigned char)me;
    char f[4096];
    snprintf(f, sizeof f, "%s.%d", argv[3], me);
    FILE *fp = fopen(f, "w"); fputs("ready\n", fp); fclose(fp);
    for (;;) pause();
}
C
gcc -O2 -o "$work/tree" "$work/tree.c"

# run_case LABEL KIND TASKS CMD...: RUNS dumps and restores of the tree CMD starts; KIND mem
# waits for every task's ready file
run_case() {
    local name=$1 kind=$2 ntasks=$3; shift 3
    local dumps="" restores="" l
    l=$(load)
    for r in $(seq "$RUNS"); do
        rm -f "$work"/ready.*
        start "$@"
        wait_tasks "$pid" "$ntasks"
        if [ "$kind" = mem ]; then
            for _ in $(seq 400); do [ "$(ls "$work"/ready.* 2>/dev/null | wc -l)" -ge "$ntasks" ] && break; sleep 0.05; done
        fi
        local img="$work/img.$r"
        mkdir "$img"
        local t0 t1 t2 t3
        t0=$(now); "$J" dump -t "$pid" -D "$img" -o dump.log; t1=$(now)
        t2=$(now); "$J" restore -d -D "$img" -o restore.log; t3=$(now)
        dumps+=" $(ms "$t0" "$t1")"; restores+=" $(ms "$t2" "$t3")"
        kill_tree "$pid"
        rm -rf "$img"
    done
    printf '%-44s %12s %12s  load %s (runs:%s /%s)\n' "$name" "$(echo "$dumps" | minmax)" "$(echo "$restores" | minmax)" "$l" "$dumps" "$restores"
}

printf '%-44s %12s %12s\n' "what (ms, min-max of $RUNS)" "dump" "restore"
run_case "sleep" sh 1 sleep 1000
run_case "sh tree of 5 tasks" sh 5 sh -c 'sleep 1000 & sleep 1000 & sh -c "sleep 1000 & wait" & wait'
run_case "1 task x $((TASKS * MIB)) MiB" mem 1 "$work/tree" 1 $((TASKS * MIB)) "$work/ready"
run_case "tree of ${TASKS} x ${MIB} MiB" mem "$TASKS" "$work/tree" "$TASKS" "$MIB" "$work/ready"
