package org.jcriu.cpuinfo;

import java.nio.file.Files;
import java.nio.file.Path;

import org.jcriu.CriuException;
import org.jcriu.image.ImageDir;
import org.jcriu.image.ImageReader;
import org.jcriu.image.ImageType;
import org.jcriu.image.ImageWriter;
import org.jcriu.image.proto.CpuinfoEntry;
import org.jcriu.log.Log;
import org.jcriu.log.Logger;
import org.jcriu.opts.Options;

/**
 * {@code jcriu cpuinfo dump|check} (and RPC CPUINFO_DUMP/CHECK), and the --cpu-cap steps of dump
 * and restore: cpuinfo.img is written on dump and checked on restore only when --cpu-cap was
 * given (CRIU's CPU_CAP_IMAGE bit); the default (fpu, ins without the image bit) writes nothing
 * and checks only the FPU frames of the threads ({@link FpuFrames}).
 */
public final class CpuInfo {
    private static final Logger LOG = Log.get("cpu");

    private CpuInfo() {}

    /** The command line's and the RPC service's entry point (cli.Dispatch, service.Engine). */
    public static int run(Options o) {
        ImageDir dir = new ImageDir(o.imagesDir != null ? o.imagesDir : Path.of("."));
        switch (o.command) {
            case "cpuinfo-dump" -> write(dir);
            case "cpuinfo-check" -> {
                // an empty mode means "check everything" here, as in CRIU's cpuinfo_check()
                int cap = o.cpuCap == Options.CPU_CAP_NONE ? Options.CPU_CAP_ALL : o.cpuCap;
                check(dir, cap);
            }
            default -> throw new IllegalArgumentException("not a cpuinfo command: " + o.command);
        }
        return 0;
    }

    /** Dump side: cpuinfo.img when --cpu-cap asked for it. Call before the tree is seized, as CRIU does. */
    public static void dumpIfAsked(Options o, ImageDir dir) {
        if ((o.cpuCap & Options.CPU_CAP_IMAGE) != 0) write(dir);
    }

    /** Restore side: cpuinfo.img against this CPU when --cpu-cap asked for it. Call before anything is created. */
    public static void checkIfAsked(Options o, ImageDir dir) {
        if ((o.cpuCap & Options.CPU_CAP_IMAGE) != 0) check(dir, o.cpuCap);
    }

    private static void write(ImageDir dir) {
        if (!Files.isDirectory(dir.dir())) throw new CriuException("Images directory " + dir.dir() + " does not exist");
        X86Cpu rt = CpuidProbe.runtime();
        LOG.info("Dumping cpuinfo: %s family %d model %d stepping %d \"%s\" xfeatures 0x%x xsave %d/%d", rt.vendorId(),
                rt.family(), rt.model(), rt.stepping(), rt.modelId(), rt.xfeaturesMask(), rt.xsaveSize(), rt.xsaveSizeMax());
        try (ImageWriter w = dir.create(ImageType.CPUINFO)) {
            w.write(rt.toEntry());
        }
    }

    private static void check(ImageDir dir, int cpuCap) {
        String file = dir.path(ImageType.CPUINFO).toString();
        CpuinfoEntry e;
        try (ImageReader r = dir.openOptional(ImageType.CPUINFO)) {
            if (r == null) {
                throw new CriuException("No cpuinfo image " + file + " (--cpu-cap checks the CPU against it: dump with --cpu-cap,"
                        + " or restore with --cpu-cap=none)");
            }
            e = r.read(CpuinfoEntry.parser());
            if (e == null) throw new CriuException("No cpuinfo image: " + file + " is empty");
        }
        X86Cpu rt = CpuidProbe.runtime();
        X86Cpu img = X86Cpu.fromImage(e, rt, file);
        LOG.info("Checking cpuinfo (cpu-cap 0x%x): image %s family %d model %d \"%s\", this CPU family %d model %d \"%s\"", cpuCap,
                img.vendorId(), img.family(), img.model(), img.modelId(), rt.family(), rt.model(), rt.modelId());
        CpuCheck.validate(img, rt, cpuCap, file);
    }
}
