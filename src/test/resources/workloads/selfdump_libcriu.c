/* A C program that checkpoints itself with upstream libcriu (criu_dump() without a pid, the
 * service binary set to jcriu), as CRIU's own libcriu self-dump test does: criu_dump() returns
 * 0 in the original left running and 1 in a restored copy. Then it counts into DIR/count until
 * SIGTERM and checks its memory.
 *   selfdump_libcriu DIR JCRIU leave|kill
 * DIR/result: "ret=N" once criu_dump() returned (the original with leave, a restored copy with
 * kill), or "ret=-E errno=..." when it failed. Built by the test against Debian's criu package's
 * libcriu.so.2; criu.h needs protobuf-c's headers, so the few calls are declared here (criu.h's
 * signatures). */
#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "workload.h"

int criu_init_opts(void);
int criu_set_service_binary(const char *path);
void criu_set_images_dir_fd(int fd);
int criu_set_log_file(const char *log_file);
void criu_set_log_level(int log_level);
void criu_set_leave_running(bool leave_running);
int criu_dump(void);

static unsigned char data[1 << 20];

int main(int argc, char **argv) {
    char img[4200], text[256];
    int leave, fd, ret, ok = 1;
    long i, count = 0;

    if (argc < 4) return 2;
    snprintf(dir, sizeof dir, "%s", argv[1]);
    leave = strcmp(argv[3], "leave") == 0;
    signal(SIGTERM, on_term);
    for (i = 0; i < (long)sizeof data; i++) data[i] = (unsigned char)(i * 31 + 7);
    snprintf(img, sizeof img, "%s/img", dir);
    mkdir(img, 0755);
    fd = open(img, O_DIRECTORY);
    if (fd < 0) return 3;
    if (criu_init_opts() < 0) return 4;
    criu_set_service_binary(argv[2]);
    criu_set_images_dir_fd(fd);
    criu_set_log_file("dump.log");
    criu_set_log_level(4);
    criu_set_leave_running(leave);
    snprintf(text, sizeof text, "%d", getpid());
    put("ready", text);

    ret = criu_dump();
    if (ret < 0) snprintf(text, sizeof text, "ret=%d errno=%d\n", ret, errno);
    else snprintf(text, sizeof text, "ret=%d\n", ret);
    put("result", text);
    if (ret < 0) return 1;
    printf("%s\n", ret == 1 ? "restored" : "dumped, running on");
    fflush(stdout);
    close(fd);

    while (!stop) {
        struct timespec ts = {0, 20 * 1000 * 1000};
        count++;
        snprintf(text, sizeof text, "%ld", count);
        put("count", text);
        nanosleep(&ts, NULL);
    }
    for (i = 0; i < (long)sizeof data; i++) if (data[i] != (unsigned char)(i * 31 + 7)) ok = 0;
    snprintf(verdict, sizeof verdict, ok ? "PASS ret=%d count=%ld\n" : "FAIL data changed (ret=%d count=%ld)\n", ret, count);
    put("verdict", verdict);
    return 0;
}
