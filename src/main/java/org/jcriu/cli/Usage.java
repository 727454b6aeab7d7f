package org.jcriu.cli;

import org.jcriu.kerndat.Features;

/** The --help text: criu(8)'s commands and options, grouped, in jcriu's words. */
final class Usage {
    private Usage() {}

    static String text(String prog) {
        return """
                Usage:
                  %1$s dump|pre-dump -t PID [<options>]
                  %1$s restore [<options>]
                  %1$s check [--extra|--experimental|--all|--feature NAME]
                  %1$s page-server|lazy-pages|service [<options>]
                  %1$s swrk FD
                  %1$s dedup | cpuinfo dump | cpuinfo check

                Commands:
                  dump           checkpoint the process tree rooted at PID into image files
                  pre-dump       copy memory ahead of a dump, leaving the tasks running
                  restore        recreate the process tree from image files
                  check          probe the kernel for what checkpoint/restore needs
                  page-server    receive pages of a dump over the network
                  lazy-pages     serve memory to a restored tree on demand (userfaultfd)
                  service        answer RPC requests on a UNIX socket
                  swrk FD        answer RPC requests on an inherited socket (libcriu, runc)
                  dedup          drop pages already held by parent images
                  cpuinfo dump   record this CPU's features in cpuinfo.img
                  cpuinfo check  tell whether this CPU can run tasks from cpuinfo.img

                Boolean long options have a --no- form (--display-stats / --no-display-stats).
                Options may also come from config files, read in this order:
                /etc/criu/default.conf, $HOME/.criu/default.conf, $CRIU_CONFIG_FILE,
                --config FILE (--config and --no-default-config skip the first two).
                An option jcriu does not implement yet for a command makes it fail, naming it.

                Common:
                  -D|--images-dir DIR     image files directory (default: current directory)
                  -W|--work-dir DIR       where logs, pidfiles and stats go (default: images dir)
                  -o|--log-file FILE      log file, relative to the work dir; '-' is stdout
                                          (default: log to stderr)
                  -v[v...]|-vNUM          more log output; NUM: 0 none, 1 errors, 2 warnings
                  --verbosity[=NUM]       (default), 3 info with timestamps, 4 debug
                  --log-pid               one log file per restored task (FILE.PID)
                  --display-stats         print dump/restore statistics at the end
                  --pidfile FILE          write the root task, service or page-server pid
                  --config FILE           read options from FILE
                  --no-default-config     do not read the default config files
                  --close FD              close FD before doing anything
                  -L|--libdir DIR         plugin directory
                  --action-script FILE    run FILE at each stage (CRTOOLS_SCRIPT_ACTION)
                  --stream                images go through criu-image-streamer
                  --unprivileged          accept the limits of running without root
                  --deprecated            allow deprecated behaviour
                  -V|--version            print the version
                  -h|--help               print this help

                Dump and pre-dump:
                  -t|--tree PID           root of the process tree to checkpoint
                  -R|--leave-running      let the tasks run after the dump
                  -s|--leave-stopped      leave the tasks stopped (dump and restore)
                  -j|--shell-job          tasks belong to a shell job (session, tty)
                  -l|--file-locks         checkpoint/restore file locks
                  --tcp-established       checkpoint/restore established TCP connections
                  --tcp-close             restore TCP connections closed
                  --skip-in-flight        ignore half-open TCP connections
                  -x|--ext-unix-sk[=INO,...]  allow external UNIX sockets
                  --link-remap            link unlinked files back if needed
                  --ghost-limit SIZE      largest deleted file kept in images (K, M, G; 1M)
                  --ghost-fiemap          copy sparse deleted files with FIEMAP (default on)
                  --evasive-devices       use any path to a device file
                  --timeout SECONDS       limit for freezing the tree (default 10)
                  --freeze-cgroup PATH    freeze the tree with this cgroup freezer
                  --manage-cgroups[=MODE] none, props, soft (default), full, strict, ignore
                  --cgroup-root [CTL:]/ROOT   cgroup root to dump or restore into
                  --cgroup-props SPEC / --cgroup-props-file FILE / --cgroup-dump-controller NAME
                  --cgroup-yard DIR       use these mounted cgroup hierarchies
                  --external RES          external resource: mnt[..], dev[..], file[..],
                                          tty[..], unix[..], net[..], pid[..] ...
                  -M|--ext-mount-map K:V|auto  external mount mapping (old form of --external)
                  --enable-external-sharing, --enable-external-masters
                  --skip-mnt PATH         do not dump this mount point
                  --enable-fs FS[,FS]     dump these filesystems' mounts as they are
                  --empty-ns net          create the namespace, do not restore it
                  -r|--root DIR           root directory of the tree
                  --track-mem             track memory changes for incremental dumps
                  --prev-images-dir DIR   parent images, relative to the images dir
                  --pre-dump-mode MODE    splice (default) or read
                  --auto-dedup            drop pages from parent images as they are reused
                  --page-server           send pages to a page server (--address, --port)
                  --lazy-pages            leave memory to be fetched by lazy-pages later
                  --force-irmap / --irmap-scan-path PATH   resolve inotify watch paths
                  --cpu-cap[=CAPS]        fpu, cpu, ins, all, none; ^CAP removes one
                  --file-validation MODE  filesize or buildid (default)
                  --network-lock MODE     iptables (default), nftables or skip
                  --allow-uprobes         accept uprobes mappings

                Restore:
                  -d|--restore-detached   do not wait for the restored tree
                  -S|--restore-sibling    restore the root as a sibling (with -d)
                  --inherit-fd fd[N]:RES  use our fd N for the resource RES
                  -J|--join-ns NS:PID|FILE[,UID,GID]   restore into an existing namespace
                  --veth-pair IN=OUT      name of the outer veth device
                  --lsm-profile TYPE:NAME / --lsm-mount-context CTX
                  --weak-sysctls          skip sysctls this kernel does not have
                  --mntns-compat-mode     old mount restore engine
                  --skip-file-rwx-check   do not check file permissions
                  --exec-cmd -- CMD...    run CMD as the parent of the restored tree

                Page server, lazy pages, service:
                  --address ADDR --port PORT   where to listen or connect
                  --ps-socket FD          use this connected socket
                  -d|--daemon             run in the background
                  --status-fd FD          write \\0 to FD when ready
                  --tls, --tls-cacert FILE, --tls-cacrl FILE, --tls-cert FILE,
                  --tls-key FILE, --tls-no-cn-verify

                Check:
                  --extra                 also check features needed in some cases
                  --experimental          also check experimental features
                  --all                   --extra and --experimental
                  --feature NAME          check one feature; 'list' prints the names:
                """.formatted(prog) + Features.wrappedList("                            ", 80);
    }
}
