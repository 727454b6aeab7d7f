/*
 * ghost DIR MODE: open files whose names were unlinked, which must come back with their contents.
 *   small   DIR/small (0640, 22 bytes) open O_RDWR at fd 5 at position 5, and opened a second
 *           time O_RDONLY at fd 6 (another open file description on the same inode), then unlinked.
 *   sparse  DIR/sparse: 3 MiB with data only in its first page and in a page at 2 MiB, open at
 *           fd 5 at position 2 MiB + 10, unlinked.
 *   big     DIR/big: 2 MiB of data (over the default --ghost-limit of 1 MiB) at fd 5, unlinked.
 *   linked  DIR/a hard-linked as DIR/b, open O_RDWR at fd 5 at position 3, then DIR/a unlinked:
 *           the file lives on through DIR/b (dumped with --link-remap).
 *   dir     DIR/d (0751) open as fd 5, then removed: a ghost directory.
 *   dirnest DIR/n/d (0751) open as fd 5, then removed, and DIR/n removed too: a ghost directory
 *           whose parent is gone (re-created in DIR, as CRIU does).
 *   fifo    DIR/f, a named FIFO (0640), open O_RDWR as fd 5 with bytes queued, then unlinked:
 *           a ghost FIFO whose bytes come back from fifo-data.img.
 * On SIGTERM it checks that each fd still reads the same bytes from the same position, that the
 * file is still unlinked (nlink 0) with its mode and size, that holes stayed holes, that both
 * fds of "small" still share one inode, and that no re-created name was left in DIR.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

static const char SMALL[] = "0123456789ghost-bytes!";
#define MIB (1024 * 1024)

static void page(int fd, off_t off, char c) {
    char b[4096];
    memset(b, c, sizeof b);
    if (pwrite(fd, b, sizeof b, off) != sizeof b) exit(4);
}

static void check_unlinked(int fd, mode_t mode, off_t size) {
    struct stat st;
    char b[200];
    if (fstat(fd, &st)) { fail("fstat failed"); return; }
    if (st.st_nlink != 0) { snprintf(b, sizeof b, "fd %d has %ld links, expected an unlinked file", fd, (long)st.st_nlink); fail(b); }
    if ((st.st_mode & 07777) != mode) { snprintf(b, sizeof b, "fd %d mode 0%o, expected 0%o", fd, st.st_mode & 07777, mode); fail(b); }
    if (st.st_size != size) { snprintf(b, sizeof b, "fd %d size %ld, expected %ld", fd, (long)st.st_size, (long)size); fail(b); }
}

static void check_bytes(int fd, off_t off, const char *want, size_t n, const char *what) {
    char b[4096];
    if (pread(fd, b, n, off) != (ssize_t)n || memcmp(b, want, n)) fail(what);
}

int main(int argc, char **argv) {
    if (argc < 3) return 2;
    snprintf(dir, sizeof dir, "%s", argv[1]);
    const char *mode = argv[2];
    char p[4200], buf[4096];
    umask(0);
    if (!strcmp(mode, "small")) {
        snprintf(p, sizeof p, "%s/small", dir);
        int fd = open(p, O_RDWR | O_CREAT | O_TRUNC, 0640);
        if (write(fd, SMALL, sizeof SMALL - 1) != sizeof SMALL - 1) return 2;
        lseek(fd, 5, SEEK_SET);
        place(fd, 5);
        place(open(p, O_RDONLY), 6);
        unlink(p);
    } else if (!strcmp(mode, "sparse")) {
        snprintf(p, sizeof p, "%s/sparse", dir);
        int fd = open(p, O_RDWR | O_CREAT | O_TRUNC, 0600);
        page(fd, 0, 'a');
        page(fd, 2 * MIB, 'b');
        if (ftruncate(fd, 3 * MIB)) return 2;
        lseek(fd, 2 * MIB + 10, SEEK_SET);
        place(fd, 5);
        unlink(p);
    } else if (!strcmp(mode, "big")) {
        snprintf(p, sizeof p, "%s/big", dir);
        int fd = open(p, O_RDWR | O_CREAT | O_TRUNC, 0600);
        for (off_t o = 0; o < 2 * MIB; o += 4096) page(fd, o, 'c');
        place(fd, 5);
        unlink(p);
    } else if (!strcmp(mode, "linked")) {
        snprintf(p, sizeof p, "%s/a", dir);
        int fd = open(p, O_RDWR | O_CREAT | O_TRUNC, 0644);
        if (write(fd, "linked-file", 11) != 11) return 2;
        char q[4200];
        snprintf(q, sizeof q, "%s/b", dir);
        if (link(p, q)) return 2;
        lseek(fd, 3, SEEK_SET);
        place(fd, 5);
        unlink(p);
    } else if (!strcmp(mode, "dir")) {
        snprintf(p, sizeof p, "%s/d", dir);
        if (mkdir(p, 0751)) return 2;
        place(open(p, O_RDONLY | O_DIRECTORY), 5);
        if (rmdir(p)) return 2;
    } else if (!strcmp(mode, "dirnest")) {
        snprintf(p, sizeof p, "%s/n", dir);
        if (mkdir(p, 0755)) return 2;
        snprintf(p, sizeof p, "%s/n/d", dir);
        if (mkdir(p, 0751)) return 2;
        place(open(p, O_RDONLY | O_DIRECTORY), 5);
        if (rmdir(p)) return 2;
        snprintf(p, sizeof p, "%s/n", dir);
        if (rmdir(p)) return 2;
    } else if (!strcmp(mode, "fifo")) {
        snprintf(p, sizeof p, "%s/f", dir);
        if (mkfifo(p, 0640)) return 2;
        place(open(p, O_RDWR), 5);
        if (write(5, "fifo-bytes", 10) != 10) return 2;
        unlink(p);
    } else {
        return 2;
    }
    ready_then_wait();

    if (!strcmp(mode, "small")) {
        check_unlinked(5, 0640, sizeof SMALL - 1);
        if (lseek(5, 0, SEEK_CUR) != 5) fail("fd 5 is not at position 5");
        if (read(5, buf, 5) != 5 || memcmp(buf, SMALL + 5, 5)) fail("fd 5 does not read the bytes at its position");
        if (lseek(6, 0, SEEK_CUR) != 0) fail("fd 6 is not at position 0");
        check_bytes(6, 0, SMALL, sizeof SMALL - 1, "fd 6 does not read the file's contents");
        if ((fcntl(6, F_GETFL) & O_ACCMODE) != O_RDONLY || (fcntl(5, F_GETFL) & O_ACCMODE) != O_RDWR) fail("access modes changed");
        if (pwrite(5, "X", 1, 0) != 1) fail("fd 5 cannot write");
        check_bytes(6, 0, "X", 1, "fds 5 and 6 are no longer on one inode");
        ssize_t n = readlink("/proc/self/fd/5", buf, sizeof buf - 1);
        buf[n > 0 ? n : 0] = 0;
        if (!strstr(buf, "/small (deleted)")) fail("fd 5 no longer names the unlinked DIR/small");
    } else if (!strcmp(mode, "sparse")) {
        struct stat st;
        check_unlinked(5, 0600, 3 * MIB);
        if (lseek(5, 0, SEEK_CUR) != 2 * MIB + 10) fail("fd 5 is not at position 2 MiB + 10");
        memset(buf, 'a', 4096);
        check_bytes(5, 0, buf, 4096, "first page lost its data");
        memset(buf, 'b', 4096);
        check_bytes(5, 2 * MIB, buf, 4096, "page at 2 MiB lost its data");
        memset(buf, 0, 4096);
        check_bytes(5, MIB, buf, 4096, "hole at 1 MiB does not read zeros");
        check_bytes(5, 3 * MIB - 4096, buf, 4096, "hole at the end does not read zeros");
        if (fstat(5, &st) == 0 && st.st_blocks * 512 > 256 * 1024) {
            snprintf(buf, sizeof buf, "holes were filled: %ld bytes allocated", (long)st.st_blocks * 512);
            fail(buf);
        }
        if (read(5, buf, 4) != 4 || memcmp(buf, "bbbb", 4)) fail("fd 5 does not read at its position");
    } else if (!strcmp(mode, "linked")) {
        struct stat st, b;
        snprintf(p, sizeof p, "%s/b", dir);
        if (fstat(5, &st) || stat(p, &b) || st.st_ino != b.st_ino || st.st_dev != b.st_dev) fail("fd 5 is not the file DIR/b names");
        else if (st.st_nlink != 1) { snprintf(buf, sizeof buf, "fd 5 has %ld links, expected 1", (long)st.st_nlink); fail(buf); }
        if (lseek(5, 0, SEEK_CUR) != 3) fail("fd 5 is not at position 3");
        if (read(5, buf, 4) != 4 || memcmp(buf, "ked-", 4)) fail("fd 5 does not read the bytes at its position");
        snprintf(p, sizeof p, "/proc/self/fd/5");
        ssize_t n = readlink(p, buf, sizeof buf - 1);
        buf[n > 0 ? n : 0] = 0;
        if (!strstr(buf, "/a (deleted)")) fail("fd 5 no longer names the unlinked DIR/a");
    } else if (!strcmp(mode, "dir") || !strcmp(mode, "dirnest") || !strcmp(mode, "fifo")) {
        struct stat st;
        int isdir = strcmp(mode, "fifo") != 0;
        if (fstat(5, &st) || !(isdir ? S_ISDIR(st.st_mode) : S_ISFIFO(st.st_mode))) fail("fd 5 lost its directory or FIFO");
        check_unlinked(5, isdir ? 0751 : 0640, st.st_size);
        ssize_t n = readlink("/proc/self/fd/5", buf, sizeof buf - 1);
        buf[n > 0 ? n : 0] = 0;
        if (!strstr(buf, isdir ? "/d (deleted)" : "/f (deleted)")) fail("fd 5 no longer names the removed DIR/d or DIR/f");
        if (isdir) {
            if (fchdir(5)) fail("fchdir into the removed directory failed");
            else if (openat(5, "new", O_CREAT | O_RDWR, 0600) >= 0 || errno != ENOENT) fail("a file could be created in the removed directory");
            if (chdir(dir)) fail("chdir back failed");
        } else {
            if (read(5, buf, 10) != 10 || memcmp(buf, "fifo-bytes", 10)) fail("the FIFO lost its queued bytes");
            if (write(5, "more", 4) != 4 || read(5, buf, 4) != 4 || memcmp(buf, "more", 4)) fail("the FIFO does not carry bytes");
        }
    } else {
        check_unlinked(5, 0600, 2 * MIB);
    }
    DIR *d = opendir(dir);
    struct dirent *e;
    while (d && (e = readdir(d))) {
        if (strstr(e->d_name, ".ghost") || strstr(e->d_name, "link_remap") || !strcmp(e->d_name, "small")
                || !strcmp(e->d_name, "sparse") || !strcmp(e->d_name, "a") || !strcmp(e->d_name, "d") || !strcmp(e->d_name, "f")) {
            snprintf(buf, sizeof buf, "%s left in the directory", e->d_name);
            fail(buf);
        }
    }
    if (d) closedir(d);
    for (int f = 7; f < 64; f++) if (fcntl(f, F_GETFD) != -1) { snprintf(buf, sizeof buf, "stray fd %d", f); fail(buf); }
    put("verdict", verdict[0] ? verdict : "PASS\n");
    return 0;
}
