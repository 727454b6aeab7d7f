/* timer DIR: holds a POSIX timer (timer_create) and sleeps. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv) {
    if (argc < 2) return 2;
    timer_t t;
    struct sigevent ev = {.sigev_notify = SIGEV_NONE};
    if (timer_create(CLOCK_MONOTONIC, &ev, &t)) return 2;
    char tmp[4096], dst[4096];
    snprintf(tmp, sizeof tmp, "%s/.ready.tmp", argv[1]);
    snprintf(dst, sizeof dst, "%s/ready", argv[1]);
    FILE *f = fopen(tmp, "w");
    fprintf(f, "%d\n", getpid());
    fclose(f);
    rename(tmp, dst);
    for (;;) pause();
}
