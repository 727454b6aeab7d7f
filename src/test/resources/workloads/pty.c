/*
 * pty DIR MODE: holds both sides of a Unix98 pty, slave at fd 5 and master at fd 7 (so the
 * slave comes first in fd order and must wait for its master on restore). The slave is in raw
 * mode at 57600 baud with a window of 33x111 (640x480 pixels); the master is in packet mode,
 * locked again after the slave was opened (MODE pair), and the slave is in exclusive mode.
 *   MODE pair:   just that.
 *   MODE ctty:   the slave is also the controlling terminal of the task (a session leader).
 *   MODE queued: "abc" is left unread on the master side, "xyz" on the slave side: after the
 *                restore each side still reads them first.
 * On SIGTERM it checks the pty index, termios and window size on both sides, the modes, the
 * controlling terminal (ctty), and that bytes go through both ways.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include "workload.h"

static void fail(const char *what) {
    if (!verdict[0]) snprintf(verdict, sizeof verdict, "FAIL %s\n", what);
}

static void place(int fd, int want) {
    if (fd != want) { dup2(fd, want); close(fd); }
}

/* Reads n data bytes from fd within 2 s; packet mode reads start with a status byte (0 for data). */
static int readn(int fd, char *out, int n, int packet) {
    int got = 0;
    while (got < n) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, 2000) != 1) return got;
        char b[256];
        ssize_t r = read(fd, b, sizeof b);
        if (r <= 0) return got;
        int skip = packet ? 1 : 0;
        if (packet && b[0] != 0) return -1;
        for (int i = skip; i < r && got < n; i++) out[got++] = b[i];
    }
    return got;
}

static int same_termios(const struct termios *a, const struct termios *b) {
    return a->c_iflag == b->c_iflag && a->c_oflag == b->c_oflag && a->c_cflag == b->c_cflag && a->c_lflag == b->c_lflag
        && !memcmp(a->c_cc, b->c_cc, 19);
}

int main(int argc, char **argv) {
    if (argc < 3) return 2;
    snprintf(dir, sizeof dir, "%s", argv[1]);
    const char *mode = argv[2];
    int m = posix_openpt(O_RDWR | O_NOCTTY);
    if (m < 0 || grantpt(m) || unlockpt(m)) return 2;
    char name[64];
    snprintf(name, sizeof name, "%s", ptsname(m));
    int s = open(name, O_RDWR | O_NOCTTY);
    if (s < 0) return 2;
    place(m, 7);
    place(s, 5);
    m = 7;
    s = 5;
    int index = -1;
    ioctl(m, TIOCGPTN, &index);
    struct termios t;
    tcgetattr(s, &t);
    cfmakeraw(&t);
    t.c_cc[VMIN] = 1;
    t.c_cc[VTIME] = 0;
    cfsetspeed(&t, B57600);
    if (tcsetattr(s, TCSANOW, &t)) return 2;
    struct termios want;
    tcgetattr(s, &want);
    struct winsize ws = {.ws_row = 33, .ws_col = 111, .ws_xpixel = 640, .ws_ypixel = 480};
    if (ioctl(s, TIOCSWINSZ, &ws)) return 2;
    int one = 1;
    if (ioctl(m, TIOCPKT, &one)) return 2;
    int lock = !strcmp(mode, "pair"); /* a locked pty cannot be reopened, not even as /dev/tty */
    if (lock && ioctl(m, TIOCSPTLCK, &one)) return 2;
    if (ioctl(s, TIOCEXCL)) return 2;
    if (!strcmp(mode, "ctty") && ioctl(s, TIOCSCTTY, 0)) return 3;
    if (!strcmp(mode, "queued") && (write(s, "abc", 3) != 3 || write(m, "xyz", 3) != 3)) return 2;
    struct stat st0;
    fstat(s, &st0);

    struct sigaction sa = {0};
    sa.sa_handler = on_term;
    sigaction(SIGTERM, &sa, NULL);
    char buf[256];
    snprintf(buf, sizeof buf, "%d\n", getpid());
    put("ready", buf);
    while (!stop) pause();

    int idx = -1;
    if (ioctl(m, TIOCGPTN, &idx) || idx != index) { snprintf(buf, sizeof buf, "pty index %d, was %d", idx, index); fail(buf); }
    struct stat st;
    if (fstat(s, &st) || st.st_rdev != st0.st_rdev) fail("fd 5 is not the same /dev/pts/N");
    struct termios got;
    if (tcgetattr(s, &got) || !same_termios(&got, &want)) fail("slave termios differ");
    if (cfgetospeed(&got) != B57600) fail("slave speed is not 57600");
    if (tcgetattr(m, &got) || !same_termios(&got, &want)) fail("termios through the master differ");
    struct winsize w = {0};
    if (ioctl(s, TIOCGWINSZ, &w) || w.ws_row != 33 || w.ws_col != 111 || w.ws_xpixel != 640 || w.ws_ypixel != 480) {
        snprintf(buf, sizeof buf, "slave window %dx%d (%dx%d)", w.ws_row, w.ws_col, w.ws_xpixel, w.ws_ypixel);
        fail(buf);
    }
    memset(&w, 0, sizeof w);
    if (ioctl(m, TIOCGWINSZ, &w) || w.ws_row != 33 || w.ws_col != 111) fail("master window differs");
    int v = 0;
    if (ioctl(m, TIOCGPKT, &v) || v != 1) fail("master not in packet mode");
    v = 0;
    if (ioctl(m, TIOCGPTLCK, &v) || v != lock) fail(lock ? "pty not locked" : "pty locked");
    v = 0;
    if (ioctl(s, TIOCGEXCL, &v) || v != 1) fail("slave not in exclusive mode");
    if ((fcntl(m, F_GETFL) & O_ACCMODE) != O_RDWR || (fcntl(s, F_GETFL) & O_ACCMODE) != O_RDWR) fail("access modes differ");
    if (!strcmp(mode, "ctty")) {
        if (tcgetsid(s) != getpid()) { snprintf(buf, sizeof buf, "tcgetsid %d, not %d", tcgetsid(s), getpid()); fail(buf); }
        if (tcgetpgrp(s) != getpgrp()) fail("foreground group is not the task's");
        int c = open("/dev/tty", O_RDWR);
        if (c < 0) { snprintf(buf, sizeof buf, "no controlling terminal (/dev/tty: %s)", strerror(errno)); fail(buf); }
        else close(c);
        /* tty_nr in /proc/self/stat is the controlling terminal's device number */
        FILE *f = fopen("/proc/self/stat", "r");
        char sb[1024] = {0};
        if (f) { if (!fgets(sb, sizeof sb, f)) sb[0] = 0; fclose(f); }
        char *p = strrchr(sb, ')');
        unsigned long long tty_nr = 0;
        if (!p || sscanf(p + 2, "%*c %*d %*d %*d %llu", &tty_nr) != 1 || tty_nr != (unsigned long long)st0.st_rdev) {
            snprintf(buf, sizeof buf, "controlling terminal %llu, not the pty %llu", tty_nr, (unsigned long long)st0.st_rdev);
            fail(buf);
        }
    } else {
        int c = open("/dev/tty", O_RDWR);
        if (c >= 0) { fail("the task has a controlling terminal"); close(c); }
    }
    if (!strcmp(mode, "queued")) {
        if (readn(m, buf, 3, 1) != 3 || memcmp(buf, "abc", 3)) fail("the master lost the bytes queued for it");
        if (readn(s, buf, 3, 0) != 3 || memcmp(buf, "xyz", 3)) fail("the slave lost the bytes queued for it");
    }
    if (write(m, "ping", 4) != 4) fail("cannot write the master");
    if (readn(s, buf, 4, 0) != 4 || memcmp(buf, "ping", 4)) fail("slave does not read what the master wrote");
    if (write(s, "pong", 4) != 4) fail("cannot write the slave");
    if (readn(m, buf, 4, 1) != 4 || memcmp(buf, "pong", 4)) fail("master does not read what the slave wrote");
    for (int f = 0; f < 64; f++) {
        if (f == 5 || f == 7 || f <= 2) continue;
        if (fcntl(f, F_GETFD) != -1) { snprintf(buf, sizeof buf, "stray fd %d", f); fail(buf); }
    }
    put("verdict", verdict[0] ? verdict : "PASS\n");
    return 0;
}
