package org.jcriu.kerndat;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The features {@code check} knows, by name. Names are criu's ({@code criu check --feature
 * NAME}: LXC asks for mem_dirty_track and uffd-noncoop, runc/go-criu for the RPC equivalents)
 * plus jcriu's own for what its ptrace-driven engine relies on (ptrace_seize, pidfd_getfd, ...).
 *
 * <p>Category 1 is what every jcriu dump or restore needs: {@code check} fails without it.
 * Category 2 ({@code --extra}) is needed only by some process trees or options. Category 3
 * ({@code --experimental}). A criu feature that jcriu does not probe (it does not handle that
 * resource yet) is listed with category 0: asking for it answers "not supported by jcriu".
 */
public final class Features {
    record Feature(String name, int category, Probe probe) {}

    private static final Map<String, Feature> ALL = new LinkedHashMap<>();

    static {
        // Category 1: jcriu cannot dump or restore anything without these.
        add("ptrace_seize", 1, Probes::ptraceSeize);
        add("map_files", 1, Probes::mapFiles);
        add("ns_last_pid", 1, Probes::nsLastPid);
        add("process_vm_readv", 1, Probes::processVmReadv);
        add("proc_pid_mem", 1, Probes::procPidMem);
        add("pidfd_open", 1, Probes::pidfdOpen);
        add("pidfd_getfd", 1, Probes::pidfdGetfd);
        add("clone3_set_tid", 1, Probes::clone3SetTid);
        add("kcmp", 1, Probes::kcmp);
        add("memfd", 1, Probes::memfd);
        add("get_rseq_conf", 1, Probes::getRseqConf);
        add("mnt_id", 1, Probes::mntId);
        // Category 2: some trees or options need these.
        add("seccomp_filters", 2, Probes::seccompFilters);
        add("seccomp_suspend", 2, Probes::seccompSuspend);
        add("uffd", 2, Probes::uffd);
        add("uffd-noncoop", 2, Probes::uffdNoncoop);
        add("uffd-wp", 2, Probes::uffdWp);
        add("uffd-wp-async", 2, Probes::uffdWpAsync); // pre-dump's write tracker (predump.WriteTracker)
        add("pagemap_scan", 2, Probes::pagemapScan);
        add("pagemap_scan_guard_pages", 2, Probes::pagemapScanGuard);
        add("mem_dirty_track", 2, Probes::memDirtyTrack); // soft-dirty or uffd-wp-async
        add("soft_dirty", 3, Probes::softDirty); // one of the two ways of mem_dirty_track
        add("pidfd_store", 2, Probes::pidfdStore);
        add("timens", 2, Probes::timens);
        add("userns", 2, Probes::userns);
        add("cgroupns", 2, Probes::cgroupns);
        add("loginuid", 2, Probes::loginuid);
        add("ns_pid", 2, Probes::nsPid);
        add("openat2", 2, Probes::openat2);
        add("memfd_hugetlb", 2, Probes::memfdHugetlb);
        add("external_net_ns", 2, () -> null);
        // criu's names for resources jcriu does not handle yet.
        for (String n : List.of("aio_remap", "timerfd", "tun", "tun_ns", "fdinfo_lock", "autofs",
                "tcp_half_closed", "compat_cr", "can_map_vdso", "sk_ns", "sk_unix_file", "net_diag_raw", "nsid",
                "link_nsid", "kcmp_epoll", "newifindex", "nftables", "has_ipt_legacy", "apparmor_stacking",
                "network_lock_nftables", "sockopt_buf_lock", "move_mount_set_group", "ipv6_freebind",
                "timer_cr_ids", "overlayfs_maps", "breakpoints")) {
            add(n, 0, () -> "not supported by jcriu yet");
        }
    }

    private Features() {}

    private static void add(String name, int category, Probe p) {
        ALL.put(name, new Feature(name, category, p));
    }

    static Feature get(String name) {
        return ALL.get(name);
    }

    static List<Feature> category(int c) {
        List<Feature> l = new ArrayList<>();
        for (Feature f : ALL.values()) if (f.category() == c) l.add(f);
        return l;
    }

    public static List<String> names() {
        return List.copyOf(ALL.keySet());
    }

    /** The names, comma separated, wrapped at {@code width}, every line starting with {@code indent}. */
    public static String wrappedList(String indent, int width) {
        StringBuilder sb = new StringBuilder(indent);
        int pos = indent.length();
        List<String> n = names();
        for (int i = 0; i < n.size(); i++) {
            String item = n.get(i) + (i + 1 < n.size() ? "," : "");
            if (pos > indent.length() && pos + 1 + item.length() > width) {
                sb.append('\n').append(indent);
                pos = indent.length();
            } else if (pos > indent.length()) {
                sb.append(' ');
                pos++;
            }
            sb.append(item);
            pos += item.length();
        }
        return sb.append('\n').toString();
    }
}
