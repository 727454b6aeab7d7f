/**
 * AF_UNIX sockets. Dump ({@link org.jcriu.files.unix.UnixSkHandler}): the kernel's unix
 * sock_diag table ({@link org.jcriu.sys.UnixDiag}) gives name, peer, connections waiting in
 * listeners, queue lengths and shutdown; options and queued records come from a pidfd_getfd
 * copy of the fd (records peeked with SO_PEEK_OFF + MSG_PEEK, so the task keeps them, one
 * sk-queues.img entry per datagram/record, stream data in chunks). Restore
 * ({@link org.jcriu.files.unix.UnixSkRestore}): made by injected syscalls in the task
 * (socketpair for mutual peers, connect+accept for connections a listener in the image had
 * accepted, socket+bind+listen+connect otherwise), queues re-sent by jcriu from the peer side
 * or, for a named datagram socket, from a socket of jcriu's before the target connects.
 *
 * <p>Refused with a message: SCM_RIGHTS in queued records; a peer outside the process unless
 * --ext-unix-sk (and then only named datagram peers, as CRIU); connections waiting in a listener
 * outside the process, or that already sent data; sockets bound to relative names; images with
 * service/callback/inherit uflags. A socket whose file was unlinked after bind is bound again
 * and its file unlinked once the task's fds are all in place (peers connect by name first).
 * Multi-process sharing of a socket (two tasks holding the same one) is not handled yet.
 */
package org.jcriu.files.unix;
