/*
 * hugetlbmemfd DIR: a memfd made with MFD_HUGETLB (2 huge pages), mapped shared (huge page 0
 * written) and private (huge page 1 written, copied on write), its fd closed: only the mappings
 * hold it. Needs 4 free 2 MiB huge pages. DIR/addr holds "S P". On SIGTERM checks the contents
 * (page 1 of the shared mapping still zero, page 0 of the private one the memfd's) and that
 * both mappings are still hugetlb, and writes DIR/verdict.
 */
#define _GNU_SOURCE
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include "workload.h"
#include "hugepage.h"

static void fail(const char *what) {
    if (!verdict[0]) snprintf(verdict, sizeof verdict, "FAIL %s\n", what);
}

int main(int argc, char **argv) {
    if (argc < 2) return 2;
    snprintf(dir, sizeof dir, "%s", argv[1]);
    int fd = memfd_create("jcriu-huge", MFD_HUGETLB);
    if (fd < 0 || ftruncate(fd, 2 * HP)) { perror("memfd_create MFD_HUGETLB"); return 3; }
    unsigned char *s = mmap(NULL, 2 * HP, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    unsigned char *p = mmap(NULL, 2 * HP, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
    if (s == MAP_FAILED || p == MAP_FAILED) { perror("mmap memfd"); return 4; }
    close(fd);
    for (unsigned long i = 0; i < HP; i++) s[i] = (unsigned char)(i * 11 + 1);
    for (unsigned long i = 0; i < HP; i++) p[HP + i] = (unsigned char)(i * 13 + 2);
    struct sigaction sa = {0};
    sa.sa_handler = on_term;
    sigaction(SIGTERM, &sa, NULL);
    char buf[128];
    snprintf(buf, sizeof buf, "%lx %lx\n", (unsigned long)s, (unsigned long)p);
    put("addr", buf);
    snprintf(buf, sizeof buf, "%d\n", getpid());
    put("ready", buf);
    while (!stop) pause();
    for (unsigned long i = 0; i < HP; i++) if (s[i] != (unsigned char)(i * 11 + 1)) { fail("shared mapping page 0"); break; }
    for (unsigned long i = 0; i < HP; i++) if (s[HP + i]) { fail("shared mapping page 1 is not zero"); break; }
    for (unsigned long i = 0; i < HP; i++) if (p[i] != (unsigned char)(i * 11 + 1)) { fail("private mapping page 0 is not the memfd's"); break; }
    for (unsigned long i = 0; i < HP; i++) if (p[HP + i] != (unsigned char)(i * 13 + 2)) { fail("private mapping's copied page"); break; }
    s[HP] = 9;
    if (p[HP] != 2) fail("the private copy follows the memfd");
    if (!huge_at(s) || !huge_at(p)) fail("a mapping is not hugetlb any more");
    put("verdict", verdict[0] ? verdict : "PASS\n");
    return 0;
}
