/*
 * cowkinds DIR: a parent P and its child C, forked with memory of every kind that fork does not
 * simply share, each region 4 pages with a page of PROT_NONE gap around it:
 *
 *   dontfork  P's only (MADV_DONTFORK): C has nothing there
 *   wipe      MADV_WIPEONFORK: C got it empty and wrote page 1
 *   ro        read-only: C made it writable, changed page 2 and made it read-only again
 *   prot      C changed page 1 and made it read-only (P's stays writable)
 *   lock      mlock'ed by P (C's copy is not locked); C changed page 0
 *   file      MAP_PRIVATE of DIR/data ("F"): P changed page 0 before the fork and page 1 after
 *             it, C changed page 3: C must see the file's page 1, not P's
 *   anon      pages 0-1 written before the fork, 2-3 by P after it: zero in C
 *   guard     page 3 a guard page (MADV_GUARD_INSTALL, if the kernel has it), inherited by C
 *
 * P disabled THP before the fork (C enabled it again) and registered for private expedited
 * membarrier after it (C did not). DIR/pids holds "P C", DIR/ready P's pid. On SIGTERM P
 * forwards it to C; each checks every byte of its regions, its THP setting and membarrier
 * registrations; C exits 0 if all is right, P writes DIR/verdict "PASS" or "FAIL ...".
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include "workload.h"

#define PG 4096UL
#define NR 8
#define MADV_GUARD_INSTALL_ 102
#define MB_GET_REGISTRATIONS (1 << 9)
#define MB_REGISTER_PRIVATE_EXPEDITED (1 << 4)

enum { DONTFORK, WIPE, RO, PROT, LOCK, FILEMAP, ANON, GUARD };
static const char *names[NR] = {"dontfork", "wipe", "ro", "prot", "lock", "file", "anon", "guard"};
static unsigned char *reg[NR];
/* What each page must hold, per region: a fill byte, 0 for zero. */
static char want[NR][4];
static int is_child, guarded;

static void fill(int r, int page, char c) {
    memset(reg[r] + page * PG, c, PG);
    want[r][page] = c;
}

static void complain(const char *what, int r, int page, int got) {
    char buf[160];
    snprintf(buf, sizeof buf, "%s: %s page %d holds 0x%x, expected 0x%x; ", is_child ? "C" : "P", names[r], page, got,
             (unsigned char)want[r][page]);
    (void)what;
    if (strlen(verdict) + strlen(buf) < sizeof verdict - 1) strcat(verdict, buf);
}

static int check(void) {
    int bad = 0;
    for (int r = 0; r < NR; r++) {
        if (r == DONTFORK && is_child) continue;
        for (int p = 0; p < 4; p++) {
            if (r == GUARD && p == 3 && guarded) continue;
            for (unsigned long i = 0; i < PG; i++) {
                if (reg[r][p * PG + i] != (unsigned char)want[r][p]) {
                    complain("", r, p, reg[r][p * PG + i]);
                    bad = 1;
                    break;
                }
            }
        }
    }
    int thp = prctl(PR_GET_THP_DISABLE, 0, 0, 0, 0);
    if (thp != (is_child ? 0 : 1)) {
        char buf[96];
        snprintf(buf, sizeof buf, "%s: PR_GET_THP_DISABLE %d; ", is_child ? "C" : "P", thp);
        strcat(verdict, buf);
        bad = 1;
    }
    long mb = syscall(SYS_membarrier, MB_GET_REGISTRATIONS, 0, 0);
    if (mb >= 0 && ((mb & MB_REGISTER_PRIVATE_EXPEDITED) != 0) != !is_child) {
        char buf[96];
        snprintf(buf, sizeof buf, "%s: membarrier registrations 0x%lx; ", is_child ? "C" : "P", mb);
        strcat(verdict, buf);
        bad = 1;
    }
    return bad;
}

int main(int argc, char **argv) {
    workload_init(argc, argv);

    char path[4200];
    snprintf(path, sizeof path, "%s/data", dir);
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) return 3;
    static char page[PG];
    memset(page, 'F', PG);
    for (int i = 0; i < 4; i++) if (write(fd, page, PG) != (ssize_t)PG) return 3;

    /* one reservation, carved into regions with a PROT_NONE page between them so none merge */
    unsigned char *base = mmap(NULL, NR * 5 * PG, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (base == MAP_FAILED) return 4;
    for (int r = 0; r < NR; r++) {
        unsigned char *at = base + r * 5 * PG;
        void *m = r == FILEMAP ? mmap(at, 4 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_FIXED, fd, 0)
                               : mmap(at, 4 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
        if (m != at) return 5;
        reg[r] = at;
        memset(want[r], r == FILEMAP ? 'F' : 0, 4);
    }
    close(fd);
    for (int p = 0; p < 4; p++) {
        fill(DONTFORK, p, 'D');
        fill(WIPE, p, 'W');
        fill(RO, p, 'R');
        fill(PROT, p, 'P');
        fill(LOCK, p, 'L');
        fill(GUARD, p, 'G');
    }
    fill(FILEMAP, 0, 'f');
    fill(ANON, 0, 'A');
    fill(ANON, 1, 'A');
    if (madvise(reg[DONTFORK], 4 * PG, MADV_DONTFORK) || madvise(reg[WIPE], 4 * PG, MADV_WIPEONFORK)) return 6;
    if (mprotect(reg[RO], 4 * PG, PROT_READ)) return 6;
    if (mlock(reg[LOCK], 4 * PG)) return 6;
    guarded = madvise(reg[GUARD] + 3 * PG, PG, MADV_GUARD_INSTALL_) == 0;
    if (prctl(PR_SET_THP_DISABLE, 1, 0, 0, 0)) return 7;

    int up[2];
    if (pipe(up)) return 8;
    pid_t c = fork();
    if (c < 0) return 8;
    if (c == 0) {
        is_child = 1;
        memset(want[WIPE], 0, 4);
        fill(WIPE, 1, 'w');
        if (mprotect(reg[RO], 4 * PG, PROT_READ | PROT_WRITE)) _exit(9);
        fill(RO, 2, 'r');
        if (mprotect(reg[RO], 4 * PG, PROT_READ)) _exit(9);
        fill(PROT, 1, 'p');
        if (mprotect(reg[PROT], 4 * PG, PROT_READ)) _exit(9);
        fill(LOCK, 0, 'l');
        fill(FILEMAP, 3, 'c');
        if (prctl(PR_SET_THP_DISABLE, 0, 0, 0, 0)) _exit(9);
        if (write(up[1], "x", 1) != 1) _exit(9);
        while (!stop) pause();
        int bad = check();
        put("verdict-C", bad ? verdict : "PASS\n");
        _exit(bad);
    }
    char x;
    if (read(up[0], &x, 1) != 1) return 10;
    fill(FILEMAP, 1, 'g');
    fill(ANON, 2, 'a');
    fill(ANON, 3, 'a');
    syscall(SYS_membarrier, MB_REGISTER_PRIVATE_EXPEDITED, 0, 0);

    char buf[128];
    snprintf(buf, sizeof buf, "%d %d\n", getpid(), c);
    put("pids", buf);
    snprintf(buf, sizeof buf, "%lx\n", (unsigned long)base);
    put("base", buf);
    put_ready(dir);
    while (!stop) pause();
    int bad = check();
    kill(c, SIGTERM);
    int st;
    pid_t r;
    while ((r = waitpid(c, &st, 0)) < 0 && errno == EINTR) {}
    if (r != c || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
        snprintf(buf, sizeof buf, "C ended with status 0x%x; ", r == c ? st : -1);
        strcat(verdict, buf);
        bad = 1;
    }
    static char out[sizeof verdict + 16];
    snprintf(out, sizeof out, "%s %s\n", bad ? "FAIL" : "PASS", verdict);
    put("verdict", out);
    return bad;
}
