package org.jcriu.cpuinfo;

import java.util.ArrayList;
import java.util.List;

import org.jcriu.CriuException;
import org.jcriu.opts.Options;

/**
 * Whether tasks dumped on the image's CPU may run on this one, under the --cpu-cap modes, in the
 * order and with the verdicts of CRIU's cpu_validate_features(): fpu (FPU/XSAVE features, xstate
 * components and XSAVE frame sizes), ins (instruction-set bits: the image may not need one this
 * CPU lacks), cpu (every capability word equal). The first mode that fails decides; its message
 * names the features.
 */
final class CpuCheck {
    private CpuCheck() {}

    static void validate(X86Cpu img, X86Cpu rt, int cpuCap, String file) {
        if ((cpuCap & Options.CPU_CAP_FPU) != 0) {
            List<String> missing = new ArrayList<>();
            for (int bit : X86Caps.FPU_BITS) {
                if (X86Caps.has(img.caps(), bit) && !X86Caps.has(rt.caps(), bit)) missing.add(X86Caps.name(bit));
            }
            if (!missing.isEmpty()) {
                throw mismatch(file, "FPU feature required by image is not supported on this CPU: " + String.join(", ", missing), "fpu");
            }
            long m = img.xfeaturesMask() & ~rt.xfeaturesMask();
            if (m != 0) {
                throw mismatch(file, String.format("CPU xfeatures has unsupported bits (0x%x): %s", m, X86Caps.xfeatureNames(m)), "fpu");
            }
            if (img.xsaveSize() != rt.xsaveSize()) {
                throw mismatch(file, "CPU xsave size mismatch (image " + img.xsaveSize() + ", this CPU " + rt.xsaveSize() + ")", "fpu");
            }
            if (img.xsaveSizeMax() != rt.xsaveSizeMax()) {
                throw mismatch(file, "CPU xsave max size mismatch (image " + img.xsaveSizeMax() + ", this CPU "
                        + rt.xsaveSizeMax() + ")", "fpu");
            }
        }
        if ((cpuCap & Options.CPU_CAP_INS) != 0) {
            int[] lack = new int[X86Caps.NCAPINTS];
            boolean any = false;
            for (int i = 0; i < lack.length; i++) {
                lack[i] = img.caps()[i] & X86Caps.INS_MASK[i] & ~rt.caps()[i];
                any |= lack[i] != 0;
            }
            if (any) {
                throw mismatch(file, "CPU instruction capabilities do not match run time: this CPU lacks "
                        + String.join(", ", X86Caps.names(lack)), "ins");
            }
        }
        if ((cpuCap & Options.CPU_CAP_CPU) != 0) {
            int[] lack = new int[X86Caps.NCAPINTS], extra = new int[X86Caps.NCAPINTS];
            boolean any = false;
            for (int i = 0; i < lack.length; i++) {
                lack[i] = img.caps()[i] & ~rt.caps()[i];
                extra[i] = rt.caps()[i] & ~img.caps()[i];
                any |= lack[i] != 0 || extra[i] != 0;
            }
            if (any) {
                StringBuilder s = new StringBuilder("CPU capabilities do not match run time:");
                if (!X86Caps.names(lack).isEmpty()) s.append(" this CPU lacks ").append(String.join(", ", X86Caps.names(lack)));
                if (!X86Caps.names(extra).isEmpty()) {
                    if (s.charAt(s.length() - 1) != ':') s.append(';');
                    s.append(" the image's CPU lacked ").append(String.join(", ", X86Caps.names(extra)));
                }
                throw mismatch(file, s.toString(), "cpu");
            }
        }
    }

    private static CriuException mismatch(String file, String what, String mode) {
        return new CriuException(file + ": " + what + " (--cpu-cap=" + mode + ")");
    }
}
