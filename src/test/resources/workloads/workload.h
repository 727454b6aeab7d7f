/* Shared by the self-checking workloads: the SIGTERM flag that ends their wait, the directory
 * they report to, their verdict buffer, and put(), which writes a report file atomically
 * (write a temporary, rename) so the test never reads half a verdict. */
#ifndef JCRIU_WORKLOAD_H
#define JCRIU_WORKLOAD_H
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>

static volatile sig_atomic_t stop;
static void on_term(int s) { (void)s; stop = 1; }
static char dir[4096];
static char verdict[8192];

static void put(const char *name, const char *text) {
    char tmp[4200], dst[4200];
    snprintf(tmp, sizeof tmp, "%s/.%s.tmp", dir, name);
    snprintf(dst, sizeof dst, "%s/%s", dir, name);
    FILE *f = fopen(tmp, "w");
    if (!f) exit(2);
    fputs(text, f);
    fclose(f);
    rename(tmp, dst);
}
#endif
