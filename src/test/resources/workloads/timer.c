/* timer DIR: holds a POSIX timer (timer_create) and sleeps. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
#include "report.h"

int main(int argc, char **argv) {
    if (argc < 2) return 2;
    timer_t t;
    struct sigevent ev = {.sigev_notify = SIGEV_NONE};
    if (timer_create(CLOCK_MONOTONIC, &ev, &t)) return 2;
    put_ready(argv[1]);
    for (;;) pause();
}
