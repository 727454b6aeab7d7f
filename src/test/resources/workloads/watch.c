/*
 * watch DIR: inotify watches whose inode the file handle does not lead back to by name.
 * DIR/b/f2 is hard-linked as DIR/a/f; an inotify instance at fd 5 watches DIR/a/f (IN_MODIFY)
 * and the directory DIR/b (IN_CREATE); then a tmpfs is mounted over DIR/a, so the name the
 * kernel gives the watched file (DIR/a/f) now leads nowhere, while DIR/b/f2 still names it.
 * The test unmounts DIR/a when it is done.
 * On SIGTERM it appends to DIR/b/f2 and creates DIR/b/new, and checks that both watches fire
 * with their own watch descriptors.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "workload.h"

static void fail(const char *what) {
    if (!verdict[0]) snprintf(verdict, sizeof verdict, "FAIL %s\n", what);
}

static char p[4200];
static const char *path(const char *rel) {
    snprintf(p, sizeof p, "%s/%s", dir, rel);
    return p;
}

/* Reads events until one with {wd, mask} (and name, if given) arrives, for up to 3 s. */
static int expect(int wd, unsigned mask, const char *name) {
    char buf[4096] __attribute__((aligned(8)));
    for (int tries = 0; tries < 30; tries++) {
        struct pollfd pfd = {.fd = 5, .events = POLLIN};
        if (poll(&pfd, 1, 100) <= 0) continue;
        ssize_t n = read(5, buf, sizeof buf);
        for (char *q = buf; n > 0 && q < buf + n;) {
            struct inotify_event *e = (struct inotify_event *)q;
            if (e->wd == wd && (e->mask & mask) && (!name || (e->len && !strcmp(e->name, name)))) return 1;
            q += sizeof *e + e->len;
        }
    }
    return 0;
}

int main(int argc, char **argv) {
    if (argc < 2) return 2;
    snprintf(dir, sizeof dir, "%s", argv[1]);
    char buf[4300];
    if (mkdir(path("a"), 0755) || mkdir(path("b"), 0755)) return 2;
    /* b/f2 first, then the link a/f: the kernel gives a file handle the name it was linked by
     * last (the newest dentry of the inode), so the handle opens as DIR/a/f */
    char f2[4200];
    snprintf(f2, sizeof f2, "%s/b/f2", dir);
    int fd = open(f2, O_RDWR | O_CREAT | O_TRUNC, 0644);
    if (fd < 0 || write(fd, "x", 1) != 1) return 2;
    close(fd);
    if (link(f2, path("a/f"))) return 2;
    int in = inotify_init1(IN_NONBLOCK);
    if (in < 0) return 3;
    if (in != 5) { dup2(in, 5); close(in); }
    int wdf = inotify_add_watch(5, path("a/f"), IN_MODIFY);
    int wdd = inotify_add_watch(5, path("b"), IN_CREATE);
    if (wdf < 0 || wdd < 0) return 3;
    if (mount("none", path("a"), "tmpfs", 0, "size=64k")) { perror("mount"); return 6; }
    ready_then_wait();

    fd = open(f2, O_WRONLY | O_APPEND);
    if (fd < 0 || write(fd, "y", 1) != 1) fail("can't append to DIR/b/f2");
    if (fd >= 0) close(fd);
    if (!expect(wdf, IN_MODIFY, NULL)) { snprintf(buf, sizeof buf, "no IN_MODIFY on wd %d (DIR/b/f2 = the watched file)", wdf); fail(buf); }
    fd = open(path("b/new"), O_CREAT | O_WRONLY, 0600);
    if (fd >= 0) close(fd);
    if (!expect(wdd, IN_CREATE, "new")) { snprintf(buf, sizeof buf, "no IN_CREATE of new on wd %d (DIR/b)", wdd); fail(buf); }
    put("verdict", verdict[0] ? verdict : "PASS\n");
    return 0;
}
