/*
 * counter: counts in memory and writes every value on its own line to DIR/counter.log through
 * one fd kept open (the file position must survive), and keeps 8 MiB of patterned heap.
 * Protocol (shared by every workload): DIR/ready holds the pid once the state is built;
 * on SIGTERM the program checks its state and writes DIR/verdict ("PASS ..." or "FAIL ...").
 * After a restore the count must carry on from where it was, with no gap and no repeat.
 */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "workload.h"


int main(int argc, char **argv) {
    if (argc < 2) return 2;
    snprintf(dir, sizeof dir, "%s", argv[1]);
    char path[4096], buf[256];
    snprintf(path, sizeof path, "%s/counter.log", dir);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) return 2;
    size_t heap_len = 8 << 20;
    unsigned char *heap = malloc(heap_len);
    for (size_t i = 0; i < heap_len; i++) heap[i] = (unsigned char)(i * 31 + 7);
    struct sigaction sa = {0};
    sa.sa_handler = on_term;
    sigaction(SIGTERM, &sa, NULL);
    long n = 0;
    struct timespec ts = {0, 5 * 1000 * 1000};
    while (!stop) {
        n++;
        int len = snprintf(buf, sizeof buf, "%ld\n", n);
        if (write(fd, buf, len) != len) { put("verdict", "FAIL write\n"); return 1; }
        if (n == 3) { snprintf(buf, sizeof buf, "%d\n", getpid()); put("ready", buf); }
        nanosleep(&ts, NULL);
    }
    for (size_t i = 0; i < heap_len; i++)
        if (heap[i] != (unsigned char)(i * 31 + 7)) {
            snprintf(buf, sizeof buf, "FAIL heap byte %zu\n", i);
            put("verdict", buf);
            return 1;
        }
    FILE *in = fopen(path, "r");
    long expect = 1, v;
    while (in && fscanf(in, "%ld", &v) == 1) {
        if (v != expect) {
            snprintf(buf, sizeof buf, "FAIL counter.log has %ld where %ld was expected\n", v, expect);
            put("verdict", buf);
            return 1;
        }
        expect++;
    }
    if (expect - 1 != n) {
        snprintf(buf, sizeof buf, "FAIL counter.log ends at %ld, counter is %ld\n", expect - 1, n);
        put("verdict", buf);
        return 1;
    }
    snprintf(buf, sizeof buf, "PASS counter=%ld\n", n);
    put("verdict", buf);
    return 0;
}
