package org.jcriu.image;

import com.google.protobuf.Message;
import com.google.protobuf.Parser;
import java.util.HashMap;
import java.util.Locale;
import java.util.Map;
import java.util.function.Supplier;
import org.jcriu.image.proto.*;

/**
 * Every CRIU 4.2 image: its magic, file-name pattern (String.format: %d ids and pids, %x hex
 * ids, %s stats kind), head magic, entry message and extra payload. Constants are named after
 * CRIU's {@code *_MAGIC} macros, which is also the "magic" name crit prints. Types that share a
 * magic with an earlier one (SHMEM_PAGEMAP, PSIGNAL, ...) are aliases: a file of theirs decodes
 * as the earlier type.
 */
public enum ImageType {
    INVENTORY(0x58313116, "inventory.img", Head.NONE, () -> InventoryEntry.getDefaultInstance()),
    PSTREE(0x50273030, "pstree.img", () -> PstreeEntry.getDefaultInstance()),
    FDINFO(0x56213732, "fdinfo-%d.img", () -> FdinfoEntry.getDefaultInstance()),
    /** First entry is a PagemapHead, then PagemapEntry ones. */
    PAGEMAP(0x56084025, "pagemap-%d.img", () -> PagemapHead.getDefaultInstance(), () -> PagemapEntry.getDefaultInstance()),
    SHMEM_PAGEMAP(0x56084025, "pagemap-shmem-%d.img", () -> PagemapHead.getDefaultInstance(), () -> PagemapEntry.getDefaultInstance()),
    PAGES(0, "pages-%d.img", Head.RAW, null),
    CORE(0x55053847, "core-%d.img", () -> CoreEntry.getDefaultInstance()),
    IDS(0x54432030, "ids-%d.img", () -> TaskKobjIdsEntry.getDefaultInstance()),
    VMAS(0x54123737, "vmas-%d.img", () -> VmaEntry.getDefaultInstance()),
    PIPES(0x56513555, "pipes.img", () -> PipeEntry.getDefaultInstance()),
    PIPES_DATA(0x56453709, "pipes-data.img", () -> PipeDataEntry.getDefaultInstance(), Extra.PIPE_DATA),
    FIFO(0x58364939, "fifo.img", () -> FifoEntry.getDefaultInstance()),
    FIFO_DATA(0x59333054, "fifo-data.img", () -> PipeDataEntry.getDefaultInstance(), Extra.PIPE_DATA),
    SIGACT(0x55344201, "sigacts-%d.img", () -> SaEntry.getDefaultInstance()),
    UNIXSK(0x54373943, "unixsk.img", () -> UnixSkEntry.getDefaultInstance()),
    INETSK(0x56443851, "inetsk.img", () -> InetSkEntry.getDefaultInstance()),
    PACKETSK(0x60454618, "packetsk.img", () -> PacketSockEntry.getDefaultInstance()),
    ITIMERS(0x57464056, "itimers-%d.img", () -> ItimerEntry.getDefaultInstance()),
    POSIX_TIMERS(0x52603957, "posix-timers-%d.img", () -> PosixTimerEntry.getDefaultInstance()),
    SK_QUEUES(0x56264026, "sk-queues.img", () -> SkPacketEntry.getDefaultInstance(), Extra.SK_QUEUE),
    UTSNS(0x54473203, "utsns-%d.img", () -> UtsnsEntry.getDefaultInstance()),
    CREDS(0x54023547, "creds-%d.img", () -> CredsEntry.getDefaultInstance()),
    IPC_VAR(0x53115007, "ipcns-var-%d.img", () -> IpcVarEntry.getDefaultInstance()),
    IPCNS_SHM(0x46283044, "ipcns-shm-%d.img", () -> IpcShmEntry.getDefaultInstance(), Extra.IPC_SHM),
    IPCNS_MSG(0x55453737, "ipcns-msg-%d.img", () -> IpcMsgEntry.getDefaultInstance(), Extra.IPC_MSG),
    IPCNS_SEM(0x59573019, "ipcns-sem-%d.img", () -> IpcSemEntry.getDefaultInstance(), Extra.IPC_SEM),
    REG_FILES(0x50363636, "reg-files.img", () -> RegFileEntry.getDefaultInstance()),
    EXT_FILES(0x59255641, "ext-files.img", () -> ExtFileEntry.getDefaultInstance()),
    FS(0x51403912, "fs-%d.img", () -> FsEntry.getDefaultInstance()),
    MM(0x57492820, "mm-%d.img", () -> MmEntry.getDefaultInstance()),
    REMAP_FPATH(0x59133954, "remap-fpath.img", () -> RemapFilePathEntry.getDefaultInstance()),
    /** First entry is a GhostFileEntry; chunked files continue with GhostChunkEntry ones. */
    GHOST_FILE(0x52583605, "ghost-file-%x.img", () -> GhostFileEntry.getDefaultInstance(), () -> GhostChunkEntry.getDefaultInstance(), Extra.GHOST),
    TCP_STREAM(0x51465506, "tcp-stream-%x.img", () -> TcpStreamEntry.getDefaultInstance(), Extra.TCP_QUEUES),
    EVENTFD_FILE(0x44523722, "eventfd.img", () -> EventfdFileEntry.getDefaultInstance()),
    EVENTPOLL_FILE(0x45023858, "eventpoll.img", () -> EventpollFileEntry.getDefaultInstance()),
    EVENTPOLL_TFD(0x44433746, "eventpoll-tfd.img", () -> EventpollTfdEntry.getDefaultInstance()),
    SIGNALFD(0x57323820, "signalfd.img", () -> SignalfdEntry.getDefaultInstance()),
    INOTIFY_FILE(0x48424431, "inotify.img", () -> InotifyFileEntry.getDefaultInstance()),
    INOTIFY_WD(0x54562009, "inotify-wd.img", () -> InotifyWdEntry.getDefaultInstance()),
    MNTS(0x55563928, "mountpoints-%d.img", () -> MntEntry.getDefaultInstance()),
    NETDEV(0x57373951, "netdev-%d.img", () -> NetDeviceEntry.getDefaultInstance()),
    NETNS(0x55933752, "netns-%d.img", () -> NetnsEntry.getDefaultInstance()),
    TTY_FILES(0x59433025, "tty.img", () -> TtyFileEntry.getDefaultInstance()),
    TTY_INFO(0x59453036, "tty-info.img", () -> TtyInfoEntry.getDefaultInstance()),
    TTY_DATA(0x59413026, "tty-data.img", () -> TtyDataEntry.getDefaultInstance()),
    FILE_LOCKS(0x54323616, "filelocks.img", () -> FileLockEntry.getDefaultInstance()),
    RLIMIT(0x57113925, "rlimit-%d.img", () -> RlimitEntry.getDefaultInstance()),
    FANOTIFY_FILE(0x55096122, "fanotify.img", () -> FanotifyFileEntry.getDefaultInstance()),
    FANOTIFY_MARK(0x56506035, "fanotify-mark.img", () -> FanotifyMarkEntry.getDefaultInstance()),
    /** Signals pending for the whole thread group. */
    SIGNAL(0x59255647, "signal-s-%d.img", () -> SiginfoEntry.getDefaultInstance()),
    /** Signals pending for one thread. */
    PSIGNAL(0x59255647, "signal-p-%d.img", () -> SiginfoEntry.getDefaultInstance()),
    NETLINK_SK(0x58005614, "netlinksk.img", () -> NetlinkSkEntry.getDefaultInstance()),
    NS_FILES(0x61394011, "ns-files.img", () -> NsFileEntry.getDefaultInstance()),
    TUNFILE(0x57143751, "tunfile.img", () -> TunfileEntry.getDefaultInstance()),
    CGROUP(0x59383330, "cgroup.img", () -> CgroupEntry.getDefaultInstance()),
    TIMERFD(0x50493712, "timerfd.img", () -> TimerfdEntry.getDefaultInstance()),
    CPUINFO(0x61404013, "cpuinfo.img", () -> CpuinfoEntry.getDefaultInstance()),
    USERNS(0x55474906, "userns-%d.img", () -> UsernsEntry.getDefaultInstance()),
    SECCOMP(0x64413049, "seccomp.img", () -> SeccompEntry.getDefaultInstance()),
    BINFMT_MISC(0x67343323, "binfmt-misc.img", () -> BinfmtMiscEntry.getDefaultInstance()),
    BINFMT_MISC_OLD(0x67343323, "binfmt-misc-%d.img", () -> BinfmtMiscEntry.getDefaultInstance()),
    AUTOFS(0x49353943, "autofs-%d.img", () -> AutofsEntry.getDefaultInstance()),
    FILES(0x56303138, "files.img", () -> FileEntry.getDefaultInstance()),
    MEMFD_INODE(0x48453499, "memfd.img", () -> MemfdInodeEntry.getDefaultInstance()),
    TIMENS(0x43114433, "timens-%d.img", () -> TimensEntry.getDefaultInstance()),
    PIDNS(0x61157326, "pidns-%d.img", () -> PidnsEntry.getDefaultInstance()),
    BPFMAP_FILE(0x57506142, "bpfmap-file.img", () -> BpfmapFileEntry.getDefaultInstance()),
    BPFMAP_DATA(0x64324033, "bpfmap-data.img", () -> BpfmapDataEntry.getDefaultInstance(), Extra.BPFMAP_DATA),
    APPARMOR(0x59423047, "apparmor.img", () -> ApparmorEntry.getDefaultInstance()),
    PIDFD(0x54435556, "pidfd.img", () -> PidfdEntry.getDefaultInstance()),
    IFADDR(0, "ifaddr-%d.img", Head.RAW, null),
    ROUTE(0, "route-%d.img", Head.RAW, null),
    ROUTE6(0, "route6-%d.img", Head.RAW, null),
    RULE(0, "rule-%d.img", Head.RAW, null),
    IPTABLES(0, "iptables-%d.img", Head.RAW, null),
    IP6TABLES(0, "ip6tables-%d.img", Head.RAW, null),
    NFTABLES(0, "nftables-%d.img", Head.RAW, null),
    TMPFS_IMG(0, "tmpfs-%d.tar.gz.img", Head.RAW, null),
    TMPFS_DEV(0, "tmpfs-dev-%d.tar.gz.img", Head.RAW, null),
    NETNF_CT(0, "netns-ct-%d.img", Head.RAW, null),
    NETNF_EXP(0, "netns-exp-%d.img", Head.RAW, null),
    /** Pre-pagemap page images of CRIU 1.x: only recognised, never written. */
    PAGES_OLD(0x56084025, "pages-%d.img", () -> PagemapHead.getDefaultInstance(), () -> PagemapEntry.getDefaultInstance()),
    SHM_PAGES_OLD(0x56084025, "pages-shmem-%d.img", () -> PagemapHead.getDefaultInstance(), () -> PagemapEntry.getDefaultInstance()),
    /** stats-dump / stats-restore: statistics for callers such as podman, not process state. */
    STATS(0x57093306, "stats-%s", Head.SERVICE, () -> StatsEntry.getDefaultInstance()),
    IRMAP_CACHE(0x57004059, "irmap-cache", Head.SERVICE, () -> IrmapCacheEntry.getDefaultInstance());

    private final int magic;
    private final String pattern;
    private final Head head;
    // Suppliers, so that naming one image type does not initialise every message class and
    // descriptor (a measurable part of jcrit's start-up). Lambdas rather than method references:
    // linking a method reference loads its class, linking a lambda loads nothing until it runs.
    private final Supplier<Message> first;
    private final Supplier<Message> entry;
    private final Extra extra;

    ImageType(int magic, String pattern, Supplier<Message> entry) {
        this(magic, pattern, Head.COMMON, entry, entry, Extra.NONE);
    }

    ImageType(int magic, String pattern, Head head, Supplier<Message> entry) {
        this(magic, pattern, head, entry, entry, Extra.NONE);
    }

    ImageType(int magic, String pattern, Supplier<Message> entry, Extra extra) {
        this(magic, pattern, Head.COMMON, entry, entry, extra);
    }

    ImageType(int magic, String pattern, Supplier<Message> first, Supplier<Message> entry) {
        this(magic, pattern, Head.COMMON, first, entry, Extra.NONE);
    }

    ImageType(int magic, String pattern, Supplier<Message> first, Supplier<Message> entry, Extra extra) {
        this(magic, pattern, Head.COMMON, first, entry, extra);
    }

    ImageType(int magic, String pattern, Head head, Supplier<Message> first, Supplier<Message> entry, Extra extra) {
        this.magic = magic;
        this.pattern = pattern;
        this.head = head;
        this.first = first;
        this.entry = entry;
        this.extra = extra;
    }

    private static final Map<Integer, ImageType> BY_MAGIC = new HashMap<>();
    private static final Map<String, ImageType> BY_NAME = new HashMap<>();

    static {
        for (ImageType t : values()) {
            if (t.head != Head.RAW) {
                BY_MAGIC.putIfAbsent(t.magic, t);
            }
            BY_NAME.put(t.name(), t);
        }
    }

    /** The type magic (0 for raw images). */
    public int magic() {
        return magic;
    }

    public Head head() {
        return head;
    }

    public boolean isRaw() {
        return head == Head.RAW;
    }

    public String pattern() {
        return pattern;
    }

    /** The file name for the given ids, e.g. {@code CORE.fileName(42)} is "core-42.img". */
    public String fileName(Object... args) {
        return String.format(Locale.ROOT, pattern, args);
    }

    /** Prototype of the first entry (differs from {@link #entry()} for PAGEMAP and GHOST_FILE); null for raw images. */
    public Message firstEntry() {
        return first == null ? null : first.get();
    }

    /** True when the first entry is of another message than the rest (PAGEMAP's head, GHOST_FILE's). */
    public boolean hasHeadEntry() {
        return first != entry;
    }

    /** Prototype of the entries after the first; null for raw images. */
    public Message entry() {
        return entry == null ? null : entry.get();
    }

    @SuppressWarnings("unchecked")
    public Parser<? extends Message> parser() {
        return entry == null ? null : (Parser<? extends Message>) entry.get().getParserForType();
    }

    public Extra extra() {
        return extra;
    }

    /**
     * The type a file with this type magic decodes as: aliases sharing a magic resolve to the
     * first declared type (pagemap-shmem-N.img is a PAGEMAP, signal-p-N.img a SIGNAL). Null
     * when no image has that magic.
     */
    public static ImageType byMagic(int magic) {
        return BY_MAGIC.get(magic);
    }

    /** The canonical type of this one's magic: the name crit prints for its files. */
    public ImageType canonical() {
        return isRaw() ? this : BY_MAGIC.get(magic);
    }

    public static ImageType byName(String name) {
        return BY_NAME.get(name);
    }
}
