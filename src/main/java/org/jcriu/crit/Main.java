package org.jcriu.crit;

import java.io.BufferedOutputStream;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.jcriu.CriuException;
import org.jcriu.image.Extra;
import org.jcriu.image.ImageReader;
import org.jcriu.image.ImageType;
import org.jcriu.image.ImageWriter;
import org.jcriu.image.UnknownMagicException;

/**
 * jcrit: crit's commands with crit's output (decode, encode, info, show, x). Errors print one
 * line (crit's own wording where it has one) and exit 1; usage errors exit 2 as argparse does.
 */
public final class Main {
    static final String VERSION = "4.2";
    /** The name it was run as (bin/jcrit passes it, so that a "crit" symlink reports "crit"). */
    private static final String PROG = System.getProperty("jcrit.prog", "jcrit");
    private static final String USAGE = "usage: " + PROG + " [-h] [--version] {decode,encode,info,x,show} ...\n";

    private final PrintStream out;
    private final PrintStream err;
    private final InputStream stdin;

    Main(InputStream stdin, PrintStream out, PrintStream err) {
        this.stdin = stdin;
        this.out = out;
        this.err = err;
    }

    public static void main(String[] args) {
        PrintStream out = new PrintStream(new BufferedOutputStream(new java.io.FileOutputStream(java.io.FileDescriptor.out), 1 << 16), false, StandardCharsets.UTF_8);
        PrintStream err = new PrintStream(new java.io.FileOutputStream(java.io.FileDescriptor.err), true, StandardCharsets.UTF_8);
        int rc = new Main(System.in, out, err).run(args);
        out.flush();
        // Returning ends the JVM without Runtime.exit, whose event logging starts the
        // System.Logger machinery (some milliseconds). halt: nothing is left to flush or hook.
        if (rc != 0) {
            err.flush();
            Runtime.getRuntime().halt(rc);
        }
    }

    /** Runs one command; returns the exit code. */
    int run(String[] args) {
        try {
            return dispatch(args);
        } catch (UsageException e) {
            err.print(USAGE);
            err.print(PROG + ": error: " + e.getMessage() + "\n");
            // crit exits 1 when no command is given (its own check), 2 for argparse errors.
            return args.length == 0 ? 1 : 2;
        } catch (UnknownMagicException e) {
            // crit unpacks the magic as a signed int and prints it with %#x.
            int m = e.magic();
            err.print("Unknown magic " + (m < 0 ? "-0x" + Integer.toHexString(-m) : "0x" + Integer.toHexString(m)) + ".\n"
                    + "Maybe you are feeding me an image with raw data(i.e. pages.img)?\n");
            return 1;
        } catch (CriuException | Json.JsonException | IllegalArgumentException e) {
            err.print(PROG + ": " + e.getMessage() + "\n");
            return 1;
        } catch (RuntimeException e) {
            // A defect, but the user still gets one line and exit 1 rather than a trace.
            err.print(PROG + ": internal error: " + e + "\n");
            return 1;
        } finally {
            out.flush();
        }
    }

    private static final class UsageException extends RuntimeException {
        UsageException(String m) {
            super(m);
        }
    }

    private int dispatch(String[] args) {
        if (args.length == 0) {
            throw new UsageException("too few arguments");
        }
        String cmd = args[0];
        Map<String, String> o = new LinkedHashMap<>();
        List<String> pos = new ArrayList<>();
        switch (cmd) {
            case "--version" -> {
                out.print(VERSION + "\n");
                return 0;
            }
            case "-h", "--help" -> {
                out.print(USAGE + "\nCRiu Image Tool (jcriu)\n\n"
                        + "  decode [-i IN] [-o OUT] [--pretty]   image to JSON (stdin/stdout by default)\n"
                        + "  encode [-i IN] [-o OUT]              JSON to image\n"
                        + "  info IN                              magic and entry count\n"
                        + "  show IN [--nopl]                     decode --pretty, --nopl hides extra payloads\n"
                        + "  x DIR {ps,fds,mems,rss}              explore an images directory\n");
                return 0;
            }
            case "decode" -> parse(args, o, pos, List.of("-i", "--in", "-o", "--out"), List.of("--pretty"));
            case "encode" -> parse(args, o, pos, List.of("-i", "--in", "-o", "--out"), List.of());
            case "info" -> parse(args, o, pos, List.of(), List.of());
            case "show" -> parse(args, o, pos, List.of(), List.of("--nopl"));
            case "x" -> parse(args, o, pos, List.of(), List.of());
            default -> throw new UsageException("argument {decode,encode,info,x,show}: invalid choice: '" + cmd + "'");
        }
        switch (cmd) {
            case "decode" -> {
                noPositional(pos);
                decode(o.get("in"), o.get("out"), o.containsKey("pretty"), false);
            }
            case "show" -> {
                exactly(pos, 1, "in");
                decode(pos.get(0), null, true, o.containsKey("nopl"));
            }
            case "encode" -> {
                noPositional(pos);
                encode(o.get("in"), o.get("out"));
            }
            case "info" -> {
                exactly(pos, 1, "in");
                info(pos.get(0));
            }
            case "x" -> {
                exactly(pos, 2, "dir, what");
                String what = pos.get(1);
                if (!List.of("ps", "fds", "mems", "rss").contains(what)) {
                    throw new UsageException("argument what: invalid choice: '" + what + "' (choose from 'ps', 'fds', 'mems', 'rss')");
                }
                new Explorer(Path.of(pos.get(0)), out).run(what);
            }
            default -> throw new IllegalStateException(cmd);
        }
        return 0;
    }

    private static void parse(String[] args, Map<String, String> o, List<String> pos, List<String> withValue, List<String> flags) {
        for (int i = 1; i < args.length; i++) {
            String a = args[i];
            String value = null;
            if (a.startsWith("--") && a.contains("=")) {
                value = a.substring(a.indexOf('=') + 1);
                a = a.substring(0, a.indexOf('='));
            } else if (a.length() > 2 && a.charAt(0) == '-' && a.charAt(1) != '-' && withValue.contains(a.substring(0, 2))) {
                value = a.substring(2);
                a = a.substring(0, 2);
            }
            if (withValue.contains(a)) {
                if (value == null) {
                    if (i + 1 >= args.length) {
                        throw new UsageException("argument " + a + ": expected one argument");
                    }
                    value = args[++i];
                }
                o.put(a.equals("-i") || a.equals("--in") ? "in" : "out", value);
            } else if (flags.contains(a) && value == null) {
                o.put(a.substring(2), "");
            } else if (a.startsWith("-") && a.length() > 1) {
                throw new UsageException("unrecognized arguments: " + args[i]);
            } else {
                pos.add(a);
            }
        }
    }

    private static void noPositional(List<String> pos) {
        if (!pos.isEmpty()) {
            throw new UsageException("unrecognized arguments: " + String.join(" ", pos));
        }
    }

    private static void exactly(List<String> pos, int n, String names) {
        if (pos.size() < n) {
            throw new UsageException("the following arguments are required: " + names);
        }
        if (pos.size() > n) {
            throw new UsageException("unrecognized arguments: " + String.join(" ", pos.subList(n, pos.size())));
        }
    }

    private void decode(String in, String outFile, boolean pretty, boolean nopl) {
        // Built whole before anything is written: a damaged image gives an error, not half a document.
        StringBuilder json = new StringBuilder(1 << 16);
        byte[] input = in == null ? readStdin() : null;
        try (ImageReader r = open(in, input)) {
            DirectImage.write(r, pretty, nopl, json);
        } catch (RuntimeException e) {
            // Not covered by the table-driven decoder, or damaged: protobuf-java decodes it
            // again and gives the output, or the error in the words crit users already get.
            json.setLength(0);
            try (ImageReader r = open(in, input)) {
                CritImage.write(r, pretty, nopl, json);
            }
        }
        if (outFile == null) {
            out.print(json);
            out.print("\n");
        } else {
            try {
                Files.writeString(Path.of(outFile), json, StandardCharsets.US_ASCII);
            } catch (IOException e) {
                throw new CriuException("cannot write " + outFile + ": " + e.getMessage(), e);
            }
        }
    }

    private ImageReader open(String in, byte[] input) {
        return in == null ? ImageReader.probe("<stdin>", new ByteArrayInputStream(input), -1) : ImageReader.probe(Path.of(in));
    }

    private byte[] readStdin() {
        try {
            return stdin.readAllBytes();
        } catch (IOException e) {
            throw new CriuException("cannot read stdin: " + e.getMessage(), e);
        }
    }

    private void encode(String in, String outFile) {
        byte[] raw;
        try {
            raw = in == null ? stdin.readAllBytes() : Files.readAllBytes(Path.of(in));
        } catch (IOException e) {
            throw new CriuException("cannot read " + (in == null ? "stdin" : in) + ": " + e.getMessage(), e);
        }
        String text;
        try {
            text = StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .decode(java.nio.ByteBuffer.wrap(raw)).toString();
        } catch (CharacterCodingException e) {
            throw new CriuException("Cannot read JSON.\nMaybe you are feeding me an image with protobuf data? Encode expects JSON input.");
        }
        Object json = Json.parse(text);
        if (outFile == null) {
            ByteArrayOutputStream buf = new ByteArrayOutputStream();
            CritImage.dump(json, t -> ImageWriter.to("<stdout>", buf, t));
            out.write(buf.toByteArray(), 0, buf.size());
        } else {
            Path p = Path.of(outFile);
            CritImage.dump(json, t -> {
                try {
                    OutputStream os = Files.newOutputStream(p);
                    return ImageWriter.to(outFile, os, t);
                } catch (IOException e) {
                    throw new CriuException("cannot write " + outFile + ": " + e.getMessage(), e);
                }
            });
        }
    }

    private void info(String in) {
        Map<String, Object> res = new LinkedHashMap<>();
        Path file = Path.of(in);
        try (ImageReader r = ImageReader.probe(file)) {
            ImageType t = r.type();
            res.put("magic", t.canonical().name());
            long n;
            try {
                n = critCount(r);
            } catch (org.jcriu.image.ImageException e) {
                // Where crit's walk would crash (an extra payload ending mid size word), count
                // the real entries instead; real damage still fails there.
                try (ImageReader again = ImageReader.probe(file)) {
                    n = org.jcriu.image.ImageFile.readAll(again, false).size() - (t.hasHeadEntry() && t.extra() != Extra.GHOST ? 1 : 0);
                }
            }
            res.put("count", n);
        }
        out.print(Json.write(res, 4));
        out.print("\n");
    }

    /**
     * crit's count: size words are followed and payloads skipped, extras included, which is
     * what crit prints (it miscounts images with extra payloads: the first bytes of an extra
     * are taken for the next size). Ghost files, which crit cannot count, get their real count.
     */
    private static long critCount(ImageReader r) {
        ImageType t = r.type();
        if (t.extra() == Extra.GHOST) {
            return org.jcriu.image.ImageFile.readAll(r, false).size();
        }
        long n = 0;
        while (r.skipEntryLoosely()) {
            n++;
        }
        return t.hasHeadEntry() ? n - 1 : n;
    }
}
