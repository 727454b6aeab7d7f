/* unsupported DIR KIND: holds one fd of a kind jcriu cannot dump (userfaultfd, perf_event or
 * io_uring) next to an eventfd it can, writes its pid to DIR/ready and waits. On SIGTERM it
 * checks the fds are still what they were (a refused dump must leave the task untouched) and
 * writes DIR/verdict. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <linux/perf_event.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "report.h"

static volatile sig_atomic_t term;
static void on_term(int s) { (void)s; term = 1; }

int main(int argc, char **argv) {
    if (argc < 3) return 2;
    int efd = eventfd(7, EFD_NONBLOCK);
    int fd = -1;
    if (!strcmp(argv[2], "userfaultfd")) {
        fd = syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK);
    } else if (!strcmp(argv[2], "perf_event")) {
        struct perf_event_attr a;
        memset(&a, 0, sizeof a);
        a.size = sizeof a;
        a.type = PERF_TYPE_SOFTWARE;
        a.config = PERF_COUNT_SW_TASK_CLOCK;
        fd = syscall(SYS_perf_event_open, &a, 0, -1, -1, 0);
    } else if (!strcmp(argv[2], "io_uring")) {
        char params[120];
        memset(params, 0, sizeof params);
        fd = syscall(425 /* io_uring_setup */, 4, params);
    }
    if (fd < 0) { perror(argv[2]); return 3; }
    struct sigaction sa = { .sa_handler = on_term };
    sigaction(SIGTERM, &sa, NULL);
    put_ready(argv[1]);
    while (!term) pause();
    uint64_t v = 0;
    const char *verdict = "PASS\n";
    if (read(efd, &v, 8) != 8 || v != 7) verdict = "FAIL eventfd counter changed\n";
    if (fcntl(fd, F_GETFD) < 0) verdict = "FAIL the unsupported fd is gone\n";
    put_in(argv[1], "verdict", verdict);
    return 0;
}
