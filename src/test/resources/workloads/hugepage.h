/* For the hugetlb workloads: HP, the 2 MiB huge page they use, and huge_at(), whether the
 * mapping that starts at an address is still backed by huge pages (its KernelPageSize in
 * /proc/self/smaps), which a restore that mapped it as ordinary memory would change. */
#ifndef JCRIU_HUGEPAGE_H
#define JCRIU_HUGEPAGE_H
#include <stdio.h>
#include <string.h>

#define HP (2UL << 20)

static inline int huge_at(void *p) {
    char line[256], want[64];
    snprintf(want, sizeof want, "%lx-", (unsigned long)p);
    FILE *f = fopen("/proc/self/smaps", "r");
    int in = 0, huge = 0;
    while (fgets(line, sizeof line, f)) {
        if (!strncmp(line, want, strlen(want))) in = 1;
        else if (in && !strncmp(line, "KernelPageSize:", 15)) { huge = strstr(line, " 2048 kB") != NULL; break; }
    }
    fclose(f);
    return huge;
}
#endif
