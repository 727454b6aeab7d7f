/*
 * fowntree DIR: SIGIO owners of files shared by a parent P and its child C (one struct file
 * each, inherited across fork), the owner being C although P is the first task to hold them:
 *   fds 5, 6  a pipe, in both; C makes itself the owner of the read end (F_OWNER_PID), signal
 *             SIGRTMIN+1, O_ASYNC
 *   fd 7      DIR/data, in both; C makes its (main) thread the owner (F_OWNER_TID), signal SIGUSR2
 * On SIGTERM P passes it on to C; C checks owners, signals and O_ASYNC, writes into fd 6 and must
 * get SIGRTMIN+1 with si_fd 5 (P must not); C's findings come back in its exit status and
 * DIR/cverdict. P checks the owners as it sees them (the same struct files), waits for C and
 * writes DIR/verdict. DIR/pids holds "P C".
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>
#include "workload.h"

static volatile sig_atomic_t got, got_fd = -1;
static void on_io(int s, siginfo_t *si, void *u) { (void)s; (void)u; got++; got_fd = si->si_fd; }

static void add(const char *who, const char *what, long a, long b) {
    snprintf(verdict + strlen(verdict), sizeof verdict - strlen(verdict), "%s: %s (%ld, expected %ld); ", who, what, a, b);
}

static void check_owner(const char *who, int fd, int type, int pid, int sig) {
    struct f_owner_ex o = {0};
    if (fcntl(fd, F_GETOWN_EX, &o)) add(who, "F_GETOWN_EX failed", errno, 0);
    if (o.type != type) add(who, fd == 5 ? "fd 5 owner type" : "fd 7 owner type", o.type, type);
    if (o.pid != pid) add(who, fd == 5 ? "fd 5 owner pid" : "fd 7 owner pid", o.pid, pid);
    int s = fcntl(fd, F_GETSIG);
    if (s != sig) add(who, fd == 5 ? "fd 5 signal" : "fd 7 signal", s, sig);
}

static int child(void) {
    pid_t me = getpid();
    struct f_owner_ex o = {.type = F_OWNER_TID, .pid = (pid_t)syscall(SYS_gettid)};
    if (fcntl(5, F_SETOWN, me) || fcntl(5, F_SETSIG, SIGRTMIN + 1) || fcntl(5, F_SETFL, fcntl(5, F_GETFL) | O_ASYNC)) return 3;
    if (fcntl(7, F_SETOWN_EX, &o) || fcntl(7, F_SETSIG, SIGUSR2)) return 3;
    put("cready", "1\n");
    while (!stop) pause();
    check_owner("C", 5, F_OWNER_PID, me, SIGRTMIN + 1);
    check_owner("C", 7, F_OWNER_TID, me, SIGUSR2);
    if (!(fcntl(5, F_GETFL) & O_ASYNC)) add("C", "fd 5 lost O_ASYNC", 0, 1);
    got = 0;
    if (write(6, "x", 1) != 1) add("C", "write to the pipe failed", errno, 0);
    for (int i = 0; i < 200 && !got; i++) usleep(10000);
    if (!got) add("C", "no SIGRTMIN+1 after writing the O_ASYNC pipe", 0, 1);
    else if (got_fd != 5) add("C", "si_fd of the signal", got_fd, 5);
    put("cverdict", verdict[0] ? verdict : "PASS\n");
    return verdict[0] ? 1 : 0;
}

int main(int argc, char **argv) {
    if (argc < 2) return 2;
    snprintf(dir, sizeof dir, "%s", argv[1]);
    struct sigaction io = {0};
    io.sa_sigaction = on_io;
    io.sa_flags = SA_SIGINFO;
    sigaction(SIGRTMIN + 1, &io, NULL);
    sigaction(SIGUSR2, &io, NULL);
    struct sigaction sa = {0};
    sa.sa_handler = on_term;
    sigaction(SIGTERM, &sa, NULL);
    int pp[2];
    char path[4200], text[64];
    if (pipe(pp) || dup2(pp[0], 5) != 5 || dup2(pp[1], 6) != 6) return 2;
    close(pp[0]);
    close(pp[1]);
    snprintf(path, sizeof path, "%s/data", dir);
    int f = open(path, O_RDWR | O_CREAT, 0600);
    if (f < 0 || dup2(f, 7) != 7) return 2;
    close(f);
    pid_t c = fork();
    if (c < 0) return 2;
    if (c == 0) _exit(child());
    snprintf(path, sizeof path, "%s/cready", dir);
    while (access(path, F_OK)) usleep(1000);
    snprintf(text, sizeof text, "%d %d\n", getpid(), c);
    put("pids", text);
    snprintf(text, sizeof text, "%d\n", getpid());
    put("ready", text);
    while (!stop) pause();

    check_owner("P", 5, F_OWNER_PID, c, SIGRTMIN + 1);
    check_owner("P", 7, F_OWNER_TID, c, SIGUSR2);
    kill(c, SIGTERM);
    int st = 0;
    if (waitpid(c, &st, 0) != c || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
        char cv[4096] = "";
        snprintf(path, sizeof path, "%s/cverdict", dir);
        FILE *in = fopen(path, "r");
        if (in) {
            if (!fgets(cv, sizeof cv, in)) cv[0] = 0;
            fclose(in);
        }
        snprintf(verdict + strlen(verdict), sizeof verdict - strlen(verdict), "C ended with status 0x%x: %s; ", st, cv);
    }
    if (got) add("P", "P got a SIGIO meant for C", got, 0);
    put("verdict", verdict[0] ? verdict : "PASS\n");
    return 0;
}
