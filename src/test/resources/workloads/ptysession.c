/*
 * ptysession DIR: a session with a pty as controlling terminal, its leader and two members, and
 * the pty's ends held so that the slave comes before the master in the tree's order:
 *
 *   R  the root (a session and group of its own, no controlling terminal): opens the pty, keeps
 *      only a slave (fd 5, O_NOCTTY) and reads from it at the end
 *   K  child of R: keeps the master (fd 7) and nothing else of the pty; writes "ping\n" into it
 *   L  child of R: setsid, the slave as controlling terminal (fds 0, 1, 2); makes M2's group
 *      the terminal's foreground group
 *   M1 child of L: in L's group, /dev/tty open at fd 9
 *   M2 child of L: a process group of its own, in the foreground
 *
 * On SIGTERM R passes it on to L, which passes it on to M1 and M2: each of L, M1 and M2 checks
 * that it has a controlling terminal, that /dev/tty opens and is the pty, that the foreground
 * group is M2's and its session L's; M1 also writes through its old /dev/tty fd. Each writes its
 * findings to DIR/v-NAME and exits 0 only when all is well. Then R has K write "ping\n" into the
 * master and reads it from its slave. DIR/pids holds "R K L M1 M2".
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>
#include "workload.h"

static char who[8];
static dev_t pty_rdev;
static pid_t fg;

static void add(const char *what, long a, long b) {
    snprintf(verdict + strlen(verdict), sizeof verdict - strlen(verdict), "%s: %s (%ld, expected %ld); ", who, what, a, b);
}

static void wait_term(void) {
    while (!stop) pause();
}

/* tty_nr of /proc/self/stat: the controlling terminal (new_encode_dev, as st_rdev for a pty). */
static long ctty_nr(void) {
    char b[1024];
    FILE *f = fopen("/proc/self/stat", "r");
    if (!f) return -1;
    size_t n = fread(b, 1, sizeof b - 1, f);
    fclose(f);
    b[n] = 0;
    char *p = strrchr(b, ')');
    long nr = -1;
    if (!p || sscanf(p + 2, "%*c %*d %*d %*d %ld", &nr) != 1) return -1;
    return nr;
}

/* What L, M1 and M2 check after the restore: their terminal, as a member of session sid. */
static void check_ctty(pid_t sid) {
    int t = open("/dev/tty", O_RDWR);
    if (t < 0) {
        add("open(/dev/tty) failed, errno", errno, 0);
        return;
    }
    if (ctty_nr() != (long)pty_rdev) add("controlling terminal (tty_nr)", ctty_nr(), (long)pty_rdev);
    if (tcgetpgrp(t) != fg) add("foreground group", tcgetpgrp(t), fg);
    if (tcgetsid(t) != sid) add("terminal's session", tcgetsid(t), sid);
    if (getsid(0) != sid) add("session", getsid(0), sid);
    close(t);
}

/* M2's pid, the expected foreground group, from DIR/pids (M1 is forked before M2 exists). */
static pid_t m2_from_pids(void) {
    char p[4200];
    snprintf(p, sizeof p, "%s/pids", dir);
    FILE *f = fopen(p, "r");
    int r = 0, k = 0, l = 0, a = 0, b = 0;
    if (!f) return -1;
    if (fscanf(f, "%d %d %d %d %d", &r, &k, &l, &a, &b) != 5) b = -1;
    fclose(f);
    return b;
}

static int member(const char *name, pid_t sid) {
    snprintf(who, sizeof who, "%s", name);
    verdict[0] = 0;
    wait_term();
    fg = m2_from_pids();
    check_ctty(sid);
    if (!strcmp(name, "M1")) {
        if (tcgetsid(9) != sid) add("session of the terminal of fd 9 (/dev/tty)", tcgetsid(9), sid);
        if (write(9, "", 0) < 0) add("write through fd 9 (/dev/tty) failed, errno", errno, 0);
    }
    char f[64];
    snprintf(f, sizeof f, "v-%s", name);
    put(f, verdict[0] ? verdict : "PASS\n");
    return verdict[0] ? 1 : 0;
}

int main(int argc, char **argv) {
    if (argc < 2) return 2;
    snprintf(dir, sizeof dir, "%s", argv[1]);
    struct sigaction sa = {0};
    sa.sa_handler = on_term;
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGTTOU, SIG_IGN);
    if (getsid(0) != getpid() && setsid() < 0) return 2;
    int m = posix_openpt(O_RDWR | O_NOCTTY);
    if (m < 0 || grantpt(m) || unlockpt(m)) return 2;
    char name[64];
    snprintf(name, sizeof name, "%s", ptsname(m));
    if (dup2(m, 7) != 7) return 2;
    close(m);
    int s = open(name, O_RDWR | O_NOCTTY);
    if (s < 0 || dup2(s, 5) != 5) return 2;
    close(s);
    struct stat st;
    if (fstat(5, &st)) return 2;
    pty_rdev = st.st_rdev;
    int sync[2];
    if (pipe(sync)) return 2;

    pid_t k = fork();
    if (k == 0) {
        snprintf(who, sizeof who, "K");
        close(5);
        close(sync[0]);
        close(sync[1]);
        wait_term();
        if (write(7, "ping\n", 5) != 5) return 1;
        for (;;) pause(); /* R kills it once it read the ping: the master must outlive the read */
    }
    close(7);
    int lp[2];
    if (pipe(lp)) return 2;
    pid_t l = fork();
    if (l == 0) {
        snprintf(who, sizeof who, "L");
        close(lp[0]);
        if (setsid() < 0) return 3;
        int c = open(name, O_RDWR); /* no O_NOCTTY: the session's controlling terminal */
        if (c < 0 || dup2(c, 0) < 0 || dup2(c, 1) < 0 || dup2(c, 2) < 0) return 3;
        if (c > 2) close(c);
        close(5);
        pid_t m1 = fork();
        if (m1 == 0) {
            if (dup2(open("/dev/tty", O_RDWR), 9) != 9) _exit(3);
            _exit(member("M1", getsid(0)));
        }
        int gp[2];
        if (pipe(gp)) return 3;
        pid_t m2 = fork();
        if (m2 == 0) {
            setpgid(0, 0);
            close(gp[0]);
            close(gp[1]);
            fg = getpid();
            _exit(member("M2", getsid(0)));
        }
        close(gp[0]);
        close(gp[1]);
        setpgid(m2, m2);
        if (tcsetpgrp(0, m2)) return 3;
        fg = m2;
        char text[64];
        snprintf(text, sizeof text, "%d %d", m1, m2);
        if (write(lp[1], text, strlen(text) + 1) < 0) return 3;
        close(lp[1]);
        wait_term();
        check_ctty(getpid());
        kill(m1, SIGTERM);
        kill(m2, SIGTERM);
        int st1 = 0, st2 = 0;
        if (waitpid(m1, &st1, 0) != m1 || !WIFEXITED(st1) || WEXITSTATUS(st1)) add("M1 failed, status", st1, 0);
        if (waitpid(m2, &st2, 0) != m2 || !WIFEXITED(st2) || WEXITSTATUS(st2)) add("M2 failed, status", st2, 0);
        put("v-L", verdict[0] ? verdict : "PASS\n");
        _exit(verdict[0] ? 1 : 0);
    }
    close(lp[1]);
    close(sync[0]);
    close(sync[1]);
    char kids[64] = "";
    if (read(lp[0], kids, sizeof kids - 1) <= 0) return 2;
    close(lp[0]);
    /* M1 and M2 exist and M2 leads the foreground: M1 made its /dev/tty fd before L forked M2 */
    usleep(100000);
    char text[128];
    snprintf(text, sizeof text, "%d %d %d %s\n", getpid(), k, l, kids);
    put("pids", text);
    snprintf(text, sizeof text, "%d\n", getpid());
    put("ready", text);
    snprintf(who, sizeof who, "R");
    wait_term();

    kill(l, SIGTERM);
    int stl = 0;
    if (waitpid(l, &stl, 0) != l || !WIFEXITED(stl) || WEXITSTATUS(stl)) add("L's session failed, status", stl, 0);
    kill(k, SIGTERM);
    char buf[16] = "";
    int got = 0;
    while (got < 5) {
        struct pollfd p = {.fd = 5, .events = POLLIN};
        if (poll(&p, 1, 3000) != 1) break;
        int n = read(5, buf + got, 5 - got);
        if (n <= 0) break;
        got += n;
    }
    if (got != 5 || memcmp(buf, "ping\n", 5)) add("the slave did not read ping from the master, bytes", got, 5);
    kill(k, SIGKILL);
    waitpid(k, NULL, 0);
    put("verdict", verdict[0] ? verdict : "PASS\n");
    return 0;
}
