package org.jcriu;

/**
 * A failure that the user must be told about: one message that names what failed and where
 * (task, resource, image file and offset). The command line prints it and exits 1; the RPC
 * server puts it in {@code cr_errmsg}. {@code errno} is the symbolic cause for RPC clients
 * ({@code cr_errno}), 0 when there is none.
 */
public class CriuException extends RuntimeException {
    private final int errno;

    public CriuException(String message) {
        this(0, message, null);
    }

    public CriuException(String message, Throwable cause) {
        this(0, message, cause);
    }

    public CriuException(int errno, String message) {
        this(errno, message, null);
    }

    public CriuException(int errno, String message, Throwable cause) {
        super(message, cause);
        this.errno = errno;
    }

    public int errno() {
        return errno;
    }

    /**
     * Why a file operation failed, in strerror's words: java.nio's NoSuchFileException and
     * AccessDeniedException carry only the path as their message, which would print the path twice
     * and no reason.
     */
    public static String reason(Exception e) {
        if (e instanceof java.nio.file.AccessDeniedException) return "Permission denied";
        if (e instanceof java.nio.file.NoSuchFileException) return "No such file or directory";
        if (e instanceof java.nio.file.NotDirectoryException) return "Not a directory";
        if (e instanceof java.nio.file.FileSystemException fse && fse.getReason() != null) return fse.getReason();
        return e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
    }
}
