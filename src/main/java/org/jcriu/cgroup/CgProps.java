package org.jcriu.cgroup;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.jcriu.CriuException;
import org.jcriu.log.Log;
import org.jcriu.log.Logger;

/**
 * Which properties of each controller are dumped: CRIU's built-in table, then --cgroup-props,
 * then --cgroup-props-file, each in CRIU's simplified YAML
 * ({@code "cpu":\n - "strategy": "replace"\n - "properties": ["a", "b"]\n}); "merge" appends to
 * a controller already known, "replace" drops its list.
 *
 * <p>CRIU has no list for cgroup v2's controllers (its v2 hierarchy is the single nameless
 * controller, for which it dumps only the cgroup.* globals). jcriu also dumps the limits of the
 * v2 controllers below, when the file exists (a controller enabled in the parent's
 * subtree_control); they are ordinary properties, so CRIU restores such an image too. Listed as
 * controller {@code "unified"} so that --cgroup-props can name it.
 */
final class CgProps {
    private static final Logger LOG = Log.get("cg-prop");
    static final String V2 = "unified";

    /** Written in this order: memory.limit_in_bytes before memory.memsw.limit_in_bytes. */
    private static final String BUILTIN = """
            "cpu":
             - "strategy": "replace"
             - "properties": [ "cpu.shares", "cpu.cfs_period_us", "cpu.cfs_quota_us", "cpu.rt_period_us", "cpu.rt_runtime_us" ]
            "memory":
             - "strategy": "replace"
             - "properties": [ "memory.limit_in_bytes", "memory.memsw.limit_in_bytes", "memory.swappiness", "memory.soft_limit_in_bytes", "memory.move_charge_at_immigrate", "memory.oom_control", "memory.use_hierarchy", "memory.kmem.limit_in_bytes", "memory.kmem.tcp.limit_in_bytes" ]
            "cpuset":
             - "strategy": "replace"
             - "properties": [ "cpuset.cpus", "cpuset.mems", "cpuset.memory_migrate", "cpuset.cpu_exclusive", "cpuset.mem_exclusive", "cpuset.mem_hardwall", "cpuset.memory_spread_page", "cpuset.memory_spread_slab", "cpuset.sched_load_balance", "cpuset.sched_relax_domain_level" ]
            "blkio":
             - "strategy": "replace"
             - "properties": [ "blkio.weight" ]
            "freezer":
             - "strategy": "replace"
             - "properties": [ ]
            "perf_event":
             - "strategy": "replace"
             - "properties": [ ]
            "net_cls":
             - "strategy": "replace"
             - "properties": [ "net_cls.classid" ]
            "net_prio":
             - "strategy": "replace"
             - "properties": [ "net_prio.ifpriomap" ]
            "pids":
             - "strategy": "replace"
             - "properties": [ "pids.max" ]
            "devices":
             - "strategy": "replace"
             - "properties": [ "devices.list" ]
            "unified":
             - "strategy": "replace"
             - "properties": [ "cpuset.cpus", "cpuset.mems", "cpu.weight", "cpu.max", "cpu.max.burst", "cpu.idle", "memory.min", "memory.low", "memory.high", "memory.max", "memory.swap.high", "memory.swap.max", "memory.zswap.max", "memory.oom.group", "io.weight", "io.max", "pids.max" ]
            """;

    /** Read by every hierarchy (v1), whatever its controllers. */
    static final List<String> GLOBAL_V1 = List.of("cgroup.clone_children", "notify_on_release", "cgroup.procs", "tasks");
    static final List<String> GLOBAL_V2 = List.of("cgroup.subtree_control", "cgroup.max.descendants", "cgroup.max.depth",
            "cgroup.freeze", "cgroup.type");

    private final Map<String, List<String>> props = new LinkedHashMap<>();

    private CgProps() {}

    static CgProps builtin() {
        CgProps p = new CgProps();
        p.parse(BUILTIN, "built-in properties");
        return p;
    }

    /** The built-in table, then {@code spec} (--cgroup-props), then {@code file} (--cgroup-props-file). */
    static CgProps of(String spec, String file) {
        CgProps p = builtin();
        if (spec != null && !spec.isEmpty()) p.parse(spec, "--cgroup-props");
        if (file != null) {
            String text;
            try {
                text = Files.readString(Path.of(file), StandardCharsets.UTF_8);
            } catch (IOException e) {
                throw new CriuException("Can't open file " + file + ": " + e.getMessage(), e);
            }
            p.parse(text, "--cgroup-props-file " + file);
        }
        return p;
    }

    /** Properties of controller {@code name} ("" is cgroup v2); empty when none are known. */
    List<String> get(String name) {
        List<String> l = props.get(name.isEmpty() ? V2 : name);
        return l == null ? List.of() : l;
    }

    void parse(String s, String where) {
        Parser p = new Parser(s, where);
        while (!p.end()) {
            String ctl = p.quoted(false, "Expecting controller name");
            p.symbols(":\n - ", "Expected ':\\n - ' sequence controller's " + ctl + " stream");
            p.word("\"strategy\":", "Expected 'strategy:' keyword in controller's " + ctl + " stream");
            String strategy = p.quoted(true, "Expected strategy in controller's " + ctl + " stream");
            if (!strategy.equals("merge") && !strategy.equals("replace")) {
                throw p.error("Unknown strategy \"" + strategy + "\" in controller's " + ctl + " stream");
            }
            p.symbols("\n - ", "Expected '\\n - ' sequence controller's " + ctl + " stream");
            p.word("\"properties\":", "Expected \"properties:\" keyword in controller's " + ctl + " stream");
            p.symbol('[', "Expected '[' sequence controller's " + ctl + " properties stream");
            List<String> list = new ArrayList<>();
            p.spaces();
            if (p.peek() == ']') {
                p.pos++;
            } else {
                while (true) {
                    list.add(p.quoted(true, "Expected property name for controller " + ctl));
                    p.spaces();
                    if (p.peek() == ',') {
                        p.pos++;
                        continue;
                    }
                    p.symbol(']', "Expected ']' in controller's " + ctl + " stream");
                    break;
                }
            }
            p.spaces();
            if (!p.end()) p.symbol('\n', "Expected '\\n' symbol in controller's " + ctl + " stream");
            if (strategy.equals("merge") && props.containsKey(ctl)) {
                LOG.debug("Merging \"%s\" controller properties", ctl);
                List<String> l = new ArrayList<>(props.get(ctl));
                l.addAll(list);
                props.put(ctl, List.copyOf(l));
            } else {
                if (props.containsKey(ctl)) LOG.debug("Replacing \"%s\" controller properties", ctl);
                props.remove(ctl);
                props.put(ctl, List.copyOf(list));
            }
        }
    }

    /** CRIU's hand-written scanner: spaces are skipped where it skips them, newlines are syntax. */
    private static final class Parser {
        final String s;
        final String where;
        int pos;

        Parser(String s, String where) {
            this.s = s;
            this.where = where;
        }

        boolean end() {
            return pos >= s.length();
        }

        char peek() {
            return end() ? '\0' : s.charAt(pos);
        }

        void spaces() {
            while (pos < s.length() && s.charAt(pos) == ' ') pos++;
        }

        CriuException error(String msg) {
            return new CriuException("cg-prop: " + msg + " (" + where + ", offset " + pos + ")");
        }

        String quoted(boolean skipSpaces, String msg) {
            if (skipSpaces) spaces();
            if (peek() != '"') throw error(msg);
            int close = s.indexOf('"', pos + 1);
            if (close <= pos + 1) throw error(msg);
            String v = s.substring(pos + 1, close);
            pos = close + 1;
            return v;
        }

        void symbols(String seq, String msg) {
            spaces();
            if (!s.startsWith(seq, pos)) throw error(msg);
            pos += seq.length();
        }

        void symbol(char c, String msg) {
            spaces();
            if (peek() != c) throw error(msg);
            pos++;
        }

        void word(String w, String msg) {
            spaces();
            if (!s.startsWith(w, pos)) throw error(msg);
            pos += w.length();
        }
    }
}
