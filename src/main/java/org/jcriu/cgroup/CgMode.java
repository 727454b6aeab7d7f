package org.jcriu.cgroup;

import org.jcriu.CriuException;
import org.jcriu.opts.Options;

/**
 * --manage-cgroups modes, as criu(8) defines them. CRIU's default is SOFT whether or not the
 * option is given (its opts.manage_cgroups starts as CG_MODE_DEFAULT = SOFT), so a plain dump
 * already records the cgroups of tasks that live elsewhere than the dumper; IGNORE turns it off.
 */
public enum CgMode {
    /** Cgroups are not dumped (sets are) and tasks are left where restore creates them. */
    IGNORE,
    /** Cgroups must exist at restore; their properties are left alone. */
    NONE,
    /** Cgroups must exist at restore; their properties are restored. */
    PROPS,
    /** Missing cgroups are created with their properties; existing ones are left alone. */
    SOFT,
    /** Missing cgroups are created, and every property is restored, existing or not. */
    FULL,
    /** Every cgroup is created from scratch: one that exists already fails the restore. */
    STRICT;

    public static CgMode of(Options o) {
        String m = o.manageCgroups == null ? "soft" : o.manageCgroups;
        return switch (m) {
            case "ignore" -> IGNORE;
            case "none" -> NONE;
            case "props" -> PROPS;
            case "soft" -> SOFT;
            case "full" -> FULL;
            case "strict" -> STRICT;
            default -> throw new CriuException("Unknown cgroups mode `" + m + "' selected");
        };
    }

    /** Mode of an image's cgroup properties restore: kept for existing dirs? */
    boolean keepsPropsOfExisting() {
        return this == PROPS || this == FULL;
    }

    boolean createsMissing() {
        return this == SOFT || this == FULL || this == STRICT;
    }
}
