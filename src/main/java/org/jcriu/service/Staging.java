package org.jcriu.service;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.stream.Stream;

import org.jcriu.CriuException;
import org.jcriu.log.Log;
import org.jcriu.log.Logger;
import org.jcriu.opts.Options;
import org.jcriu.sys.Errno;
import org.jcriu.sys.Linux;
import org.jcriu.sys.Stat;
import org.jcriu.sys.Sys;

/**
 * A root service working for a non-root client writes nothing directly into the client's
 * directories: the client could plant a symlink named like an image or the log and have root
 * overwrite any file. The operation writes into a private root-only directory instead; then each
 * file is put into the client's directory through a descriptor of that directory (so renaming
 * the path meanwhile changes nothing), created exclusively (O_EXCL never follows a symlink) and
 * given to the client's uid and gid.
 */
final class Staging implements AutoCloseable {
    private static final Logger LOG = Log.get("cr-service");
    private static final long NR_GETEUID = 107;

    private final Peer peer;
    private final Path staging;
    private final Path images, work;

    private Staging(Peer peer, Path staging, Path images, Path work) {
        this.peer = peer;
        this.staging = staging;
        this.images = images;
        this.work = work;
    }

    /** Null when no staging is needed (root client, or a daemon without root). */
    static Staging of(Peer peer, Options o) {
        if (peer.uid() == 0 || Sys.raw(NR_GETEUID) != 0) return null;
        if (o.imagesDir == null) return null;
        try {
            Path dir = Files.createTempDirectory("jcriu-rpc-"); // 0700, root's
            Staging s = new Staging(peer, dir, o.imagesDir, o.workDir);
            o.imagesDir = dir;
            o.workDir = dir;
            if (o.logFile != null) o.logFile = dir.resolve(Path.of(o.logFile).getFileName()).toString();
            if (o.prevImagesDir != null) {
                throw new CriuException(Errno.EPERM, "parent images (parent_img) are not supported for non-root RPC clients yet");
            }
            return s;
        } catch (IOException e) {
            throw new CriuException("Can't create a staging directory: " + e.getMessage(), e);
        }
    }

    /** Moves what was written to the client's directories; the log goes to the work dir. */
    void publish(String logFile) {
        Log.flush();
        try (Stream<Path> files = Files.list(staging)) {
            for (Path f : files.toList()) {
                boolean isLog = logFile != null && f.getFileName().toString().equals(Path.of(logFile).getFileName().toString());
                put(f, isLog ? work : images);
            }
        } catch (IOException e) {
            throw new CriuException("Can't hand images over to the client: " + e.getMessage(), e);
        }
    }

    private void put(Path from, Path toDir) throws IOException {
        if (!Files.isRegularFile(from, LinkOption.NOFOLLOW_LINKS)) return;
        int dfd = Sys.open(toDir.toString(), Linux.O_RDONLY | Linux.O_DIRECTORY, 0);
        try {
            Stat st = Sys.fstat(dfd);
            if (st.uid() != peer.uid()) {
                throw new CriuException(Errno.EPERM, toDir + " no longer belongs to the RPC client's uid " + peer.uid());
            }
            Path to = Path.of("/proc/self/fd/" + dfd).resolve(from.getFileName());
            Files.deleteIfExists(to); // removes a link itself, never its target
            try (InputStream in = Files.newInputStream(from);
                    OutputStream out = Files.newOutputStream(to, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
                in.transferTo(out);
            }
            Files.setAttribute(to, "unix:gid", peer.gid(), LinkOption.NOFOLLOW_LINKS);
            Files.setAttribute(to, "unix:uid", peer.uid(), LinkOption.NOFOLLOW_LINKS);
        } finally {
            Sys.close(dfd);
        }
    }

    @Override
    public void close() {
        try (Stream<Path> files = Files.list(staging)) {
            for (Path f : files.toList()) Files.deleteIfExists(f);
            Files.deleteIfExists(staging);
        } catch (IOException e) {
            LOG.warn("Can't remove staging directory %s: %s", staging, e.getMessage());
        }
    }
}
