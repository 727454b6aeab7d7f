package org.jcriu.service;

import org.jcriu.CriuException;
import org.jcriu.opts.Options;
import org.jcriu.sys.Errno;
import org.jcriu.sys.ErrnoException;
import org.jcriu.sys.Linux;
import org.jcriu.sys.Sys;

/**
 * {@code criu swrk <fd>}: one RPC session on a socket the caller created and passed at exec
 * (runc, go-criu, libcriu, pycriu). The caller is the peer; restored tasks may become its
 * children (rst_sibling) and inherit_fd refers to fds it handed us.
 */
public final class Swrk {
    private Swrk() {}

    public static int run(int fd, Options o) {
        try {
            if ((Sys.fstat(fd).mode() & Linux.S_IFMT) != Linux.S_IFSOCK) {
                throw new CriuException(Errno.ENOTSOCK, "swrk: fd " + fd + " is not a socket");
            }
        } catch (ErrnoException e) {
            throw new CriuException(e.errno(), "swrk: fd " + fd + " is not open: " + e.getMessage(), e);
        }
        return new Session(fd, o, true).work();
    }
}
