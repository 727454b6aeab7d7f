/**
 * {@code jcriu dump}: checkpoint of one process (all its threads) into CRIU 4.2 images
 * ({@link org.jcriu.dump.Dumper#run}).
 *
 * <p>What it writes, as CRIU 4.2 does for {@code sleep}: inventory.img, pstree.img,
 * ids-PID.img, core-PID.img (registers, FPU/XSAVE, signal mask, queued signals, the 62 sigactions, rlimits from
 * /proc/PID/limits, creds, itimers, sigaltstack, rseq, TLS), mm-PID.img (mm fields, saved
 * auxv, VMAs), pagemap-PID.img + pages-1.img, fs-PID.img, files.img + fdinfo-2.img
 * (+ pipes-data.img, tty-info.img and the images of other fd kinds when needed), timens-0.img,
 * seccomp.img, stats-dump.
 *
 * <p>Order of a dump and why: refusals are decided from /proc before the task is touched;
 * then the task is seized on the tracer thread; memory is copied (worker threads, {@link
 * org.jcriu.dump.PageWriter}) before any syscall is injected, because injections patch a
 * vDSO word and use stack scratch space until detach; then the injected queries ({@link
 * org.jcriu.dump.Injected}); then images; then the task is killed (default), detached (-R) or
 * left stopped (-s). Any failure after the seize detaches with registers, mask and memory as
 * they were.
 *
 * <p>Refused with a message naming the task and the resource: children,
 * a tracer, seccomp, another namespace than jcriu's, unlinked exe/cwd/root,
 * shared anonymous memory, SysV shm, memfd and unlinked-file mappings, device mappings, and
 * every fd kind without a handler in {@link org.jcriu.files.FileHandlers}. Not yet: pre-dump,
 * incremental dumps, page server, process trees.
 */
package org.jcriu.dump;
