/* anonfds DIR KIND: holds anonymous-inode files of one KIND (eventfd, epoll, signalfd, timerfd,
 * inotify, memfd, pidfd) or of every kind ("all"), writes its pid to DIR/ready, waits for
 * SIGTERM, then checks that each file still behaves as it did and writes DIR/verdict ("PASS" or
 * "FAIL" and what differs). signalfd and all expect a SIGUSR1 sent after restore. In timerfd
 * mode the main loop reads a periodic timer and appends "REALTIME_MS TICKS" to DIR/fires. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/fanotify.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/mman.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef PIDFD_NONBLOCK
#define PIDFD_NONBLOCK O_NONBLOCK
#endif

static const char *dir;
static char fails[8192];
static volatile sig_atomic_t term, usr2;

static void on_term(int s) { (void)s; term = 1; }
static void on_usr2(int s) { (void)s; usr2++; }

static void fail(const char *fmt, ...) {
    char b[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(b, sizeof b, fmt, ap);
    va_end(ap);
    if (strlen(fails) + strlen(b) + 3 < sizeof fails) {
        strcat(fails, "; ");
        strcat(fails, b);
    }
}

static void path(char *out, const char *name) { snprintf(out, 4096, "%s/%s", dir, name); }

static void write_atomic(const char *name, const char *text) {
    char tmp[4096], dst[4096];
    snprintf(tmp, sizeof tmp, "%s/.%s.tmp", dir, name);
    path(dst, name);
    FILE *f = fopen(tmp, "w");
    fputs(text, f);
    fclose(f);
    rename(tmp, dst);
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* The lines of /proc/self/fdinfo/FD starting with PREFIX, with " pos:"/" ino:" and later words
 * cut, sorted (epoll lists its watches in the order of kernel addresses). */
static void fdinfo_lines(int fd, const char *prefix, char *out, size_t n) {
    char p[64], line[512], *lines[64];
    int count = 0;
    snprintf(p, sizeof p, "/proc/self/fdinfo/%d", fd);
    FILE *f = fopen(p, "r");
    out[0] = 0;
    if (!f) return;
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, prefix, strlen(prefix))) continue;
        char *cut = strstr(line, " pos:");
        if (!cut) cut = strstr(line, " ino:");
        if (cut) strcpy(cut, "\n");
        if (count < 64) lines[count++] = strdup(line);
    }
    fclose(f);
    qsort(lines, count, sizeof lines[0], cmp_str);
    for (int i = 0; i < count; i++) {
        if (strlen(out) + strlen(lines[i]) < n) strcat(out, lines[i]);
        free(lines[i]);
    }
}

static long fdinfo_num(int fd, const char *key, int base) {
    char all[2048];
    fdinfo_lines(fd, key, all, sizeof all);
    if (!all[0]) return -999;
    return strtol(all + strlen(key) + 1, NULL, base);
}

/* ---- eventfd */
static int e1, e2, e3;
static void eventfd_setup(void) {
    e1 = eventfd(42, EFD_NONBLOCK | EFD_CLOEXEC);
    e2 = eventfd(3, EFD_SEMAPHORE | EFD_NONBLOCK);
    e3 = eventfd(0, 0);
    uint64_t big = 5000000000ULL;
    write(e3, &big, 8);
}
static void eventfd_verify(void) {
    uint64_t v = 0;
    if (!(fcntl(e1, F_GETFL) & O_NONBLOCK)) fail("eventfd e1 lost O_NONBLOCK");
    if (!(fcntl(e1, F_GETFD) & FD_CLOEXEC)) fail("eventfd e1 lost FD_CLOEXEC");
    if (fcntl(e3, F_GETFL) & O_NONBLOCK) fail("eventfd e3 became O_NONBLOCK");
    if (read(e1, &v, 8) != 8 || v != 42) fail("eventfd e1 read %llu, not 42", (unsigned long long)v);
    if (read(e1, &v, 8) != -1 || errno != EAGAIN) fail("eventfd e1 not empty after one read");
    if (fdinfo_num(e2, "eventfd-semaphore", 10) != 1) fail("eventfd e2 is no longer a semaphore");
    for (int i = 0; i < 3; i++) {
        v = 0;
        if (read(e2, &v, 8) != 8 || v != 1) { fail("semaphore eventfd read %d gave %llu (errno %d)", i, (unsigned long long)v, errno); break; }
    }
    if (read(e2, &v, 8) != -1 || errno != EAGAIN) fail("semaphore eventfd not empty after 3 reads");
    v = 0;
    if (read(e3, &v, 8) != 8 || v != 5000000000ULL) fail("eventfd e3 read %llu, not 5000000000", (unsigned long long)v);
}

/* ---- epoll: the epolls are made before the files they watch, so their fds are lower */
static int ep, ep_in, ev_fd, pp[2];
static char ep_before[2048], ep_in_before[2048];
static void epoll_setup(void) {
    ep = epoll_create1(0);
    ep_in = epoll_create1(EPOLL_CLOEXEC);
    ev_fd = eventfd(1, EFD_NONBLOCK);
    pipe(pp);
    write(pp[1], "x", 1);
    struct epoll_event e = { .events = EPOLLIN, .data.u64 = 0x1111222233334444ULL };
    epoll_ctl(ep, EPOLL_CTL_ADD, ev_fd, &e);
    e.data.u64 = 0xabcd;
    epoll_ctl(ep, EPOLL_CTL_ADD, pp[0], &e);
    e.events = EPOLLOUT | EPOLLET;
    e.data.u64 = 0x77;
    epoll_ctl(ep, EPOLL_CTL_ADD, pp[1], &e);
    e.events = EPOLLIN;
    e.data.u64 = 5;
    epoll_ctl(ep_in, EPOLL_CTL_ADD, ev_fd, &e);
    e.data.u64 = 9;
    epoll_ctl(ep, EPOLL_CTL_ADD, ep_in, &e);
    fdinfo_lines(ep, "tfd:", ep_before, sizeof ep_before);
    fdinfo_lines(ep_in, "tfd:", ep_in_before, sizeof ep_in_before);
}
static void epoll_verify(void) {
    char now[2048];
    fdinfo_lines(ep, "tfd:", now, sizeof now);
    if (strcmp(now, ep_before)) fail("epoll watches [%s], not [%s]", now, ep_before);
    fdinfo_lines(ep_in, "tfd:", now, sizeof now);
    if (strcmp(now, ep_in_before)) fail("inner epoll watches [%s], not [%s]", now, ep_in_before);
    struct epoll_event evs[8];
    int n = epoll_wait(ep, evs, 8, 0);
    int seen = 0;
    for (int i = 0; i < n; i++) {
        uint64_t d = evs[i].data.u64;
        uint32_t m = evs[i].events;
        if (d == 0x1111222233334444ULL && m == EPOLLIN) seen |= 1;
        else if (d == 0xabcd && m == EPOLLIN) seen |= 2;
        else if (d == 0x77 && m == EPOLLOUT) seen |= 4;
        else if (d == 9 && m == EPOLLIN) seen |= 8;
        else fail("epoll reported data %#llx events %#x", (unsigned long long)d, m);
    }
    if (n != 4 || seen != 15) fail("epoll reported %d events (seen mask %#x), not the 4 expected", n, seen);
    n = epoll_wait(ep_in, evs, 8, 0);
    if (n != 1 || evs[0].data.u64 != 5) fail("inner epoll reported %d events", n);
    if (!(fcntl(ep_in, F_GETFD) & FD_CLOEXEC)) fail("inner epoll lost FD_CLOEXEC");
    /* still live: a new event on a watched file is reported */
    uint64_t v;
    read(ev_fd, &v, 8);
    n = epoll_wait(ep_in, evs, 8, 0);
    if (n != 0) fail("inner epoll still reports the drained eventfd");
    v = 3;
    write(ev_fd, &v, 8);
    n = epoll_wait(ep_in, evs, 8, 0);
    if (n != 1) fail("inner epoll misses a new eventfd write");
}

/* ---- signalfd */
static int sfd;
static char sfd_mask[256];
static void signalfd_setup(void) {
    sigset_t m;
    sigemptyset(&m);
    sigaddset(&m, SIGUSR1);
    sigaddset(&m, SIGRTMIN + 1);
    sigprocmask(SIG_BLOCK, &m, NULL);
    sigaddset(&m, SIGPWR);
    sfd = signalfd(-1, &m, SFD_NONBLOCK | SFD_CLOEXEC);
    fdinfo_lines(sfd, "sigmask", sfd_mask, sizeof sfd_mask);
    /* two queued real-time signals, pending at dump: the signalfd must read both after restore */
    union sigval v1 = { .sival_int = 11 }, v2 = { .sival_int = 22 };
    sigqueue(getpid(), SIGRTMIN + 1, v1);
    sigqueue(getpid(), SIGRTMIN + 1, v2);
}
static void signalfd_verify(void) {
    char now[256];
    fdinfo_lines(sfd, "sigmask", now, sizeof now);
    if (strcmp(now, sfd_mask)) fail("signalfd mask %s, not %s", now, sfd_mask);
    if (!(fcntl(sfd, F_GETFL) & O_NONBLOCK)) fail("signalfd lost O_NONBLOCK");
    struct signalfd_siginfo si;
    ssize_t n = read(sfd, &si, sizeof si);
    if (n != sizeof si) fail("signalfd read gave %zd (errno %d): the SIGUSR1 sent after restore is not there", n, errno);
    else if (si.ssi_signo != SIGUSR1) fail("signalfd read signal %u, not SIGUSR1", si.ssi_signo);
    for (int i = 0; i < 2; i++) {
        n = read(sfd, &si, sizeof si);
        if (n != sizeof si) { fail("signalfd: queued SIGRTMIN+1 #%d missing (errno %d)", i + 1, errno); break; }
        if ((int)si.ssi_signo != SIGRTMIN + 1 || si.ssi_int != (i ? 22 : 11))
            fail("signalfd read signal %u value %d, not SIGRTMIN+1 value %d", si.ssi_signo, si.ssi_int, i ? 22 : 11);
    }
}

/* ---- timerfd */
static int t1, t2, t3;
static void timerfd_setup(void) {
    t1 = timerfd_create(CLOCK_MONOTONIC, 0);
    struct itimerspec its = { .it_interval = {1, 0}, .it_value = {8, 0} }; /* long enough to be dumped unexpired under load */
    timerfd_settime(t1, 0, &its, NULL);
    t2 = timerfd_create(CLOCK_REALTIME, TFD_NONBLOCK);
    struct itimerspec once = { .it_value = {0, 1000} };
    timerfd_settime(t2, 0, &once, NULL);
    usleep(20000); /* t2 has expired: one unread tick */
    t3 = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK);
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    struct itimerspec abs = { .it_value = {now.tv_sec + 100, now.tv_nsec} };
    timerfd_settime(t3, TFD_TIMER_ABSTIME, &abs, NULL);
}
static void timerfd_loop(void) {
    char p[4096], line[64];
    path(p, "fires");
    while (!term) {
        uint64_t ticks;
        if (read(t1, &ticks, 8) != 8) continue;
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        int n = snprintf(line, sizeof line, "%lld %llu\n", (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000, (unsigned long long)ticks);
        int f = open(p, O_WRONLY | O_APPEND | O_CREAT, 0644);
        write(f, line, n);
        close(f);
    }
}
static void timerfd_verify(void) {
    struct itimerspec cur;
    timerfd_gettime(t1, &cur);
    if (cur.it_interval.tv_sec != 1 || cur.it_interval.tv_nsec != 0) fail("timerfd t1 interval %ld.%09ld, not 1 s", cur.it_interval.tv_sec, cur.it_interval.tv_nsec);
    if (fdinfo_num(t1, "clockid", 10) != CLOCK_MONOTONIC) fail("timerfd t1 clock changed");
    if (fdinfo_num(t2, "clockid", 10) != CLOCK_REALTIME) fail("timerfd t2 clock %ld, not CLOCK_REALTIME", fdinfo_num(t2, "clockid", 10));
    if (!(fcntl(t2, F_GETFL) & O_NONBLOCK)) fail("timerfd t2 lost O_NONBLOCK");
    uint64_t ticks = 0;
    if (read(t2, &ticks, 8) != 8 || ticks != 1) fail("expired timerfd t2 read %llu ticks (errno %d), not 1", (unsigned long long)ticks, errno);
    timerfd_gettime(t3, &cur);
    if (cur.it_value.tv_sec < 60 || cur.it_value.tv_sec >= 100) fail("absolute timerfd t3 has %ld s left, not 60..100", cur.it_value.tv_sec);
    if (fdinfo_num(t3, "settime flags", 8) != TFD_TIMER_ABSTIME) fail("timerfd t3 lost TFD_TIMER_ABSTIME");
}

/* ---- inotify */
static int in_fd, wd2, wd3;
static char in_before[1024];
static void inotify_setup(void) {
    char a[4096], b[4096];
    path(a, "w1");
    path(b, "w2");
    mkdir(a, 0755);
    mkdir(b, 0755);
    in_fd = inotify_init1(IN_NONBLOCK);
    int wd1 = inotify_add_watch(in_fd, a, IN_CREATE);
    wd2 = inotify_add_watch(in_fd, b, IN_CREATE | IN_DELETE);
    inotify_rm_watch(in_fd, wd1);
    wd3 = inotify_add_watch(in_fd, dir, IN_CLOSE_WRITE);
    char buf[4096];
    while (read(in_fd, buf, sizeof buf) > 0) {} /* the IN_IGNORED of wd1 */
    fdinfo_lines(in_fd, "inotify", in_before, sizeof in_before);
    /* only "wd:N ... mask:M" matter: the handle is the same inode's */
    for (char *p = in_before; (p = strstr(p, " ignored_mask")); ) { char *e = strchr(p, '\n'); memmove(p, e, strlen(e) + 1); }
}
static void inotify_verify(void) {
    char now[1024], p[4096], buf[4096];
    fdinfo_lines(in_fd, "inotify", now, sizeof now);
    for (char *q = now; (q = strstr(q, " ignored_mask")); ) { char *e = strchr(q, '\n'); memmove(q, e, strlen(e) + 1); }
    /* inode numbers do not change, but compare without them anyway: the watch is what matters */
    if (strcmp(now, in_before)) fail("inotify watches [%s], not [%s]", now, in_before);
    path(p, "w2/after");
    int f = open(p, O_WRONLY | O_CREAT, 0644);
    close(f);
    ssize_t n = read(in_fd, buf, sizeof buf);
    int create = 0, closew = 0;
    for (char *q = buf; n > 0 && q < buf + n; ) {
        struct inotify_event *e = (struct inotify_event *)q;
        if (e->wd == wd2 && (e->mask & IN_CREATE) && !strcmp(e->name, "after")) create = 1;
        else if (e->wd == wd3 && (e->mask & IN_CLOSE_WRITE)) closew = 1;
        q += sizeof *e + e->len;
    }
    if (!create) fail("inotify: no IN_CREATE of w2/after on wd %d (read %zd)", wd2, n);
    path(p, "touched");
    f = open(p, O_WRONLY | O_CREAT, 0644);
    close(f);
    n = read(in_fd, buf, sizeof buf);
    for (char *q = buf; n > 0 && q < buf + n; ) {
        struct inotify_event *e = (struct inotify_event *)q;
        if (e->wd == wd3 && (e->mask & IN_CLOSE_WRITE) && !strcmp(e->name, "touched")) closew = 1;
        q += sizeof *e + e->len;
    }
    if (!closew) fail("inotify: no IN_CLOSE_WRITE of touched on wd %d", wd3);
}

/* ---- fanotify: an inode mark with an ignored mask, one without, and a mount mark */
static int fan;
static char fan_before[2048];
static void fanotify_setup(void) {
    char a[4096], b[4096];
    path(a, "fa-watched");
    path(b, "fa-ignored");
    close(open(a, O_WRONLY | O_CREAT, 0644));
    close(open(b, O_WRONLY | O_CREAT, 0644));
    fan = fanotify_init(FAN_CLASS_NOTIF | FAN_NONBLOCK, O_RDONLY | O_LARGEFILE);
    fanotify_mark(fan, FAN_MARK_ADD, FAN_MODIFY | FAN_CLOSE_WRITE, AT_FDCWD, a);
    fanotify_mark(fan, FAN_MARK_ADD | FAN_MARK_IGNORED_MASK | FAN_MARK_IGNORED_SURV_MODIFY, FAN_MODIFY, AT_FDCWD, b);
    fanotify_mark(fan, FAN_MARK_ADD | FAN_MARK_MOUNT, FAN_CLOSE_WRITE, AT_FDCWD, dir);
    fdinfo_lines(fan, "fanotify", fan_before, sizeof fan_before);
}
static void fanotify_verify(void) {
    char now[2048], buf[8192], a[4096];
    fdinfo_lines(fan, "fanotify", now, sizeof now);
    if (strcmp(now, fan_before)) fail("fanotify marks [%s], not [%s]", now, fan_before);
    while (read(fan, buf, sizeof buf) > 0) {} /* whatever jcriu's restore opened */
    path(a, "fa-watched");
    int f = open(a, O_WRONLY);
    write(f, "x", 1);
    close(f);
    ssize_t n = read(fan, buf, sizeof buf);
    int modify = 0;
    for (struct fanotify_event_metadata *m = (void *)buf; n > 0 && FAN_EVENT_OK(m, n); m = FAN_EVENT_NEXT(m, n)) {
        char p[64], l[4096];
        snprintf(p, sizeof p, "/proc/self/fd/%d", m->fd);
        ssize_t k = readlink(p, l, sizeof l - 1);
        l[k > 0 ? k : 0] = 0;
        if ((m->mask & FAN_MODIFY) && !strcmp(l, a)) modify = 1;
        close(m->fd);
    }
    if (!modify) fail("fanotify: no FAN_MODIFY event for %s", a);
}

/* ---- memfd */
static int m1, m1r, m2;
static unsigned char pattern[10000];
static void memfd_setup(void) {
    for (int i = 0; i < (int)sizeof pattern; i++) pattern[i] = (unsigned char)(i * 7 + 3);
    m1 = memfd_create("jcriu-memfd", MFD_ALLOW_SEALING | MFD_CLOEXEC);
    write(m1, pattern, sizeof pattern);
    pwrite(m1, "tail", 4, (1 << 20) + 100);
    lseek(m1, 123, SEEK_SET);
    fcntl(m1, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW);
    char p[64];
    snprintf(p, sizeof p, "/proc/self/fd/%d", m1);
    m1r = open(p, O_RDONLY);
    lseek(m1r, 7, SEEK_SET);
    m2 = memfd_create("plain", 0);
    write(m2, "hello", 5);
}
static void memfd_verify(void) {
    char p[64], link[256];
    snprintf(p, sizeof p, "/proc/self/fd/%d", m1);
    ssize_t l = readlink(p, link, sizeof link - 1);
    link[l > 0 ? l : 0] = 0;
    if (strcmp(link, "/memfd:jcriu-memfd (deleted)")) fail("memfd m1 is %s", link);
    struct stat st, st2;
    fstat(m1, &st);
    fstat(m1r, &st2);
    if (st.st_size != (1 << 20) + 104) fail("memfd m1 size %lld", (long long)st.st_size);
    if (st.st_ino != st2.st_ino) fail("memfd m1 and its reopened fd are different inodes");
    if (fcntl(m1, F_GET_SEALS) != (F_SEAL_SHRINK | F_SEAL_GROW)) fail("memfd m1 seals %#x", fcntl(m1, F_GET_SEALS));
    if (lseek(m1, 0, SEEK_CUR) != 123) fail("memfd m1 position %lld, not 123", (long long)lseek(m1, 0, SEEK_CUR));
    if (lseek(m1r, 0, SEEK_CUR) != 7) fail("memfd m1r position %lld, not 7", (long long)lseek(m1r, 0, SEEK_CUR));
    if ((fcntl(m1r, F_GETFL) & O_ACCMODE) != O_RDONLY) fail("memfd m1r is not O_RDONLY");
    if (!(fcntl(m1, F_GETFD) & FD_CLOEXEC)) fail("memfd m1 lost FD_CLOEXEC");
    unsigned char buf[10000];
    if (pread(m1, buf, sizeof buf, 0) != sizeof buf || memcmp(buf, pattern, sizeof buf)) fail("memfd m1 contents differ");
    char t[5] = {0};
    if (pread(m1, t, 4, (1 << 20) + 100) != 4 || strcmp(t, "tail")) fail("memfd m1 tail is '%s'", t);
    char z[100];
    memset(z, 1, sizeof z);
    pread(m1, z, sizeof z, 500000);
    for (int i = 0; i < 100; i++) if (z[i]) { fail("memfd m1 hole is not zero"); break; }
    if (pwrite(m1, "x", 1, (1 << 20) + 200) != -1 || errno != EPERM) fail("memfd m1 could grow past F_SEAL_GROW");
    if (fcntl(m2, F_GET_SEALS) != F_SEAL_SEAL) fail("memfd m2 seals %#x, not F_SEAL_SEAL", fcntl(m2, F_GET_SEALS));
    char h[6] = {0};
    if (pread(m2, h, 5, 0) != 5 || strcmp(h, "hello")) fail("memfd m2 holds '%s'", h);
}

/* ---- pidfd */
static int pself, pnb, pdead;
static void pidfd_setup(void) {
    pself = syscall(SYS_pidfd_open, getpid(), 0);
    pnb = syscall(SYS_pidfd_open, getpid(), PIDFD_NONBLOCK);
    pid_t c = fork();
    if (c == 0) _exit(7);
    pdead = syscall(SYS_pidfd_open, c, 0);
    waitpid(c, NULL, 0);
}
static void pidfd_verify(void) {
    if (fdinfo_num(pself, "Pid", 10) != getpid()) fail("pidfd refers to pid %ld, not %d", fdinfo_num(pself, "Pid", 10), getpid());
    if (syscall(SYS_pidfd_send_signal, pself, SIGUSR2, NULL, 0) != 0) fail("pidfd_send_signal: %s", strerror(errno));
    for (int i = 0; i < 100 && !usr2; i++) usleep(1000);
    if (usr2 != 1) fail("SIGUSR2 sent through the pidfd arrived %d times", usr2);
    if (!(fcntl(pnb, F_GETFL) & O_NONBLOCK)) fail("PIDFD_NONBLOCK pidfd lost O_NONBLOCK");
    if (fdinfo_num(pdead, "Pid", 10) != -1) fail("pidfd of the dead child refers to pid %ld", fdinfo_num(pdead, "Pid", 10));
    if (syscall(SYS_pidfd_send_signal, pdead, 0, NULL, 0) != -1 || errno != ESRCH) fail("pidfd of the dead child can be signalled");
}

struct kind {
    const char *name;
    void (*setup)(void), (*verify)(void);
} kinds[] = {
    {"eventfd", eventfd_setup, eventfd_verify}, {"epoll", epoll_setup, epoll_verify},
    {"signalfd", signalfd_setup, signalfd_verify}, {"timerfd", timerfd_setup, timerfd_verify},
    {"inotify", inotify_setup, inotify_verify}, {"memfd", memfd_setup, memfd_verify},
    {"pidfd", pidfd_setup, pidfd_verify}, {"fanotify", fanotify_setup, fanotify_verify},
};

int main(int argc, char **argv) {
    if (argc < 3) return 2;
    dir = argv[1];
    const char *want = argv[2];
    struct sigaction sa = { .sa_handler = on_term };
    sigaction(SIGTERM, &sa, NULL);
    sa.sa_handler = on_usr2;
    sigaction(SIGUSR2, &sa, NULL);
    int n = sizeof kinds / sizeof kinds[0], any = 0;
    for (int i = 0; i < n; i++) {
        if (strcmp(want, "all") && strcmp(want, kinds[i].name)) continue;
        kinds[i].setup();
        any = 1;
    }
    if (!any) return 2;
    char pid[32];
    snprintf(pid, sizeof pid, "%d\n", getpid());
    write_atomic("ready", pid);
    if (!strcmp(want, "timerfd")) timerfd_loop();
    while (!term) pause();
    for (int i = 0; i < n; i++) {
        if (strcmp(want, "all") && strcmp(want, kinds[i].name)) continue;
        kinds[i].verify();
    }
    char verdict[8300];
    snprintf(verdict, sizeof verdict, "%s%s\n", fails[0] ? "FAIL" : "PASS", fails);
    write_atomic("verdict", verdict);
    return 0;
}
