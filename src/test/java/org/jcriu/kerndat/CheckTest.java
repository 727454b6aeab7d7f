package org.jcriu.kerndat;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

import org.jcriu.CriuException;
import org.jcriu.log.Log;
import org.jcriu.opts.Options;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The probes against this machine's kernel (6.18, root): what jcriu needs is all there. */
class CheckTest {
    final ByteArrayOutputStream out = new ByteArrayOutputStream();

    @AfterEach
    void reset() {
        Log.setStdout(System.out);
    }

    int run(Options o) {
        Log.setStdout(new PrintStream(out, true, StandardCharsets.UTF_8));
        return Check.run(o);
    }

    @Test
    void requiredFeaturesLookGood() {
        assertEquals(0, run(new Options()), out.toString());
        assertEquals("Looks good.\n", out.toString(StandardCharsets.UTF_8));
    }

    @Test
    void everyRequiredAndExtraProbeSaysSomethingDefinite() {
        for (int cat = 1; cat <= 2; cat++) {
            for (Features.Feature f : Features.category(cat)) {
                List<String> missing = new ArrayList<>();
                Check.probe(f, missing);
                // On this kernel everything jcriu relies on is present (soft-dirty is compiled out,
                // but mem_dirty_track is there through uffd-wp-async).
                assertEquals(List.of(), missing, f.name());
            }
        }
    }

    @Test
    void singleFeature() {
        Options o = new Options();
        o.feature = "uffd-noncoop";
        assertEquals(0, run(o));
        assertEquals("uffd-noncoop is supported\n", out.toString(StandardCharsets.UTF_8));
    }

    @Test
    void featureWhoseJcriuUserIsMissing() {
        Options o = new Options();
        o.feature = "uffd-noncoop";
        Log.setStdout(new PrintStream(out, true, StandardCharsets.UTF_8));
        assertEquals(1, Check.run(o, cmd -> !cmd.equals("lazy-pages")));
        assertEquals("uffd-noncoop: the kernel has it, but jcriu has no lazy-pages yet\n", out.toString(StandardCharsets.UTF_8));
    }

    @Test
    void featureThatIsMissingExitsNonZero() {
        Options o = new Options();
        o.feature = "soft_dirty";
        assertEquals(1, run(o));
        assertEquals("soft_dirty: no soft-dirty bit in /proc/PID/pagemap (CONFIG_MEM_SOFT_DIRTY)\n",
                out.toString(StandardCharsets.UTF_8));
    }

    @Test
    void unknownFeature() {
        Options o = new Options();
        o.feature = "warp_drive";
        assertEquals("Unknown feature warp_drive (see 'check --feature list')",
                assertThrows(CriuException.class, () -> run(o)).getMessage());
    }

    @Test
    void kerndatCachesAnswers() {
        assertEquals(true, Kerndat.has("uffd-wp"));
        assertEquals(true, Kerndat.has("uffd-wp-async"));
        assertEquals(true, Kerndat.has("pidfd_store"));
        assertEquals(false, Kerndat.has("soft_dirty"));
        assertEquals("soft_dirty: no soft-dirty bit in /proc/PID/pagemap (CONFIG_MEM_SOFT_DIRTY)",
                Kerndat.why("soft_dirty"));
        assertEquals(true, Kerndat.has("mem_dirty_track")); // through uffd-wp-async
        assertThrows(IllegalArgumentException.class, () -> Kerndat.has("warp_drive"));
    }

    @Test
    void listHasCriusNames() {
        Options o = new Options();
        o.feature = "list";
        assertEquals(0, run(o));
        List<String> names = List.of(out.toString(StandardCharsets.UTF_8).split("\n"));
        for (String n : List.of("mem_dirty_track", "uffd", "uffd-noncoop", "pidfd_store", "clone3_set_tid",
                "get_rseq_conf", "pagemap_scan", "timens", "seccomp_filters")) {
            if (!names.contains(n)) throw new AssertionError(n + " missing from --feature list");
        }
    }
}
