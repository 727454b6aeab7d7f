package org.jcriu.kerndat;

/** One kernel feature probe: null when present, else what is missing (one line, for the user). */
@FunctionalInterface
interface Probe {
    String missing() throws Exception;
}
