/*
 * unixsk DIR: unix sockets of every shape, each with state that must survive a dump/restore:
 *   fds 10,11  stream socketpair, "ping" queued 10->11 and "pong-pong" 11->10; SO_PASSCRED on
 *              10, SO_RCVBUF changed on 11
 *   fds 12,13  dgram socketpair, 3 datagrams (5, 300, 1 bytes) queued 12->13; 13 O_NONBLOCK
 *   fd 14      stream listener bound at DIR/listen.sock (mode 0640), backlog 7
 *   fd 15      a connection to fd 14 not yet accepted
 *   fd 16      dgram bound to the abstract name "\0jcriu-unixsk-PID" with 2 datagrams queued
 *              by a sender that is gone
 *   fds 17,18  seqpacket pair, records "rec-1", "record-2" queued 17->18
 *   fds 19,20  stream pair, 19 wrote "bye" then shutdown(SHUT_WR)
 *   fd 21      unbound, unconnected dgram socket
 *   fds 22,23  dgram "server" bound at DIR/dgram.sock and a client connected to it (not a
 *              pair: the server is unconnected), "to-server" queued in 22
 *   fds 24,25  a connection accepted from fd 14 (24, named like the listener) and its client
 *              (25), "req" queued 25->24 and "resp" 24->25
 *   fds 26,27  dgram bound at DIR/gone.sock whose file was then unlinked, and a client
 *              connected to it before that; "ghost" queued in 26
 *   fds 28,29  stream pair with 150000 bytes of a pattern queued 28->29 (many skbs)
 *   fd 30      stream whose peer wrote "last words" and closed
 *   fd 31      dgram whose pair peer sent "orphan" and closed
 *   fds 32,33  seqpacket listener on an abstract name and a connection waiting in it, which
 *              sent nothing yet
 * On SIGTERM it checks them all and writes DIR/verdict.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stddef.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "workload.h"

static void pair(int type, int a, int b) {
    int sv[2];
    if (socketpair(AF_UNIX, type, 0, sv)) { perror("socketpair"); exit(2); }
    place_fd(sv[0], a, "socket");
    place_fd(sv[1], b, "socket");
}

static socklen_t abstract(struct sockaddr_un *sa, int pid) {
    memset(sa, 0, sizeof *sa);
    sa->sun_family = AF_UNIX;
    int n = snprintf(sa->sun_path + 1, sizeof sa->sun_path - 1, "jcriu-unixsk-%d", pid);
    return offsetof(struct sockaddr_un, sun_path) + 1 + n;
}

static void expect_read(int fd, const char *want, size_t len, const char *what) {
    char buf[1024];
    ssize_t n = recv(fd, buf, sizeof buf, MSG_DONTWAIT);
    if (n != (ssize_t)len || memcmp(buf, want, len)) {
        char m[256];
        snprintf(m, sizeof m, "%s: got %zd bytes (errno %d), want %zu", what, n, n < 0 ? errno : 0, len);
        fail_also(m);
    }
}

int main(int argc, char **argv) {
    if (argc < 2) return 2;
    snprintf(dir, sizeof dir, "%s", argv[1]);
    char buf[512];
    int one = 1;

    pair(SOCK_STREAM, 10, 11);
    if (write(10, "ping", 4) != 4 || write(11, "pong-pong", 9) != 9) return 2;
    setsockopt(10, SOL_SOCKET, SO_PASSCRED, &one, sizeof one);
    int rcv = 65536;
    setsockopt(11, SOL_SOCKET, SO_RCVBUF, &rcv, sizeof rcv);

    pair(SOCK_DGRAM, 12, 13);
    char big[300];
    memset(big, 'B', sizeof big);
    if (send(12, "first", 5, 0) != 5 || send(12, big, 300, 0) != 300 || send(12, "3", 1, 0) != 1) return 2;
    fcntl(13, F_SETFL, O_NONBLOCK);

    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    snprintf(sa.sun_path, sizeof sa.sun_path, "%s/listen.sock", dir);
    place_fd(socket(AF_UNIX, SOCK_STREAM, 0), 14, "socket");
    if (bind(14, (struct sockaddr *)&sa, sizeof sa) || listen(14, 7)) { perror("listen"); return 2; }
    chmod(sa.sun_path, 0640);
    place_fd(socket(AF_UNIX, SOCK_STREAM, 0), 25, "socket");
    if (connect(25, (struct sockaddr *)&sa, sizeof sa)) { perror("connect 25"); return 2; }
    place_fd(accept(14, NULL, NULL), 24, "socket");
    if (write(25, "req", 3) != 3 || write(24, "resp", 4) != 4) return 2;
    place_fd(socket(AF_UNIX, SOCK_STREAM, 0), 15, "socket");
    if (connect(15, (struct sockaddr *)&sa, sizeof sa)) { perror("connect"); return 2; }

    struct sockaddr_un ab;
    socklen_t ablen = abstract(&ab, getpid());
    place_fd(socket(AF_UNIX, SOCK_DGRAM, 0), 16, "socket");
    if (bind(16, (struct sockaddr *)&ab, ablen)) { perror("bind abstract"); return 2; }
    int tmp = socket(AF_UNIX, SOCK_DGRAM, 0);
    if (sendto(tmp, "abs-1", 5, 0, (struct sockaddr *)&ab, ablen) != 5) return 2;
    if (sendto(tmp, "abs-two", 7, 0, (struct sockaddr *)&ab, ablen) != 7) return 2;
    close(tmp);

    pair(SOCK_SEQPACKET, 17, 18);
    if (send(17, "rec-1", 5, 0) != 5 || send(17, "record-2", 8, 0) != 8) return 2;

    pair(SOCK_STREAM, 19, 20);
    if (write(19, "bye", 3) != 3) return 2;
    shutdown(19, SHUT_WR);

    place_fd(socket(AF_UNIX, SOCK_DGRAM, 0), 21, "socket");

    struct sockaddr_un ds = {.sun_family = AF_UNIX};
    snprintf(ds.sun_path, sizeof ds.sun_path, "%s/dgram.sock", dir);
    place_fd(socket(AF_UNIX, SOCK_DGRAM, 0), 22, "socket");
    if (bind(22, (struct sockaddr *)&ds, sizeof ds)) { perror("bind dgram"); return 2; }
    place_fd(socket(AF_UNIX, SOCK_DGRAM, 0), 23, "socket");
    if (connect(23, (struct sockaddr *)&ds, sizeof ds) || send(23, "to-server", 9, 0) != 9) { perror("dgram client"); return 2; }

    struct sockaddr_un gs = {.sun_family = AF_UNIX};
    snprintf(gs.sun_path, sizeof gs.sun_path, "%s/gone.sock", dir);
    place_fd(socket(AF_UNIX, SOCK_DGRAM, 0), 26, "socket");
    if (bind(26, (struct sockaddr *)&gs, sizeof gs)) { perror("bind gone"); return 2; }
    place_fd(socket(AF_UNIX, SOCK_DGRAM, 0), 27, "socket");
    if (connect(27, (struct sockaddr *)&gs, sizeof gs) || send(27, "ghost", 5, 0) != 5) { perror("gone client"); return 2; }
    unlink(gs.sun_path);

    pair(SOCK_STREAM, 28, 29);
    static unsigned char bulk[150000], back[200000];
    for (int i = 0; i < (int)sizeof bulk; i++) bulk[i] = (unsigned char)(i * 31 + i / 977);
    fcntl(28, F_SETFL, O_NONBLOCK);
    for (size_t off = 0; off < sizeof bulk;) {
        ssize_t w = write(28, bulk + off, sizeof bulk - off > 4000 ? 4000 : sizeof bulk - off);
        if (w <= 0) { perror("bulk write"); return 2; }
        off += w;
    }
    fcntl(28, F_SETFL, 0);

    pair(SOCK_STREAM, 30, 32);
    if (write(32, "last words", 10) != 10) return 2;
    close(32);
    pair(SOCK_DGRAM, 31, 32);
    if (send(32, "orphan", 6, 0) != 6) return 2;
    close(32);

    struct sockaddr_un sq;
    memset(&sq, 0, sizeof sq);
    sq.sun_family = AF_UNIX;
    int sqn = snprintf(sq.sun_path + 1, sizeof sq.sun_path - 1, "jcriu-seq-%d", getpid());
    socklen_t sqlen = offsetof(struct sockaddr_un, sun_path) + 1 + sqn;
    place_fd(socket(AF_UNIX, SOCK_SEQPACKET, 0), 32, "socket");
    if (bind(32, (struct sockaddr *)&sq, sqlen) || listen(32, 3)) { perror("seq listen"); return 2; }
    place_fd(socket(AF_UNIX, SOCK_SEQPACKET, 0), 33, "socket");
    if (connect(33, (struct sockaddr *)&sq, sqlen)) { perror("seq connect"); return 2; }

    struct sigaction sact = {0};
    sact.sa_handler = on_term;
    sigaction(SIGTERM, &sact, NULL);
    snprintf(buf, sizeof buf, "%d\n", getpid());
    put("ready", buf);
    while (!stop) pause();

    /* stream pair */
    expect_read(11, "ping", 4, "fd 11 queued data");
    expect_read(10, "pong-pong", 9, "fd 10 queued data");
    if (write(11, "again", 5) != 5) fail_also("fd 11 cannot write");
    expect_read(10, "again", 5, "fd 10 new data");
    int v = 0;
    socklen_t vl = sizeof v;
    getsockopt(10, SOL_SOCKET, SO_PASSCRED, &v, &vl);
    if (!v) fail_also("fd 10 lost SO_PASSCRED");
    vl = sizeof v;
    getsockopt(11, SOL_SOCKET, SO_RCVBUF, &v, &vl);
    if (v != 2 * rcv) { snprintf(buf, sizeof buf, "fd 11 SO_RCVBUF %d, want %d", v, 2 * rcv); fail_also(buf); }
    vl = sizeof v;
    getsockopt(11, SOL_SOCKET, SO_TYPE, &v, &vl);
    if (v != SOCK_STREAM) fail_also("fd 11 is not a stream socket");

    /* dgram pair: boundaries */
    expect_read(13, "first", 5, "fd 13 datagram 1");
    expect_read(13, big, 300, "fd 13 datagram 2");
    expect_read(13, "3", 1, "fd 13 datagram 3");
    if (!(fcntl(13, F_GETFL) & O_NONBLOCK)) fail_also("fd 13 lost O_NONBLOCK");
    if (fcntl(12, F_GETFL) & O_NONBLOCK) fail_also("fd 12 became O_NONBLOCK");

    /* listener with a pending connection */
    struct stat st;
    if (stat(sa.sun_path, &st) || !S_ISSOCK(st.st_mode) || (st.st_mode & 0777) != 0640) fail_also("listen.sock missing or mode changed");
    fcntl(14, F_SETFL, O_NONBLOCK);
    int acc = accept(14, NULL, NULL);
    if (acc < 0) fail_also("fd 14 has no pending connection to accept");
    else {
        if (write(15, "hello", 5) != 5) fail_also("fd 15 cannot write");
        usleep(1000);
        expect_read(acc, "hello", 5, "accepted connection");
        struct ucred cr;
        socklen_t cl = sizeof cr;
        if (getsockopt(15, SOL_SOCKET, SO_PEERCRED, &cr, &cl) || cr.pid != getpid()) fail_also("fd 15 SO_PEERCRED is not this process");
    }
    int c2 = socket(AF_UNIX, SOCK_STREAM, 0);
    if (connect(c2, (struct sockaddr *)&sa, sizeof sa)) fail_also("cannot connect to listen.sock again");

    /* abstract dgram */
    expect_read(16, "abs-1", 5, "fd 16 datagram 1");
    expect_read(16, "abs-two", 7, "fd 16 datagram 2");
    tmp = socket(AF_UNIX, SOCK_DGRAM, 0);
    if (sendto(tmp, "late", 4, 0, (struct sockaddr *)&ab, ablen) != 4) fail_also("cannot send to the abstract name");
    expect_read(16, "late", 4, "fd 16 after restore");

    /* seqpacket */
    expect_read(18, "rec-1", 5, "fd 18 record 1");
    expect_read(18, "record-2", 8, "fd 18 record 2");
    vl = sizeof v;
    getsockopt(18, SOL_SOCKET, SO_TYPE, &v, &vl);
    if (v != SOCK_SEQPACKET) fail_also("fd 18 is not seqpacket");

    /* shutdown */
    expect_read(20, "bye", 3, "fd 20 data before EOF");
    if (recv(20, buf, sizeof buf, MSG_DONTWAIT) != 0) fail_also("fd 20 does not see EOF");
    if (send(19, "x", 1, MSG_NOSIGNAL) != -1 || errno != EPIPE) fail_also("fd 19 can still send after SHUT_WR");

    vl = sizeof v;
    getsockopt(21, SOL_SOCKET, SO_TYPE, &v, &vl);
    if (v != SOCK_DGRAM) fail_also("fd 21 is not a dgram socket");

    /* dgram client/server */
    expect_read(22, "to-server", 9, "fd 22 queued datagram");
    if (send(23, "more", 4, 0) != 4) fail_also("fd 23 cannot send to dgram.sock");
    expect_read(22, "more", 4, "fd 22 new datagram");
    struct sockaddr_un pn;
    socklen_t pl = sizeof pn;
    if (getpeername(23, (struct sockaddr *)&pn, &pl) || strcmp(pn.sun_path, ds.sun_path)) fail_also("fd 23 is not connected to dgram.sock");

    /* accepted connection */
    expect_read(24, "req", 3, "fd 24 queued data");
    expect_read(25, "resp", 4, "fd 25 queued data");
    if (write(24, "r2", 2) != 2) fail_also("fd 24 cannot write");
    expect_read(25, "r2", 2, "fd 25 new data");
    struct sockaddr_un an;
    socklen_t al = sizeof an;
    if (getsockname(24, (struct sockaddr *)&an, &al) || strcmp(an.sun_path, sa.sun_path)) fail_also("fd 24 lost the listener's name");

    /* bound socket whose file is gone */
    expect_read(26, "ghost", 5, "fd 26 queued datagram");
    if (send(27, "boo", 3, 0) != 3) fail_also("fd 27 cannot send to its unlinked peer");
    expect_read(26, "boo", 3, "fd 26 new datagram");
    al = sizeof an;
    if (getsockname(26, (struct sockaddr *)&an, &al) || strcmp(an.sun_path, gs.sun_path)) fail_also("fd 26 lost its name");
    if (access(gs.sun_path, F_OK) == 0) fail_also("gone.sock exists again");

    /* bulk stream queue */
    size_t got = 0;
    ssize_t k;
    while ((k = recv(29, back + got, sizeof back - got, MSG_DONTWAIT)) > 0) got += k;
    if (got != sizeof bulk || memcmp(back, bulk, sizeof bulk)) {
        snprintf(buf, sizeof buf, "fd 29 held %zu bytes, want %zu of the pattern", got, sizeof bulk);
        fail_also(buf);
    }

    /* peers gone */
    expect_read(30, "last words", 10, "fd 30 data its closed peer sent");
    if (recv(30, buf, sizeof buf, MSG_DONTWAIT) != 0) fail_also("fd 30 does not see EOF after the data");
    expect_read(31, "orphan", 6, "fd 31 datagram its closed peer sent");
    if (send(31, "x", 1, MSG_DONTWAIT) != -1) fail_also("fd 31 can send to its closed peer");

    /* seqpacket listener */
    fcntl(32, F_SETFL, O_NONBLOCK);
    int sacc = accept(32, NULL, NULL);
    if (sacc < 0) fail_also("fd 32 has no pending seqpacket connection");
    else {
        if (send(33, "seq-hello", 9, 0) != 9) fail_also("fd 33 cannot send");
        expect_read(sacc, "seq-hello", 9, "accepted seqpacket");
    }

    for (int f = 34; f < 64; f++) if (f != acc && f != c2 && f != tmp && f != sacc && fcntl(f, F_GETFD) != -1) { snprintf(buf, sizeof buf, "stray fd %d", f); fail_also(buf); }
    strcat(verdict, "\n");
    put("verdict", verdict[0] != '\n' ? verdict : "PASS\n");
    return 0;
}
