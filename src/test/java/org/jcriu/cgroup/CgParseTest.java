package org.jcriu.cgroup;

import static org.junit.jupiter.api.Assertions.*;

import java.nio.file.Path;
import java.util.List;

import org.jcriu.CriuException;
import org.jcriu.opts.Options;
import org.junit.jupiter.api.Test;

/** The text formats of org.jcriu.cgroup: /proc/PID/cgroup, --cgroup-props, mountinfo, property values. */
class CgParseTest {
    @Test
    void procCgroupLinesAreSortedByNameAndFiltered() {
        String text = "9:name=systemd:/\n8:pids:/a\n2:cpu,cpuacct:/\n0::/b\n";
        assertEquals(List.of(new CgMember("", "/b"), new CgMember("cpu,cpuacct", "/"), new CgMember("name=systemd", "/"),
                new CgMember("pids", "/a")), CgMember.parse(text, "f", n -> false));
        assertEquals(List.of(new CgMember("pids", "/a")), CgMember.parse(text, "f", n -> !n.equals("pids")));
        CriuException e = assertThrows(CriuException.class, () -> CgMember.parse("garbage\n", "/proc/1/cgroup", n -> false));
        assertTrue(e.getMessage().contains("/proc/1/cgroup"), e.getMessage());
    }

    @Test
    void hierarchyContainsEveryControllerAsAWord() {
        assertTrue(CgMember.contains(List.of("cpu", "cpuacct"), "cpu,cpuacct"));
        assertTrue(CgMember.contains(List.of("cpu"), "cpuacct,cpu"));
        assertFalse(CgMember.contains(List.of("cpu"), "cpuacct"));
        assertTrue(CgMember.contains(List.of(""), ""));
        assertFalse(CgMember.contains(List.of(""), "memory"));
        assertFalse(CgMember.contains(List.of("memory"), ""));
    }

    @Test
    void builtinPropertiesAreCriusAndSpecsMergeOrReplace() {
        CgProps p = CgProps.builtin();
        assertEquals(List.of("pids.max"), p.get("pids"));
        assertEquals("memory.limit_in_bytes", p.get("memory").get(0));
        assertEquals("memory.memsw.limit_in_bytes", p.get("memory").get(1));
        assertTrue(p.get("").contains("memory.max"));
        assertEquals(List.of(), p.get("freezer"));
        assertEquals(List.of(), p.get("nosuch"));
        p.parse("\"pids\":\n - \"strategy\": \"merge\"\n - \"properties\": [\"pids.x\", \"pids.y\"]\n\"cpu\":\n - \"strategy\": \"replace\"\n - \"properties\": [\"cpu.z\"]", "t");
        assertEquals(List.of("pids.max", "pids.x", "pids.y"), p.get("pids"));
        assertEquals(List.of("cpu.z"), p.get("cpu"));
        p.parse("\"new\":\n - \"strategy\": \"merge\"\n - \"properties\": []\n", "t");
        assertEquals(List.of(), p.get("new"));
    }

    @Test
    void badPropertySpecsNameWhatWasExpected() {
        CgProps p = CgProps.builtin();
        assertTrue(assertThrows(CriuException.class, () -> p.parse("pids:\n", "--cgroup-props")).getMessage()
                .contains("Expecting controller name"));
        assertTrue(assertThrows(CriuException.class, () -> p.parse("\"pids\":\n - \"strategy\": \"swap\"\n", "x")).getMessage()
                .contains("Unknown strategy \"swap\""));
        assertTrue(assertThrows(CriuException.class,
                () -> p.parse("\"pids\":\n - \"strategy\": \"merge\"\n - \"properties\": [\"a\" \"b\"]", "x")).getMessage()
                .contains("Expected ']'"));
    }

    @Test
    void valuesThatReadAsLlongMaxBecomeMinusOne() {
        assertTrue(CgroupDump.strtollIsMax("9223372036854775807"));
        assertTrue(CgroupDump.strtollIsMax("99999999999999999999"));
        assertFalse(CgroupDump.strtollIsMax("9223372036854771712"));
        assertFalse(CgroupDump.strtollIsMax("max"));
        assertFalse(CgroupDump.strtollIsMax("-1"));
        assertFalse(CgroupDump.strtollIsMax(""));
    }

    @Test
    void mountsAreFoundByControllersAndYardNamesAreCrius() {
        var m = Hierarchies.parseMountinfo("""
                32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw,relatime - cgroup cgroup rw,cpu,cpuacct
                40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd
                41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
                42 31 0:39 / /mnt/with\\040space rw - ext4 /dev/sda rw
                """);
        assertEquals(3, m.size());
        assertEquals("unified", Hierarchies.yardName(""));
        assertEquals("systemd", Hierarchies.yardName("name=systemd"));
        assertEquals("cpu,cpuacct", Hierarchies.yardName("cpu,cpuacct"));
    }

    @Test
    void yardDirectoriesAreNamedAfterTheirHierarchy() throws Exception {
        Path yard = java.nio.file.Files.createTempDirectory("yard");
        try {
            Hierarchies h = Hierarchies.of(yard.toString());
            assertEquals(yard.resolve("unified/a/b"), h.dir("", "/a/b"));
            assertEquals(yard.resolve("systemd"), h.dir("name=systemd", "/"));
        } finally {
            java.nio.file.Files.delete(yard);
        }
    }

    @Test
    void modesFollowTheOption() {
        Options o = new Options();
        assertEquals(CgMode.SOFT, CgMode.of(o), "CRIU's default is soft even without --manage-cgroups");
        o.manageCgroups = "strict";
        assertEquals(CgMode.STRICT, CgMode.of(o));
        o.manageCgroups = "ignore";
        assertEquals(CgMode.IGNORE, CgMode.of(o));
    }
}
