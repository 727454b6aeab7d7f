/*
 * vmflags DIR: VMAs whose smaps VmFlags a restore must give back, each with content that must
 * survive: one area per madvise advice CRIU keeps (sequential, random, dontfork, dontdump,
 * hugepage, nohugepage, mergeable where KSM exists, wipeonfork), an mlocked area, a
 * MAP_NORESERVE area, a MAP_DROPPABLE area when the kernel has it (content may be dropped by
 * design), an area split three ways by mprotect (rw, r, none), guard pages inside an area
 * (MADV_GUARD_INSTALL, kernel 6.13+), a SysV shm segment attached twice (once read-only) with one
 * page of the first attachment made read-only, THP disabled for the process, and a membarrier
 * private-expedited registration, and a MAP_GROWSDOWN area that must still grow after restore. It writes
 * "shmid N" to DIR/shmid so the test can remove the segment. With "rmid" after DIR the segment
 * is removed (IPC_RMID) at once, which a dump must refuse. On SIGTERM it checks everything.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/shm.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include "workload.h"

#define PG 4096
#ifndef MAP_DROPPABLE
#define MAP_DROPPABLE 0x08
#endif
#ifndef MADV_GUARD_INSTALL
#define MADV_GUARD_INSTALL 102
#endif

static void fail(const char *what) {
    size_t n = strlen(verdict);
    if (!n) n = (size_t)snprintf(verdict, sizeof verdict, "FAIL");
    snprintf(verdict + n, sizeof verdict - n, " %s;", what);
}

static void fill(unsigned char *p, size_t n, int seed) {
    for (size_t i = 0; i < n; i++) p[i] = (unsigned char)(i * 7 + seed);
}

static int same(const unsigned char *p, size_t n, int seed) {
    for (size_t i = 0; i < n; i++) if (p[i] != (unsigned char)(i * 7 + seed)) return 0;
    return 1;
}

static unsigned char *area(size_t pages, int flags, int seed) {
    unsigned char *p = mmap(NULL, pages * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | flags, -1, 0);
    if (p == MAP_FAILED) exit(3);
    fill(p, pages * PG, seed);
    return p;
}

static sigjmp_buf jb;
static void on_segv(int s) { (void)s; siglongjmp(jb, 1); }

/* 1 when reading p faults (a guard page), 0 when it reads. */
static int faults(volatile unsigned char *p) {
    struct sigaction sa = {0}, old;
    sa.sa_handler = on_segv;
    sigaction(SIGSEGV, &sa, &old);
    int r = 1;
    if (!sigsetjmp(jb, 1)) { (void)*p; r = 0; }
    sigaction(SIGSEGV, &old, NULL);
    return r;
}

static const int advice[] = {MADV_SEQUENTIAL, MADV_RANDOM, MADV_DONTFORK, MADV_DONTDUMP, MADV_HUGEPAGE,
                             MADV_NOHUGEPAGE, MADV_MERGEABLE, MADV_WIPEONFORK};
#define NADV (int)(sizeof advice / sizeof advice[0])

int main(int argc, char **argv) {
    if (argc < 2) return 2;
    snprintf(dir, sizeof dir, "%s", argv[1]);
    char buf[1024];

    unsigned char *adv[NADV];
    int advised[NADV];
    for (int i = 0; i < NADV; i++) {
        adv[i] = area(4, 0, 10 + i);
        advised[i] = madvise(adv[i], 4 * PG, advice[i]) == 0; /* MERGEABLE needs KSM */
    }
    unsigned char *locked = area(4, 0, 30);
    if (mlock(locked, 4 * PG)) fail("mlock before dump");
    unsigned char *noreserve = area(4, MAP_NORESERVE, 31);
    unsigned char *drop = mmap(NULL, 4 * PG, PROT_READ | PROT_WRITE, MAP_DROPPABLE | MAP_ANONYMOUS, -1, 0);
    int has_drop = drop != MAP_FAILED;
    if (has_drop) fill(drop, 4 * PG, 32);
    unsigned char *split = area(6, 0, 33);
    mprotect(split + 2 * PG, 2 * PG, PROT_READ);
    mprotect(split + 4 * PG, 2 * PG, PROT_NONE);
    unsigned char *guarded = area(8, 0, 34);
    int has_guard = madvise(guarded + 3 * PG, 2 * PG, MADV_GUARD_INSTALL) == 0;

    int shmid = shmget(IPC_PRIVATE, 3 * PG, IPC_CREAT | 0600);
    if (shmid < 0) return 4;
    snprintf(buf, sizeof buf, "shmid %d\n", shmid);
    put("shmid", buf);
    unsigned char *shm = shmat(shmid, NULL, 0);
    unsigned char *shm_ro = shmat(shmid, NULL, SHM_RDONLY);
    if (shm == (void *)-1 || shm_ro == (void *)-1) return 5;
    fill(shm, 3 * PG, 35);
    int rmid = argc > 2 && !strcmp(argv[2], "rmid");
    if (rmid) shmctl(shmid, IPC_RMID, NULL);
    mprotect(shm + PG, PG, PROT_READ);

    if (prctl(PR_SET_THP_DISABLE, 1, 0, 0, 0)) fail("PR_SET_THP_DISABLE before dump");
    /* MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED (1 << 4): MEMBARRIER_CMD_PRIVATE_EXPEDITED needs it */
    if (syscall(SYS_membarrier, 1 << 4, 0, 0)) fail("membarrier registration before dump");

    /* a MAP_GROWSDOWN area with 4 MiB free below it (more than the kernel's 1 MiB stack guard
     * gap), made last so no later mmap lands in the hole: it must still grow after restore */
    unsigned char *hole = mmap(NULL, 4 << 20, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    unsigned char *down = hole + (4 << 20) - 4 * PG;
    munmap(hole, 4 << 20);
    if (mmap(down, 4 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_GROWSDOWN | MAP_FIXED, -1, 0) != down) return 6;
    fill(down, 4 * PG, 36);

    struct sigaction sa = {0};
    sa.sa_handler = on_term;
    sigaction(SIGTERM, &sa, NULL);
    snprintf(buf, sizeof buf, "droppable %d\nguard %d\nmergeable %d\n", has_drop, has_guard, advised[6]);
    put("features", buf);
    snprintf(buf, sizeof buf, "%d\n", getpid());
    put("ready", buf);
    while (!stop) pause();

    for (int i = 0; i < NADV; i++) {
        /* dontdump still dumps for CRIU (it is a core dump hint); wipeonfork keeps the parent's data */
        if (!same(adv[i], 4 * PG, 10 + i)) { snprintf(buf, sizeof buf, "advice %d area", advice[i]); fail(buf); }
    }
    if (!same(locked, 4 * PG, 30)) fail("mlocked area");
    if (!same(noreserve, 4 * PG, 31)) fail("MAP_NORESERVE area");
    if (has_drop) {
        /* CRIU saves no droppable page: zero (dropped) or intact are both legal, nothing else */
        for (int i = 0; i < 4 * PG; i++) {
            if (drop[i] && drop[i] != (unsigned char)(i * 7 + 32)) { fail("droppable area holds foreign bytes"); break; }
        }
        drop[0] = 1; /* still writable */
    }
    if (!same(split, 2 * PG, 33)) fail("rw part of the split area");
    if (!same(split + 2 * PG, 2 * PG, 33 + 2 * PG * 7)) fail("read-only part of the split area");
    mprotect(split + 4 * PG, 2 * PG, PROT_READ);
    if (!same(split + 4 * PG, 2 * PG, 33 + 4 * PG * 7)) fail("PROT_NONE part of the split area");
    if (!same(guarded, 3 * PG, 34) || !same(guarded + 5 * PG, 3 * PG, 34 + 5 * PG * 7)) fail("pages around the guard");
    if (has_guard && (!faults(guarded + 3 * PG) || !faults(guarded + 4 * PG))) fail("guard pages do not fault");
    if (has_guard && faults(guarded + 2 * PG)) fail("page before the guard faults");
    if (!same(shm, 3 * PG, 35)) fail("SysV shm contents");
    shm[2 * PG] = 0xab;
    if (shm_ro[2 * PG] != 0xab) fail("the two SysV attachments are not one segment");
    if (mprotect(shm_ro, PG, PROT_READ | PROT_WRITE) == 0) fail("read-only SysV attachment became writable");
    if (mprotect(shm + PG, PG, PROT_READ | PROT_WRITE)) fail("read-write SysV attachment cannot be made writable again");
    if (prctl(PR_GET_THP_DISABLE, 0, 0, 0, 0) != 1) fail("THP disable flag lost");
    if (!same(down, 4 * PG, 36)) fail("MAP_GROWSDOWN area");
    if (faults(down - 2 * PG)) fail("MAP_GROWSDOWN area does not grow down any more");
    if (syscall(SYS_membarrier, 1 << 3, 0, 0)) fail("membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED) refused: registration lost");
    if (!(syscall(SYS_membarrier, 1 << 9, 0, 0) & (1 << 4))) fail("membarrier registrations lost");
    /* wipeonfork and dontfork as a child sees them */
    pid_t c = fork();
    if (c == 0) {
        int bad = 0;
        unsigned char *w = adv[7];
        for (int i = 0; i < 4 * PG; i++) if (w[i]) { bad = 1; break; }
        _exit(bad);
    }
    int st;
    waitpid(c, &st, 0);
    if (!WIFEXITED(st) || WEXITSTATUS(st)) fail("wipeonfork area not wiped in a child");
    shmdt(shm);
    shmdt(shm_ro);
    if (!rmid) shmctl(shmid, IPC_RMID, NULL);
    put("verdict", verdict[0] ? strcat(verdict, "\n") : "PASS\n");
    return 0;
}
