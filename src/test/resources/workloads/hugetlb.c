/*
 * hugetlb DIR: two 2 MiB huge pages of private MAP_HUGETLB memory, the first written, the second
 * never touched, and a SysV segment of huge pages (SHM_HUGETLB) attached and written; needs
 * 3 free huge pages. Writes "shmid N" to DIR/shmid. On SIGTERM checks the contents and that
 * the huge pages are still huge (the mapping is still hugetlb: KernelPageSize 2048 kB).
 */
#include <string.h>
#include <sys/mman.h>
#include <sys/shm.h>
#include <unistd.h>
#include "workload.h"
#include "hugepage.h"

static void fail(const char *what) {
    if (!verdict[0]) snprintf(verdict, sizeof verdict, "FAIL %s\n", what);
}

int main(int argc, char **argv) {
    if (argc < 2) return 2;
    snprintf(dir, sizeof dir, "%s", argv[1]);
    unsigned char *p = mmap(NULL, 2 * HP, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB, -1, 0);
    if (p == MAP_FAILED) { perror("mmap MAP_HUGETLB"); return 3; }
    for (unsigned long i = 0; i < HP; i++) p[i] = (unsigned char)(i * 31 + 7);
    int shmid = shmget(IPC_PRIVATE, HP, IPC_CREAT | SHM_HUGETLB | 0600);
    if (shmid < 0) { perror("shmget SHM_HUGETLB"); return 4; }
    char buf[128];
    snprintf(buf, sizeof buf, "shmid %d\n", shmid);
    put("shmid", buf);
    unsigned char *s = shmat(shmid, NULL, 0);
    if (s == (void *)-1) { perror("shmat"); return 5; }
    for (unsigned long i = 0; i < HP; i++) s[i] = (unsigned char)(i * 17 + 3);
    struct sigaction sa = {0};
    sa.sa_handler = on_term;
    sigaction(SIGTERM, &sa, NULL);
    snprintf(buf, sizeof buf, "%d\n", getpid());
    put("ready", buf);
    while (!stop) pause();

    for (unsigned long i = 0; i < HP; i++) if (p[i] != (unsigned char)(i * 31 + 7)) { fail("hugetlb page contents"); break; }
    for (unsigned long i = HP; i < 2 * HP; i++) if (p[i]) { fail("untouched huge page not zero"); break; }
    for (unsigned long i = 0; i < HP; i++) if (s[i] != (unsigned char)(i * 17 + 3)) { fail("SysV hugetlb segment contents"); break; }
    if (!huge_at(p)) fail("private mapping is not hugetlb any more");
    if (!huge_at(s)) fail("SysV attachment is not hugetlb any more");
    shmdt(s);
    shmctl(shmid, IPC_RMID, NULL);
    put("verdict", verdict[0] ? verdict : "PASS\n");
    return 0;
}
