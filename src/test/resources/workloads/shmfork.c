/*
 * shmfork DIR: a parent and its child sharing one shared anonymous object across fork (4 pages:
 * the parent writes pages 0-1 before the fork, the child page 2 after). DIR/pids holds "R C",
 * DIR/addr the object's address, DIR/ready R's pid. On SIGTERM R forwards it to C; C checks the
 * three pages and writes a marker into page 3, which R must then see (one object, not two
 * copies), and R writes DIR/verdict.
 */
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>
#include "workload.h"

#define PG 4096UL

static int same(const unsigned char *p, int seed) {
    for (unsigned long i = 0; i < PG; i++) if (p[i] != (unsigned char)(i * 5 + seed)) return 0;
    return 1;
}

static void fill(unsigned char *p, int seed) {
    for (unsigned long i = 0; i < PG; i++) p[i] = (unsigned char)(i * 5 + seed);
}

int main(int argc, char **argv) {
    if (argc < 2) return 2;
    snprintf(dir, sizeof dir, "%s", argv[1]);
    unsigned char *m = mmap(NULL, 4 * PG, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED) return 3;
    fill(m, 1);
    fill(m + PG, 2);
    struct sigaction sa = {0};
    sa.sa_handler = on_term;
    sigaction(SIGTERM, &sa, NULL);
    int up[2];
    if (pipe(up)) return 4;
    pid_t c = fork();
    if (c == 0) {
        close(up[0]);
        fill(m + 2 * PG, 3);
        if (write(up[1], "x", 1) != 1) _exit(5);
        while (!stop) pause();
        int ok = same(m, 1) && same(m + PG, 2) && same(m + 2 * PG, 3);
        memcpy(m + 3 * PG, "child was here", 15);
        _exit(ok ? 0 : 1);
    }
    close(up[1]);
    char x;
    if (read(up[0], &x, 1) != 1) return 6;
    char buf[128];
    snprintf(buf, sizeof buf, "%lx\n", (unsigned long)m);
    put("addr", buf);
    put_pids_ready(c);
    while (!stop) pause();
    int st = term_child(c);
    if (st < 0) snprintf(verdict, sizeof verdict, "FAIL waitpid\n");
    else if (st) snprintf(verdict, sizeof verdict, "FAIL child saw wrong pages (status %d)\n", st);
    else if (memcmp(m + 3 * PG, "child was here", 15)) snprintf(verdict, sizeof verdict, "FAIL the child's write is not in the parent's object\n");
    else if (!same(m + 2 * PG, 3)) snprintf(verdict, sizeof verdict, "FAIL the child's page before the dump\n");
    put("verdict", verdict[0] ? verdict : "PASS\n");
    return 0;
}
