/* eventfd DIR: holds an eventfd (a kind jcriu does not dump yet) and sleeps; used to check
 * that a refused dump leaves the process running. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <unistd.h>

int main(int argc, char **argv) {
    if (argc < 2) return 2;
    char tmp[4096], dst[4096];
    int efd = eventfd(0, 0);
    if (efd < 0) return 2;
    snprintf(tmp, sizeof tmp, "%s/.ready.tmp", argv[1]);
    snprintf(dst, sizeof dst, "%s/ready", argv[1]);
    FILE *f = fopen(tmp, "w");
    fprintf(f, "%d\n", getpid());
    fclose(f);
    rename(tmp, dst);
    for (;;) pause();
}
