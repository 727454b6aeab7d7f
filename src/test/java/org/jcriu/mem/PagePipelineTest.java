package org.jcriu.mem;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicIntegerArray;
import org.jcriu.CriuException;
import org.junit.jupiter.api.Test;

/** The ordered pipeline drains in chunk order whatever the fill order; both runners stop on the first failure. */
class PagePipelineTest {
    @Test
    void drainsInOrderWithFewerBuffersThanChunks() {
        List<Integer> seen = new ArrayList<>();
        PagePipeline.run("t", 50, 3, 4096, () -> (i, buf) -> {
            if (i % 7 == 0) Thread.onSpinWait();
            buf.set(ValueLayout.JAVA_INT, 0, i);
            return i * 2;
        }, (i, buf, v) -> {
            assertEquals(i, buf.get(ValueLayout.JAVA_INT, 0));
            assertEquals(i * 2, v);
            seen.add(i);
        }, "test");
        for (int i = 0; i < 50; i++) assertEquals(i, seen.get(i));
    }

    @Test
    void aFillerOrDrainFailureIsThrownWithWhatFailed() {
        CriuException e = assertThrows(CriuException.class, () -> PagePipeline.run("t", 20, 2, 4096, () -> (i, buf) -> {
            if (i == 11) throw new CriuException("chunk 11 broke");
            return null;
        }, (i, buf, v) -> {}, "test"));
        assertEquals("chunk 11 broke", e.getMessage());
        e = assertThrows(CriuException.class, () -> PagePipeline.run("t", 20, 2, 4096, () -> (i, buf) -> null,
                (i, buf, v) -> {
                    if (i == 3) throw new IOException("disk full");
                }, "write x"));
        assertEquals("Can't write x: disk full", e.getMessage());
    }

    @Test
    void forEachRunsEveryChunkOnceAndStopsOnFailure() {
        AtomicIntegerArray runs = new AtomicIntegerArray(100);
        PagePipeline.forEach("t", 100, 4, (w, i) -> {
            assertTrue(w >= 0 && w < 4);
            runs.incrementAndGet(i);
        }, "test");
        for (int i = 0; i < 100; i++) assertEquals(1, runs.get(i), "chunk " + i);
        CriuException e = assertThrows(CriuException.class, () -> PagePipeline.forEach("t", 100, 3, (w, i) -> {
            if (i == 40) throw new IOException("no space");
        }, "write y"));
        assertEquals("Can't write y: no space", e.getMessage());
    }
}
