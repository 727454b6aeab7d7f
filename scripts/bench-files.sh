#!/usr/bin/env bash
# Benchmark (not a test): wall time of jcriu dump and restore, JVM start included, of a process
# with N open regular files (default 10000) and of one with M pipes (default 1000, both ends open,
# a few bytes queued in each), images in tmpfs. Each process checks after the restore that every
# fd is back (regular files: their offsets; pipes: their queued bytes) and says so.
# Usage: scripts/bench-files.sh [FILES] [PIPES]
set -euo pipefail
NFILES=${1:-10000}
NPIPES=${2:-1000}
source "$(dirname "$0")/bench-lib.sh" bench-files

# fds DIR files N | fds DIR pipes N: opens them, writes DIR/ready, and on SIGTERM checks every
# fd and writes DIR/verdict.
cat > "$work/fds.c" <<'C'
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>
static volatile sig_atomic_t stop;
static void on_term(int s) { (void)s; stop = 1; }
int main(int argc, char **argv) {
    const char *dir = argv[1];
    int pipes = !strcmp(argv[2], "pipes"), n = atoi(argv[3]);
    struct rlimit rl;
    getrlimit(RLIMIT_NOFILE, &rl);
    rl.rlim_cur = (pipes ? 2 * n : n) + 64;
    if (rl.rlim_cur > rl.rlim_max || setrlimit(RLIMIT_NOFILE, &rl)) {
        fprintf(stderr, "RLIMIT_NOFILE hard limit %ld is too low for %d fds\n", (long)rl.rlim_max, pipes ? 2 * n : n);
        return 2;
    }
    signal(SIGTERM, on_term);
    int *fd = calloc(n * 2, sizeof(int));
    char path[4096];
    for (int i = 0; i < n; i++) {
        if (pipes) {
            if (pipe(fd + 2 * i)) { perror("pipe"); return 2; }
            if (write(fd[2 * i + 1], &i, sizeof i) != sizeof i) return 2;
        } else {
            snprintf(path, sizeof path, "%s/f%d", dir, i);
            fd[i] = open(path, O_RDWR | O_CREAT, 0600);
            if (fd[i] < 0 || write(fd[i], "0123456789", 1 + i % 10) < 0) { perror(path); return 2; }
        }
    }
    snprintf(path, sizeof path, "%s/ready", dir);
    FILE *f = fopen(path, "w"); fprintf(f, "%d\n", getpid()); fclose(f);
    while (!stop) pause();
    int bad = 0;
    for (int i = 0; i < n; i++) {
        if (pipes) {
            int v = -1;
            if (read(fd[2 * i], &v, sizeof v) != sizeof v || v != i) bad++;
        } else if (lseek(fd[i], 0, SEEK_CUR) != 1 + i % 10) {
            bad++;
        }
    }
    snprintf(path, sizeof path, "%s/verdict", dir);
    f = fopen(path, "w"); fprintf(f, bad ? "FAIL %d fds differ\n" : "PASS\n", bad); fclose(f);
    return 0;
}
C
gcc -O2 -o "$work/fds" "$work/fds.c"

run() {
    local what=$1 n=$2 d="$work/$1"
    mkdir -p "$d/w" "$d/img"
    start "$work/fds" "$d/w" "$what" "$n"
    for _ in $(seq 600); do [ -s "$d/w/ready" ] && break; sleep 0.05; done
    [ -s "$d/w/ready" ] || { echo "$what: the workload never got ready" >&2; return 1; }
    local t0 t1 t2 t3
    t0=$(now); "$J" dump -t "$pid" -D "$d/img" -o dump.log ${JCRIU_BENCH_OPTS:-}; t1=$(now)
    wait "$pid" 2>/dev/null || true
    t2=$(now); "$J" restore -d -D "$d/img" -o restore.log ${JCRIU_BENCH_OPTS:-}; t3=$(now)
    kill -TERM "$pid"
    for _ in $(seq 600); do [ -s "$d/w/verdict" ] && break; sleep 0.05; done
    printf '%-40s %10s %10s   %s\n' "$n $what" "$(ms "$t0" "$t1")" "$(ms "$t2" "$t3")" "$(cat "$d/w/verdict" 2>/dev/null || echo 'NO VERDICT')"
}

printf '%-40s %10s %10s   %s\n' "process with" "dump ms" "restore ms" "after restore"
run files "$NFILES"
run pipes "$NPIPES"
