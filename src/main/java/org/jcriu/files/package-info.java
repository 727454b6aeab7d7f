/**
 * Open files, one handler per kind ({@link org.jcriu.files.FileHandler}): regular files,
 * directories and memory character devices ({@code reg}), pipes ({@code pipe}, with their queued
 * bytes), the terminal of a --shell-job ({@code tty}), and the anonymous-inode kinds (eventfd,
 * epoll, signalfd, timerfd, inotify, memfd, pidfd), unix sockets ({@code unix}) and named
 * FIFOs ({@code fifo}, with their queued bytes). {@link org.jcriu.files.FileHandlers} holds
 * the ordered registry and the classification table; {@link org.jcriu.files.DumpFiles} is the
 * dump side's file table, {@link org.jcriu.files.FileRestorer} the restore side (fds, cwd/root,
 * files of mappings, inside the restored task by injected syscalls). Anything without a row in
 * the table (other socket families, unlinked files, other devices, userfaultfd, io_uring, ...) fails
 * the dump naming the fd, its link and the task.
 */
package org.jcriu.files;
