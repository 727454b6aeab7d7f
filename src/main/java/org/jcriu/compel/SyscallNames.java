package org.jcriu.compel;

import org.jcriu.sys.Nr;

import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.util.HashMap;
import java.util.Locale;
import java.util.Map;

/** Syscall names for messages, derived from {@link Nr}. */
final class SyscallNames {
    private SyscallNames() {}

    private static final Map<Long, String> NAMES = new HashMap<>();

    static {
        for (Field f : Nr.class.getFields()) {
            if (Modifier.isStatic(f.getModifiers()) && f.getType() == long.class) {
                try {
                    NAMES.putIfAbsent(f.getLong(null), f.getName().toLowerCase(Locale.ROOT));
                } catch (IllegalAccessException e) {
                    throw new AssertionError(e);
                }
            }
        }
    }

    static String name(long nr) {
        return NAMES.getOrDefault(nr, "syscall " + nr);
    }
}
