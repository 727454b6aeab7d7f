/*
 * tree: a process tree of three levels whose every live task counts.
 *
 *   root R (session and group leader, started by setsid -f)
 *   +-- A: setsid(), so it leads a session and group of its own
 *   |   +-- G: stays in A's session and group (a group led by its parent)
 *   +-- B: setpgid(0, 0), its own group inside R's session
 *   +-- Z: exits with code 7 at once and is never reaped: a zombie
 *
 * Every live task counts in its own memory and writes each value on its own line to
 * DIR/ROLE.log through one fd kept open (its file position must survive). On SIGUSR1 a task
 * writes its count to DIR/count-ROLE. DIR/pids holds "R A B G Z" (pids, in that order) and
 * DIR/ready R's pid, once the whole tree is built and Z is a zombie.
 *
 * On SIGTERM R forwards it to A and B, A to G. Each task checks that its log counts 1..n with no
 * gap and no repeat, that its pid, ppid (but R's), sid and pgid are those it had at start, and writes
 * DIR/verdict-ROLE; a parent waits for its children and takes their exit status into account.
 * R also reaps Z and checks its exit code is still 7, then writes DIR/verdict:
 * "PASS ..." or "FAIL <what differs>".
 *
 * "tree DIR uffd": G also holds a userfaultfd, which jcriu cannot dump (a failing dump of a tree).
 * "tree DIR zleader": Z's main thread calls pthread_exit while a second thread sleeps on: Z shows
 * as a zombie with a live thread (which criu refuses to dump); R kills it at the end.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "workload.h"

static volatile sig_atomic_t report;
static void on_usr1(int s) { (void)s; report = 1; }

static const char *role;
static long n;
static pid_t my_pid, my_ppid, my_sid, my_pgid;

static void *sleeper(void *arg) {
    (void)arg;
    for (;;) pause();
    return NULL;
}

static void handlers(void) {
    struct sigaction sa = {0};
    sa.sa_handler = on_term;
    sigaction(SIGTERM, &sa, NULL);
    sa.sa_handler = on_usr1;
    sigaction(SIGUSR1, &sa, NULL);
}

static void remember(void) {
    my_pid = getpid();
    my_ppid = getppid();
    my_sid = getsid(0);
    my_pgid = getpgid(0);
}

/* Appends what differs to verdict; returns 0 when everything checks out. */
static int check_self(void) {
    char path[4200], buf[256];
    int bad = 0;
    if (getpid() != my_pid || (my_ppid != -1 && getppid() != my_ppid) || getsid(0) != my_sid || getpgid(0) != my_pgid) {
        snprintf(buf, sizeof buf, "%s ids pid/ppid/sid/pgid %d/%d/%d/%d, were %d/%d/%d/%d; ", role, getpid(), getppid(),
                 getsid(0), getpgid(0), my_pid, my_ppid, my_sid, my_pgid);
        strncat(verdict, buf, sizeof verdict - strlen(verdict) - 1);
        bad = 1;
    }
    snprintf(path, sizeof path, "%s/%s.log", dir, role);
    FILE *in = fopen(path, "r");
    long expect = 1, v;
    while (in && fscanf(in, "%ld", &v) == 1) {
        if (v != expect) {
            snprintf(buf, sizeof buf, "%s.log has %ld where %ld was expected; ", role, v, expect);
            strncat(verdict, buf, sizeof verdict - strlen(verdict) - 1);
            bad = 1;
            break;
        }
        expect++;
    }
    if (in) fclose(in);
    if (!bad && expect - 1 != n) {
        snprintf(buf, sizeof buf, "%s.log ends at %ld, counter is %ld; ", role, expect - 1, n);
        strncat(verdict, buf, sizeof verdict - strlen(verdict) - 1);
        bad = 1;
    }
    return bad;
}

/* Counts until SIGTERM. */
static void count(void) {
    char path[4200], buf[64];
    snprintf(path, sizeof path, "%s/%s.log", dir, role);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) exit(2);
    struct timespec ts = {0, 10 * 1000 * 1000};
    while (!stop) {
        n++;
        int len = snprintf(buf, sizeof buf, "%ld\n", n);
        if (write(fd, buf, len) != len) exit(3);
        if (report) {
            report = 0;
            snprintf(buf, sizeof buf, "%ld\n", n);
            char name[64];
            snprintf(name, sizeof name, "count-%s", role);
            put(name, buf);
        }
        nanosleep(&ts, NULL);
    }
    close(fd);
}

/* Waits for child pid (retrying on EINTR) and adds a complaint unless it exited 0. */
static int reap(pid_t pid, const char *who) {
    int st;
    pid_t r;
    while ((r = waitpid(pid, &st, 0)) < 0 && errno == EINTR) {}
    char buf[256];
    if (r != pid) {
        snprintf(buf, sizeof buf, "waitpid(%s %d): %s; ", who, pid, strerror(errno));
    } else if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
        snprintf(buf, sizeof buf, "%s ended with status 0x%x; ", who, st);
    } else {
        return 0;
    }
    strncat(verdict, buf, sizeof verdict - strlen(verdict) - 1);
    return 1;
}

/* The end of a task: its own checks, its child's, and its verdict file. */
static int finish(pid_t child, const char *child_role) {
    int bad = check_self();
    if (child > 0) {
        kill(child, SIGTERM);
        bad |= reap(child, child_role);
    }
    char name[64];
    snprintf(name, sizeof name, "verdict-%s", role);
    if (bad) {
        static char out[sizeof verdict + 8];
        snprintf(out, sizeof out, "FAIL %s\n", verdict);
        put(name, out);
    } else {
        put(name, "PASS\n");
    }
    return bad;
}

int main(int argc, char **argv) {
    if (argc < 2) return 2;
    snprintf(dir, sizeof dir, "%s", argv[1]);
    handlers();
    role = "R";
    remember();
    /* R's parent is whoever started it (setsid -f's fork exits while R runs, a restore makes it
     * the restorer's child): only the ppids inside the tree are checked. */
    my_ppid = -1;

    int zleader = argc > 2 && !strcmp(argv[2], "zleader");
    pid_t z = fork();
    if (z == 0) {
        if (zleader) {
            pthread_t t;
            if (pthread_create(&t, NULL, sleeper, NULL)) _exit(5);
            pthread_exit(NULL);
        }
        _exit(7);
    }

    pid_t a = fork();
    if (a == 0) {
        role = "A";
        setsid();
        remember();
        pid_t g = fork();
        if (g == 0) {
            role = "G";
            remember();
            if (argc > 2 && !strcmp(argv[2], "uffd") && syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK) < 0) _exit(4);
            put("started-G", "1\n");
            count();
            return finish(0, NULL);
        }
        put("started-A", "1\n");
        count();
        return finish(g, "G");
    }
    pid_t b = fork();
    if (b == 0) {
        role = "B";
        setpgid(0, 0);
        remember();
        put("started-B", "1\n");
        count();
        return finish(0, NULL);
    }
    /* G's pid is A's business: R learns it from /proc/A/task/A/children. */
    wait_file("started-A");
    wait_file("started-B");
    wait_file("started-G");
    siginfo_t si;
    memset(&si, 0, sizeof si);
    if (zleader) {
        /* the leader is a zombie once its thread group shows it so */
        char st[4200], line[256];
        snprintf(st, sizeof st, "/proc/%d/status", z);
        for (int done = 0, i = 0; !done && i < 20000; i++) {
            FILE *f = fopen(st, "r");
            while (f && fgets(line, sizeof line, f)) if (!strncmp(line, "State:\tZ", 8)) done = 1;
            if (f) fclose(f);
            if (!done) { struct timespec ts = {0, 1000 * 1000}; nanosleep(&ts, NULL); }
        }
    } else {
        while (waitid(P_PID, z, &si, WEXITED | WNOWAIT) < 0 && errno == EINTR) {}
    }
    char path[4200], kids[256] = "", buf[512];
    snprintf(path, sizeof path, "/proc/%d/task/%d/children", a, a);
    FILE *f = fopen(path, "r");
    if (f) {
        if (!fgets(kids, sizeof kids, f)) kids[0] = 0;
        fclose(f);
    }
    int g = atoi(kids);
    snprintf(buf, sizeof buf, "%d %d %d %d %d\n", getpid(), a, b, g, z);
    put("pids", buf);
    snprintf(buf, sizeof buf, "%d\n", getpid());
    put("ready", buf);

    count();
    int bad = check_self();
    kill(a, SIGTERM);
    kill(b, SIGTERM);
    bad |= reap(a, "A");
    bad |= reap(b, "B");
    int st;
    pid_t r;
    if (zleader) kill(z, SIGKILL);
    while ((r = waitpid(z, &st, 0)) < 0 && errno == EINTR) {}
    if (zleader) {
        if (r != z || !WIFSIGNALED(st)) {
            snprintf(buf, sizeof buf, "Z %d with its thread: waitpid %d status 0x%x; ", z, r, r == z ? st : 0);
            strncat(verdict, buf, sizeof verdict - strlen(verdict) - 1);
            bad = 1;
        }
    } else if (r != z || !WIFEXITED(st) || WEXITSTATUS(st) != 7) {
        snprintf(buf, sizeof buf, "zombie Z %d: waitpid %d status 0x%x, expected exit code 7; ", z, r, r == z ? st : 0);
        strncat(verdict, buf, sizeof verdict - strlen(verdict) - 1);
        bad = 1;
    }
    if (bad) {
        static char out[sizeof verdict + 8];
        snprintf(out, sizeof out, "FAIL %s\n", verdict);
        put("verdict", out);
    } else {
        snprintf(buf, sizeof buf, "PASS R=%ld\n", n);
        put("verdict", buf);
    }
    return bad;
}
