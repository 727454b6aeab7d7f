/*
 * paths DIR MODE: open files whose path is no longer the one they were opened by.
 *   renamed      DIR/a/f open O_RDWR at fd 5 (position 3), DIR/a/g open O_RDONLY at fd 6 and the
 *                directory DIR/a/sub at fd 7; then f is renamed to DIR/a/f2 (same directory),
 *                g to DIR/b/g2 and sub to DIR/b/sub2 (another directory).
 *   over-dir     DIR/m/x/f open O_RDWR at fd 5 (position 4), the directory DIR/m/x at fd 6, a
 *   over-parent  named FIFO DIR/m/x/p open O_RDWR at fd 7 with bytes queued, and DIR/m/x/map
 *                mapped MAP_SHARED, and the cwd in DIR/m/x; then a tmpfs is mounted over DIR/m/x (over-dir) or over DIR/m
 *                (over-parent), and decoys with other contents are created at the same paths in
 *                it. The test unmounts DIR/m/x or DIR/m when it is done.
 *   stacked      a tmpfs on DIR/m holds DIR/m/f, open at fd 5; then a second tmpfs is mounted on
 *                DIR/m over the first one (refused by the dump: nothing reaches the first mount).
 * On SIGTERM it checks that every fd is still the same inode (device and inode number taken at
 * the start), at its position, reads its bytes, can still write, and for the overmounted files
 * that the paths still lead to the decoys (the files stayed hidden) and that the mapping and the
 * fd share the file's pages.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "workload.h"

static void fail(const char *what) {
    if (!verdict[0]) snprintf(verdict, sizeof verdict, "FAIL %s\n", what);
}

static void place(int fd, int want) {
    if (fd < 0) exit(3);
    if (fd != want) { dup2(fd, want); close(fd); }
}

static char p[4200];
static const char *path(const char *rel) {
    snprintf(p, sizeof p, "%s/%s", dir, rel);
    return p;
}

static void file(const char *rel, const char *data) {
    int fd = open(path(rel), O_RDWR | O_CREAT | O_TRUNC, 0644);
    if (fd < 0 || write(fd, data, strlen(data)) != (ssize_t)strlen(data)) exit(4);
    close(fd);
}

static struct stat orig[8];

static void same_inode(int fd) {
    struct stat st;
    char b[200];
    if (fstat(fd, &st) || st.st_dev != orig[fd].st_dev || st.st_ino != orig[fd].st_ino) {
        snprintf(b, sizeof b, "fd %d is not the inode it was (ino %lu, now %lu)", fd, (unsigned long)orig[fd].st_ino,
                 (unsigned long)st.st_ino);
        fail(b);
    }
}

static void names(int fd, const char *rel) {
    char b[4200], want[4200];
    ssize_t n;
    snprintf(want, sizeof want, "%s/%s", dir, rel);
    snprintf(b, sizeof b, "/proc/self/fd/%d", fd);
    n = readlink(b, b, sizeof b - 1);
    b[n > 0 ? n : 0] = 0;
    if (strcmp(b, want)) {
        char m[8600];
        snprintf(m, sizeof m, "fd %d names %s, expected %s", fd, b, want);
        fail(m);
    }
}

static void reads(int fd, off_t pos, const char *want) {
    char b[100];
    size_t n = strlen(want);
    if (lseek(fd, 0, SEEK_CUR) != pos) { snprintf(b, sizeof b, "fd %d is not at position %ld", fd, (long)pos); fail(b); }
    if (read(fd, b, n) != (ssize_t)n || memcmp(b, want, n)) { snprintf(b, sizeof b, "fd %d does not read its bytes", fd); fail(b); }
}

static void hidden(const char *rel, int fd) {
    struct stat st;
    char b[4300];
    if (stat(path(rel), &st) == 0 && st.st_ino == orig[fd].st_ino && st.st_dev == orig[fd].st_dev) {
        snprintf(b, sizeof b, "%s is visible again (the overmount is gone?)", rel);
        fail(b);
    }
}

int main(int argc, char **argv) {
    if (argc < 3) return 2;
    snprintf(dir, sizeof dir, "%s", argv[1]);
    const char *mode = argv[2];
    char buf[4096];
    char *map = NULL;
    umask(0);
    if (!strcmp(mode, "renamed")) {
        if (mkdir(path("a"), 0755) || mkdir(path("b"), 0755) || mkdir(path("a/sub"), 0750)) return 2;
        file("a/f", "0123456789");
        file("a/g", "gee-file");
        place(open(path("a/f"), O_RDWR), 5);
        lseek(5, 3, SEEK_SET);
        place(open(path("a/g"), O_RDONLY), 6);
        place(open(path("a/sub"), O_RDONLY | O_DIRECTORY), 7);
        for (int fd = 5; fd <= 7; fd++) fstat(fd, &orig[fd]);
        char q[4200];
        snprintf(q, sizeof q, "%s/a/f2", dir);
        if (rename(path("a/f"), q)) return 5;
        snprintf(q, sizeof q, "%s/b/g2", dir);
        if (rename(path("a/g"), q)) return 5;
        snprintf(q, sizeof q, "%s/b/sub2", dir);
        if (rename(path("a/sub"), q)) return 5;
    } else if (!strcmp(mode, "over-dir") || !strcmp(mode, "over-parent")) {
        if (mkdir(path("m"), 0755) || mkdir(path("m/x"), 0755)) return 2;
        file("m/x/f", "hidden-file-bytes");
        file("m/x/map", "");
        if (truncate(path("m/x/map"), 4096)) return 2;
        if (mkfifo(path("m/x/p"), 0600)) return 2;
        place(open(path("m/x/f"), O_RDWR), 5);
        lseek(5, 4, SEEK_SET);
        place(open(path("m/x"), O_RDONLY | O_DIRECTORY), 6);
        place(open(path("m/x/p"), O_RDWR), 7);
        if (write(7, "queued", 6) != 6) return 2;
        int mfd = open(path("m/x/map"), O_RDWR);
        map = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, mfd, 0);
        if (map == MAP_FAILED) return 2;
        close(mfd);
        strcpy(map, "mapped-bytes");
        for (int fd = 5; fd <= 7; fd++) fstat(fd, &orig[fd]);
        if (chdir(path("m/x"))) return 2; /* the cwd is hidden too */
        const char *over = !strcmp(mode, "over-dir") ? "m/x" : "m";
        if (mount("none", path(over), "tmpfs", 0, "size=64k")) { perror("mount"); return 6; }
        if (strcmp(over, "m/x") && mkdir(path("m/x"), 0755)) return 2;
        file("m/x/f", "DECOY");
        file("m/x/map", "DECOY");
    } else if (!strcmp(mode, "stacked")) {
        /* the file's own mount is covered by another one at the same place: refused, as CRIU */
        if (mkdir(path("m"), 0755)) return 2;
        if (mount("none", path("m"), "tmpfs", 0, "size=64k")) { perror("mount"); return 6; }
        file("m/f", "under");
        place(open(path("m/f"), O_RDONLY), 5);
        fstat(5, &orig[5]);
        if (mount("none", path("m"), "tmpfs", 0, "size=64k")) { perror("mount"); return 6; }
    } else {
        return 2;
    }
    ready_then_wait();

    if (!strcmp(mode, "stacked")) {
        same_inode(5);
        reads(5, 0, "under");
    } else if (!strcmp(mode, "renamed")) {
        for (int fd = 5; fd <= 7; fd++) same_inode(fd);
        names(5, "a/f2");
        names(6, "b/g2");
        names(7, "b/sub2");
        reads(5, 3, "3456");
        reads(6, 0, "gee");
        if (pwrite(5, "X", 1, 0) != 1) fail("fd 5 cannot write");
        if ((fcntl(6, F_GETFL) & O_ACCMODE) != O_RDONLY || (fcntl(5, F_GETFL) & O_ACCMODE) != O_RDWR) fail("access modes changed");
        if (faccessat(7, "..", F_OK, 0)) fail("fd 7 is not a usable directory");
    } else {
        for (int fd = 5; fd <= 7; fd++) same_inode(fd);
        names(5, "m/x/f");
        names(6, "m/x");
        reads(5, 4, "en-file");
        if (pwrite(5, "Z", 1, 0) != 1) fail("fd 5 cannot write");
        hidden("m/x/f", 5);
        hidden("m/x", 6);
        if (read(7, buf, 6) != 6 || memcmp(buf, "queued", 6)) fail("the FIFO lost its queued bytes");
        if (write(7, "again", 5) != 5 || read(7, buf, 5) != 5 || memcmp(buf, "again", 5)) fail("the FIFO does not carry bytes");
        if (strcmp(map, "mapped-bytes")) fail("the mapping lost its bytes");
        /* the mapping is the hidden file's pages: what it writes, the file (through fd 6) has */
        strcpy(map, "written-after");
        int mfd = openat(6, "map", O_RDONLY);
        if (mfd < 0 || pread(mfd, buf, 13, 0) != 13 || memcmp(buf, "written-after", 13)) fail("the mapping is not the hidden file");
        if (mfd >= 0) close(mfd);
        if (faccessat(6, "f", F_OK, 0)) fail("fd 6 does not see the hidden directory's files");
        struct stat cwd;
        if (stat(".", &cwd) || cwd.st_ino != orig[6].st_ino || cwd.st_dev != orig[6].st_dev) fail("the cwd is not the hidden DIR/m/x");
    }
    for (int f = 8; f < 64; f++) if (fcntl(f, F_GETFD) != -1) { snprintf(buf, sizeof buf, "stray fd %d", f); fail(buf); }
    put("verdict", verdict[0] ? verdict : "PASS\n");
    return 0;
}
