/* put_in(): how every C workload writes a report file (ready, verdict, tids, ...) into the
 * directory the test gave it: a temporary then rename(2), so the test, which polls for the
 * file, never reads half of it. workload.h builds on it; workloads with signal handling of
 * their own include only this. */
#ifndef JCRIU_REPORT_H
#define JCRIU_REPORT_H
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static inline void put_in(const char *dir, const char *name, const char *text) {
    char tmp[4200], dst[4200];
    snprintf(tmp, sizeof tmp, "%s/.%s.tmp", dir, name);
    snprintf(dst, sizeof dst, "%s/%s", dir, name);
    FILE *f = fopen(tmp, "w");
    if (!f) exit(2);
    fputs(text, f);
    fclose(f);
    rename(tmp, dst);
}

/* The pid line the test waits for in DIR/ready. */
static inline void put_ready(const char *dir) {
    char buf[32];
    snprintf(buf, sizeof buf, "%d\n", (int)getpid());
    put_in(dir, "ready", buf);
}
#endif
