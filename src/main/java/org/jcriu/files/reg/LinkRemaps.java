package org.jcriu.files.reg;

import java.lang.foreign.Arena;
import org.jcriu.CriuException;
import org.jcriu.files.DumpFiles;
import org.jcriu.files.OpenFd;
import org.jcriu.image.ImageType;
import org.jcriu.image.proto.FdTypes;
import org.jcriu.image.proto.FileEntry;
import org.jcriu.image.proto.RegFileEntry;
import org.jcriu.image.proto.RemapFilePathEntry;
import org.jcriu.image.proto.RemapType;
import org.jcriu.log.Log;
import org.jcriu.log.Logger;
import org.jcriu.sys.ErrnoException;
import org.jcriu.sys.Linux;
import org.jcriu.sys.Nr;
import org.jcriu.sys.Sys;

/**
 * CRIU's link remap (--link-remap): an open file whose name was unlinked while another hard
 * link keeps it alive has no path jcriu could reopen. At dump a new hard link,
 * {@code DIR/link_remap.ID} next to the old name, is made to it (linkat through
 * /proc/PID/fd/N; the kernel allows this because st_nlink is not 0) and recorded as a reg file
 * of its own plus a LINKED remap-fpath entry; restore opens the file through that link and
 * unlinks it once the task's fds are in place.
 */
final class LinkRemaps {
    private static final Logger LOG = Log.get("reg");
    private static final int AT_SYMLINK_FOLLOW = 0x400;

    private LinkRemaps() {}

    static void dump(OpenFd fd, String path, int fileId, DumpFiles files) {
        dump("/proc/" + fd.pid() + "/fd/" + fd.fd(), fd.describe(), path, fileId, files);
    }

    /** As {@link #dump(OpenFd, String, int, DumpFiles)} for the file reached through {@code proc} (an fd or a map_files link). */
    static void dump(String proc, String who, String path, int fileId, DumpFiles files) {
        String dir = path.substring(0, Math.max(1, path.lastIndexOf('/')));
        int lid = files.addFile(id -> {
            String link = (dir.equals("/") ? "" : dir) + "/link_remap." + id;
            RegFileEntry reg = RegFileEntry.newBuilder().setId(id).setFlags(0).setPos(0).setFown(RegFileHandler.NO_OWNER).setName(link).build();
            return FileEntry.newBuilder().setType(FdTypes.REG).setId(id).setReg(reg).build();
        });
        String link = (dir.equals("/") ? "" : dir) + "/link_remap." + lid;
        try (Arena a = Arena.ofConfined()) {
            Sys.check("linkat(" + proc + ", " + link + ")", Nr.LINKAT, Linux.AT_FDCWD, a.allocateFrom(proc).address(),
                    Linux.AT_FDCWD, a.allocateFrom(link).address(), AT_SYMLINK_FOLLOW);
        } catch (ErrnoException ex) {
            throw new CriuException(ex.errno(), "Can't link remap " + who + " to " + link + ": " + ex.getMessage(), ex);
        }
        files.addImageEntry(ImageType.REMAP_FPATH, RemapFilePathEntry.newBuilder().setOrigId(fileId).setRemapId(lid)
                .setRemapType(RemapType.LINKED).build(), null);
        LOG.info("link remap %s -> %s for %s", path, link, who);
    }
}
