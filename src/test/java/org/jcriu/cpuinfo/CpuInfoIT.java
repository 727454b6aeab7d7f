package org.jcriu.cpuinfo;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import org.jcriu.image.ImageDir;
import org.jcriu.image.ImageReader;
import org.jcriu.image.ImageType;
import org.jcriu.image.ImageWriter;
import org.jcriu.image.proto.CoreEntry;
import org.jcriu.image.proto.CpuinfoEntry;
import org.jcriu.image.proto.CpuinfoX86Entry;
import org.jcriu.image.proto.UserX86XsaveEntry;
import org.jcriu.testing.Jcriu;
import org.jcriu.testing.Workload;

/** {@code cpuinfo dump|check}, RPC CPUINFO_DUMP/CHECK and --cpu-cap on dump and restore, on this machine's CPU. */
class CpuInfoIT {
    /** Bits no x86 CPU jcriu runs on is likely to have all of; a test takes the first this one lacks. */
    private static final List<String> RARE = List.of("avx512_4fmaps", "avx512_4vnniw", "avx512pf", "avx512er", "3dnow", "xop",
            "fma4", "tbm", "mpx", "hle");

    @TempDir
    Path tmp;
    Workload work;

    @AfterEach
    void cleanup() {
        if (work != null) work.close();
    }

    @Test
    void dumpThenCheckOnTheSameCpuSucceedsInEveryMode() throws Exception {
        Path img = Files.createDirectories(tmp.resolve("img"));
        Jcriu.Result d = Jcriu.run("cpuinfo", "dump", "-D", img);
        assertEquals(0, d.exit(), d.all());
        assertTrue(Files.size(img.resolve("cpuinfo.img")) > 8);
        for (String mode : List.of("", "--cpu-cap", "--cpu-cap=fpu", "--cpu-cap=ins", "--cpu-cap=cpu", "--cpu-cap=all",
                "--cpu-cap=none")) {
            Jcriu.Result c = mode.isEmpty() ? Jcriu.run("cpuinfo", "check", "-D", img) : Jcriu.run("cpuinfo", "check", "-D", img, mode);
            assertEquals(0, c.exit(), mode + ": " + c.all());
            assertEquals("", c.all(), "cpuinfo check says nothing when the CPU fits, as criu");
        }
        if (Files.isExecutable(Path.of("/usr/bin/crit"))) {
            String json = run(List.of("/usr/bin/crit", "decode", "-i", img.resolve("cpuinfo.img").toString()));
            assertTrue(json.contains("\"magic\": \"CPUINFO\"") && json.contains("\"capability_ver\": 2"), json);
        }
    }

    @Test
    void theImageHoldsWhatCpuidSaysAsCriuReadsIt() throws Exception {
        assumeTrue(Files.isExecutable(Path.of("/usr/bin/gcc")), "no gcc");
        Path img = Files.createDirectories(tmp.resolve("img"));
        assertEquals(0, Jcriu.run("cpuinfo", "dump", "-D", img).exit());
        CpuinfoX86Entry x = read(img).getX86Entry(0);
        Map<String, long[]> raw = rawCpuid();
        // raw registers, word by word (leaf 1 EDX bit 31 is dropped on AMD only)
        long edx1 = raw.get("1.0")[3];
        if (x.getVendorId() == CpuinfoX86Entry.Vendor.AMD) edx1 &= 0x7fffffffL;
        assertEquals(edx1, Integer.toUnsignedLong(x.getCapability(X86Caps.W_1_EDX)));
        assertEquals(raw.get("1.0")[2], Integer.toUnsignedLong(x.getCapability(X86Caps.W_1_ECX)));
        assertEquals(raw.get("7.0")[1], Integer.toUnsignedLong(x.getCapability(X86Caps.W_7_0_EBX)));
        assertEquals(raw.get("7.0")[2], Integer.toUnsignedLong(x.getCapability(X86Caps.W_7_0_ECX)));
        assertEquals(raw.get("7.0")[3], Integer.toUnsignedLong(x.getCapability(X86Caps.W_7_0_EDX)));
        assertEquals(raw.get("d.1")[0], Integer.toUnsignedLong(x.getCapability(X86Caps.W_D_1_EAX)));
        assertEquals(raw.get("80000001.0")[2], Integer.toUnsignedLong(x.getCapability(X86Caps.W_8000_0001_ECX)));
        assertEquals(raw.get("80000001.0")[3], Integer.toUnsignedLong(x.getCapability(X86Caps.W_8000_0001_EDX)));
        assertEquals(raw.get("d.0")[1], x.getXsaveSize());
        assertEquals(raw.get("d.0")[2], x.getXsaveSizeMax());
        long eax1 = raw.get("1.0")[0];
        assertEquals(eax1 & 0xf, x.getStepping());
        // CRIU's mask: the user components, minus PT, SSE and MPX bounds (its supervisor mask quirk)
        assertEquals(raw.get("d.0")[0] & 0x2ffL & ~0x10aL, x.getXfeaturesMask());
    }

    @Test
    void anImageClaimingAnInstructionThisCpuLacksFailsCheckNamingIt() throws Exception {
        Path img = Files.createDirectories(tmp.resolve("img"));
        assertEquals(0, Jcriu.run("cpuinfo", "dump", "-D", img).exit());
        String feature = claimMissing(img);
        Jcriu.Result c = Jcriu.run("cpuinfo", "check", "-D", img);
        assertEquals(1, c.exit(), c.all());
        assertEquals("Error: " + img.resolve("cpuinfo.img") + ": CPU instruction capabilities do not match run time: this CPU lacks "
                + feature + " (--cpu-cap=ins)\n", c.stderr());
        // --cpu-cap=fpu adds to the default (fpu,ins), as in criu: still refused; without ins it passes
        assertEquals(1, Jcriu.run("cpuinfo", "check", "-D", img, "--cpu-cap=fpu").exit());
        Jcriu.Result fpuOnly = Jcriu.run("cpuinfo", "check", "-D", img, "--cpu-cap=^ins");
        assertEquals(0, fpuOnly.exit(), fpuOnly.all());
        Jcriu.Result strict = Jcriu.run("cpuinfo", "check", "-D", img, "--cpu-cap=cpu,^ins");
        assertEquals(1, strict.exit(), strict.all());
        assertTrue(strict.stderr().contains("CPU capabilities do not match run time: this CPU lacks " + feature), strict.stderr());
    }

    @Test
    void checkWithoutAnImageSaysSo() {
        Jcriu.Result c = Jcriu.run("cpuinfo", "check", "-D", tmp);
        assertEquals(1, c.exit(), c.all());
        assertTrue(c.stderr().startsWith("Error: No cpuinfo image " + tmp.resolve("cpuinfo.img")), c.stderr());
    }

    @Test
    void rpcCpuinfoDumpAndCheck() throws Exception {
        Path py = Path.of("/usr/bin/python3");
        assumeTrue(Files.isExecutable(py) && new ProcessBuilder(py.toString(), "-c", "import pycriu").start().waitFor() == 0,
                "no pycriu (apt-get install criu)");
        Path script = tmp.resolve("cpuinfo_rpc.py");
        try (InputStream in = CpuInfoIT.class.getResourceAsStream("cpuinfo_rpc.py")) {
            Files.write(script, in.readAllBytes());
        }
        String jc = Jcriu.launcher().getFirst();
        assumeTrue(jc.endsWith("jcriu"), "needs bin/jcriu");
        Path img = Files.createDirectories(tmp.resolve("img"));
        String r = run(List.of(py.toString(), script.toString(), jc, "dump", img.toString()));
        assertEquals("{\"type\": \"CPUINFO_DUMP\", \"success\": true}", r);
        assertTrue(Files.exists(img.resolve("cpuinfo.img")));
        r = run(List.of(py.toString(), script.toString(), jc, "check", img.toString()));
        assertEquals("{\"type\": \"CPUINFO_CHECK\", \"success\": true}", r);
        String feature = claimMissing(img);
        r = run(List.of(py.toString(), script.toString(), jc, "check", img.toString()));
        assertTrue(r.contains("\"success\": false") && r.contains("this CPU lacks " + feature + " (--cpu-cap=ins)"), r);
        // cpu_cap = fpu (1): the instruction bits are not compared
        r = run(List.of(py.toString(), script.toString(), jc, "check", img.toString(), "1"));
        assertEquals("{\"type\": \"CPUINFO_CHECK\", \"success\": true}", r);
    }

    @Test
    void dumpWritesCpuinfoOnlyWithCpuCapAndRestoreChecksItOnlyThen() throws Exception {
        work = Workload.sleep(tmp.resolve("w"));
        int pid = work.pid();
        Path plain = Files.createDirectories(tmp.resolve("plain"));
        assertEquals(0, Jcriu.run("dump", "-t", pid, "-D", plain, "-R").exit());
        assertFalse(Files.exists(plain.resolve("cpuinfo.img")), "criu's default (fpu,ins without the image bit) writes none");
        Path img = Files.createDirectories(tmp.resolve("img"));
        Jcriu.Result d = Jcriu.run("dump", "-t", pid, "-D", img, "--cpu-cap");
        assertEquals(0, d.exit(), d.all());
        assertTrue(Files.exists(img.resolve("cpuinfo.img")));
        work.waitGone(java.time.Duration.ofSeconds(5));

        String feature = claimMissing(img);
        Jcriu.Result r = Jcriu.run("restore", "-d", "-D", img, "--cpu-cap=ins");
        assertEquals(1, r.exit(), r.all());
        assertTrue(r.stderr().contains("this CPU lacks " + feature + " (--cpu-cap=ins)"), r.stderr());
        assertFalse(Files.exists(Path.of("/proc/" + pid)), "nothing is restored when the CPU does not fit");

        Path noInfo = plain;
        r = Jcriu.run("restore", "-d", "-D", noInfo, "--cpu-cap=fpu");
        assertEquals(1, r.exit(), r.all());
        assertTrue(r.stderr().contains("No cpuinfo image"), r.stderr());
        assertFalse(Files.exists(Path.of("/proc/" + pid)));

        // the default does not read cpuinfo.img at all; none (or ^ins) accepts it
        r = Jcriu.run("restore", "-d", "-D", img, "--cpu-cap=all,^ins,^cpu");
        assertEquals(0, r.exit(), r.all());
        assertTrue(Files.exists(Path.of("/proc/" + pid)));
    }

    @Test
    void aCorruptedFpuFrameIsRefusedBeforeAnythingIsRestored() throws Exception {
        work = Workload.sleep(tmp.resolve("w"));
        int pid = work.pid();
        Path img = Files.createDirectories(tmp.resolve("img"));
        assertEquals(0, Jcriu.run("dump", "-t", pid, "-D", img).exit());
        work.waitGone(java.time.Duration.ofSeconds(5));
        ImageDir dir = new ImageDir(img);
        CoreEntry core;
        try (ImageReader r = dir.open(ImageType.CORE, pid)) {
            core = r.readOne(CoreEntry.parser());
        }
        var fp = core.getThreadInfo().getFpregs();
        assumeTrue(fp.hasXsave() && fp.getXsave().getYmmhSpaceCount() == 64, "no AVX state on this CPU");
        UserX86XsaveEntry.Builder x = fp.getXsave().toBuilder().clearYmmhSpace();
        for (int i = 0; i < 10; i++) x.addYmmhSpace(i);
        CoreEntry.Builder b = core.toBuilder();
        b.getThreadInfoBuilder().getFpregsBuilder().setXsave(x);
        try (ImageWriter w = dir.create(ImageType.CORE, pid)) {
            w.write(b.build());
        }
        Jcriu.Result r = Jcriu.run("restore", "-d", "-D", img);
        assertEquals(1, r.exit(), r.all());
        assertEquals("Error: " + img.resolve("core-" + pid + ".img") + ": Corruption in XFEATURE_YMM area of thread " + pid
                + " (expected 64 but 10 obtained)\n", r.stderr());
        assertFalse(Files.exists(Path.of("/proc/" + pid)));
    }

    @Test
    void pageServerIsRefusedWithOneClearMessage() {
        Jcriu.Result r = Jcriu.run("page-server", "--address", "127.0.0.1", "--port", "27027");
        assertEquals(1, r.exit(), r.all());
        assertEquals("Error: command 'page-server' is not implemented yet\n", r.stderr());
        r = Jcriu.run("dump", "-t", "1", "-D", tmp, "--page-server", "--address", "127.0.0.1", "--port", "27027");
        assertEquals(1, r.exit(), r.all());
        assertTrue(r.stderr().matches("Error: option --(page-server|address|port) is not implemented yet for 'dump'\n"), r.stderr());
    }

    /** Sets in cpuinfo.img the first of {@link #RARE} that the image (this CPU) lacks; returns its name. */
    private static String claimMissing(Path img) throws Exception {
        CpuinfoEntry e = read(img);
        CpuinfoX86Entry x = e.getX86Entry(0);
        int[] caps = x.getCapabilityList().stream().mapToInt(Integer::intValue).toArray();
        for (String name : RARE) {
            int bit = X86Caps.bit(name);
            if (X86Caps.has(caps, bit)) continue;
            X86Caps.set(caps, bit, true);
            CpuinfoX86Entry.Builder b = x.toBuilder().clearCapability();
            for (int c : caps) b.addCapability(c);
            try (ImageWriter w = new ImageDir(img).create(ImageType.CPUINFO)) {
                w.write(CpuinfoEntry.newBuilder().addX86Entry(b).build());
            }
            return name;
        }
        throw new org.opentest4j.TestAbortedException("this CPU has every rare feature");
    }

    private static CpuinfoEntry read(Path img) {
        try (ImageReader r = new ImageDir(img).open(ImageType.CPUINFO)) {
            return r.readOne(CpuinfoEntry.parser());
        }
    }

    private Map<String, long[]> rawCpuid() throws Exception {
        Path src = tmp.resolve("cpuid.c");
        try (InputStream in = CpuInfoIT.class.getResourceAsStream("cpuid.c")) {
            Files.write(src, in.readAllBytes());
        }
        Path bin = tmp.resolve("cpuid");
        run(List.of("gcc", "-O1", "-o", bin.toString(), src.toString()));
        Map<String, long[]> out = new HashMap<>();
        for (String l : run(List.of(bin.toString())).split("\n")) {
            String[] f = l.split(" ");
            long[] v = new long[4];
            for (int i = 0; i < 4; i++) v[i] = Long.parseLong(f[i + 1], 16);
            out.put(f[0], v);
        }
        return out;
    }

    private static String run(List<String> cmd) throws Exception {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectInput(Path.of("/dev/null").toFile()).start();
        String out = new String(p.getInputStream().readAllBytes());
        if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0) throw new AssertionError(cmd + " failed: " + out);
        return out.strip();
    }
}
