/**
 * Open files, one handler per kind ({@link org.jcriu.files.FileHandler}): regular files,
 * directories and memory character devices ({@code reg}), pipes ({@code pipe}, with their queued
 * bytes), named FIFOs ({@code fifo}), unix sockets ({@code unix}), terminals ({@code tty}: Unix98 pty
 * pairs held by the task, the terminal of a --shell-job, an --external one), and the anonymous-inode kinds: eventfd, epoll ({@code eventpoll}), signalfd,
 * timerfd, inotify and fanotify ({@code fsnotify}), memfd (with its contents as shmem pages) and
 * pidfd. {@link org.jcriu.files.FileHandlers} holds the ordered registry and the classification
 * table; {@link org.jcriu.files.DumpFiles} is the dump side's file table,
 * {@link org.jcriu.files.FileRestorer} the restore side (fds, cwd/root, files of mappings, inside
 * the restored task by injected syscalls; a file that needs other fds first, like an epoll,
 * answers {@link org.jcriu.files.Opening.NotYet} and is retried). Anything without a row in the
 * table (other sockets, unlinked files, other devices, userfaultfd, perf events, io_uring, bpf,
 * ...) fails the dump naming the fd, its link and the task.
 */
package org.jcriu.files;
