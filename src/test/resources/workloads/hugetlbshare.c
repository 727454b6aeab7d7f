/*
 * hugetlbshare DIR MNT: shared hugetlb memory of a parent and its child, and a file on the
 * hugetlbfs mounted at MNT mapped shared and private; needs 8 free 2 MiB huge pages.
 * - A: 4 huge pages of MAP_SHARED | MAP_ANONYMOUS | MAP_HUGETLB: the parent writes huge page 0
 *   before the fork, the child huge page 1 after it; pages 2 and 3 are never touched.
 * - MNT/hfile (2 huge pages): F maps it shared (the parent writes both pages), P maps it
 *   private and writes page 1 only (copied on write), page 0 stays the file's.
 * DIR/pids holds "R C", DIR/addr "A F P", DIR/ready R's pid. On SIGTERM R forwards it to C; C
 * checks A and writes a marker into huge page 2, which R must then see (one object, not two
 * copies); R checks everything, that A, F and P are still hugetlb (KernelPageSize 2048 kB),
 * and writes DIR/verdict.
 */
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>
#include "workload.h"
#include "hugepage.h"

static void fill(unsigned char *p, int seed) {
    for (unsigned long i = 0; i < HP; i++) p[i] = (unsigned char)(i * 5 + seed);
}

static int same(const unsigned char *p, int seed) {
    for (unsigned long i = 0; i < HP; i++) if (p[i] != (unsigned char)(i * 5 + seed)) return 0;
    return 1;
}

static int zero(const unsigned char *p) {
    for (unsigned long i = 0; i < HP; i++) if (p[i]) return 0;
    return 1;
}

static void fail(const char *what) {
    if (!verdict[0]) snprintf(verdict, sizeof verdict, "FAIL %s\n", what);
}

int main(int argc, char **argv) {
    if (argc < 3) return 2;
    snprintf(dir, sizeof dir, "%s", argv[1]);
    unsigned char *a = mmap(NULL, 4 * HP, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS | MAP_HUGETLB, -1, 0);
    if (a == MAP_FAILED) { perror("mmap shared MAP_HUGETLB"); return 3; }
    fill(a, 1);
    char path[4200];
    snprintf(path, sizeof path, "%s/hfile", argv[2]);
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
    if (fd < 0 || ftruncate(fd, 2 * HP)) { perror(path); return 4; }
    unsigned char *f = mmap(NULL, 2 * HP, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    unsigned char *p = mmap(NULL, 2 * HP, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
    if (f == MAP_FAILED || p == MAP_FAILED) { perror("mmap hugetlbfs file"); return 5; }
    close(fd);
    fill(f, 3);
    fill(f + HP, 4);
    fill(p + HP, 5);
    struct sigaction sa = {0};
    sa.sa_handler = on_term;
    sigaction(SIGTERM, &sa, NULL);
    int up[2];
    if (pipe(up)) return 6;
    pid_t c = fork();
    if (c == 0) {
        close(up[0]);
        fill(a + HP, 2);
        if (write(up[1], "x", 1) != 1) _exit(5);
        while (!stop) pause();
        int ok = same(a, 1) && same(a + HP, 2) && zero(a + 2 * HP) && huge_at(a);
        memcpy(a + 2 * HP, "child was here", 15);
        _exit(ok ? 0 : 1);
    }
    close(up[1]);
    char x;
    if (read(up[0], &x, 1) != 1) return 7;
    char buf[256];
    snprintf(buf, sizeof buf, "%lx %lx %lx\n", (unsigned long)a, (unsigned long)f, (unsigned long)p);
    put("addr", buf);
    put_pids_ready(c);
    while (!stop) pause();
    int st = term_child(c);
    if (st < 0) fail("waitpid");
    else if (st) fail("the child saw wrong shared hugetlb pages");
    if (!same(a, 1)) fail("shared hugetlb page 0 (the parent's)");
    if (!same(a + HP, 2)) fail("shared hugetlb page 1 (written by the child before the dump)");
    if (memcmp(a + 2 * HP, "child was here", 15)) fail("the child's write after restore is not in the parent's hugetlb object");
    if (!zero(a + 3 * HP)) fail("untouched shared hugetlb page is not zero");
    if (!same(f, 3) || !same(f + HP, 4)) fail("shared hugetlbfs file mapping contents");
    if (!same(p, 3)) fail("private hugetlbfs mapping: page 0 is not the file's");
    if (!same(p + HP, 5)) fail("private hugetlbfs mapping: the page copied on write");
    if (!huge_at(a)) fail("shared anonymous mapping is not hugetlb any more");
    if (!huge_at(f)) fail("shared file mapping is not hugetlb any more");
    if (!huge_at(p)) fail("private file mapping is not hugetlb any more");
    put("verdict", verdict[0] ? verdict : "PASS\n");
    return 0;
}
