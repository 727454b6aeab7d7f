package org.jcriu.ns;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

class TimeNsTest {
    @Test
    void offsetsAreParsedByNameOrClockId() {
        assertArrayEquals(new long[] {100000, 5, -3, 999999999},
                TimeNs.parseOffsets("monotonic      100000         5\nboottime -3 999999999\n", "x"));
        assertArrayEquals(new long[] {1, 2, 3, 4}, TimeNs.parseOffsets("1 1 2\n7 3 4\n", "x"));
    }

    /** The kernel wants nanoseconds in [0, 1e9): a negative offset borrows from the seconds. */
    @Test
    void negativeOffsetsKeepNanosecondsPositive() {
        assertEquals("1 -1 999999999\n", TimeNs.line(1, -1));
        assertEquals("7 -3 500000000\n", TimeNs.line(7, -2_500_000_000L));
        assertEquals("1 2 5\n", TimeNs.line(1, 2_000_000_005L));
    }

    @Test
    void jcriuIsInTheHostNamespaceHere() {
        assertEquals(0, TimeNs.offsets((int) ProcessHandle.current().pid())[0]);
    }
}
