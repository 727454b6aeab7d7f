/*
 * locks DIR: holds a lock of each kind, each on its own file in DIR:
 *   fd 5  DIR/flock  flock(LOCK_EX)
 *   fd 6  DIR/posix  fcntl(F_SETLK) write lock on bytes 10..29
 *   fd 7  DIR/ofd    fcntl(F_OFD_SETLK) read lock on the whole file
 *   fd 8  DIR/lease  fcntl(F_SETLEASE) read lease
 * On SIGTERM it checks from inside what it can see of its own locks (a second open of the same
 * file conflicts with the flock and with a write OFD lock request).
 *
 * locks DIR probe PID: run by the test as ANOTHER process; prints "held flock posix ofd lease"
 * with only the locks that still conflict for it (and the POSIX lock's owner must be PID). The
 * lease is looked up in /proc/locks by inode: opening the file for writing would break it.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef F_OFD_GETLK
#define F_OFD_GETLK 36
#define F_OFD_SETLK 37
#endif

#include "workload.h"

static void fail(const char *what) {
    if (!verdict[0]) snprintf(verdict, sizeof verdict, "FAIL %s\n", what);
}

static int open_in(const char *name, int flags) {
    char p[4200];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    return open(p, flags | O_CREAT, 0644);
}

static void place(int fd, int want) {
    if (fd < 0) exit(3);
    if (fd != want) { dup2(fd, want); close(fd); }
}

static int probe(int owner) {
    int f = open_in("flock", O_RDONLY), p = open_in("posix", O_RDWR), o = open_in("ofd", O_RDWR);
    printf("held");
    if (flock(f, LOCK_EX | LOCK_NB) != 0 && errno == EWOULDBLOCK) printf(" flock");
    struct flock l = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 15, .l_len = 1};
    if (fcntl(p, F_GETLK, &l) == 0 && l.l_type == F_WRLCK && l.l_pid == owner && l.l_start == 10 && l.l_len == 20) printf(" posix");
    struct flock w = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 0};
    if (fcntl(o, F_OFD_GETLK, &w) == 0 && w.l_type == F_RDLCK) printf(" ofd");
    char lp[4200], line[512];
    struct stat st;
    snprintf(lp, sizeof lp, "%s/lease", dir);
    FILE *pl = fopen("/proc/locks", "r");
    if (pl && stat(lp, &st) == 0) {
        char ino[64];
        snprintf(ino, sizeof ino, ":%lu ", (unsigned long)st.st_ino);
        while (fgets(line, sizeof line, pl))
            if (strstr(line, "LEASE") && strstr(line, "ACTIVE") && strstr(line, "READ") && strstr(line, ino)) { printf(" lease"); break; }
    }
    if (pl) fclose(pl);
    printf("\n");
    return 0;
}

int main(int argc, char **argv) {
    if (argc < 2) return 2;
    snprintf(dir, sizeof dir, "%s", argv[1]);
    if (argc == 4 && !strcmp(argv[2], "probe")) return probe(atoi(argv[3]));
    char buf[256];
    place(open_in("flock", O_RDWR), 5);
    if (flock(5, LOCK_EX)) return 4;
    place(open_in("posix", O_RDWR), 6);
    struct flock l = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 10, .l_len = 20};
    if (fcntl(6, F_SETLK, &l)) return 5;
    place(open_in("ofd", O_RDONLY), 7);
    struct flock r = {.l_type = F_RDLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 0};
    if (fcntl(7, F_OFD_SETLK, &r)) return 6;
    place(open_in("lease", O_RDONLY), 8);
    if (fcntl(8, F_SETLEASE, F_RDLCK)) return 7;
    ready_then_wait();

    int f = open_in("flock", O_RDONLY);
    if (flock(f, LOCK_EX | LOCK_NB) == 0 || errno != EWOULDBLOCK) fail("fd 5 no longer holds its flock");
    close(f);
    int o = open_in("ofd", O_RDWR);
    struct flock w = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 0};
    if (fcntl(o, F_OFD_GETLK, &w) || w.l_type != F_RDLCK) fail("fd 7 no longer holds its OFD read lock");
    close(o);
    if (fcntl(8, F_GETLEASE) != F_RDLCK) fail("fd 8 no longer holds its read lease");
    put("verdict", verdict[0] ? verdict : "PASS\n");
    return 0;
}
