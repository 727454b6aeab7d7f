# epoll.py DIR: select.epoll over an eventfd (counter 5, edge-triggered, left unread), a
# periodic timerfd (0.3 s, made with ctypes: python 3.11 has no os.timerfd_create) and one end
# of a unix socketpair (edge-triggered, "queued" left unread). Timer expiries go to DIR/events
# ("timer TICKS"). On SIGTERM it checks that the epoll still watches the eventfd and the socket
# (a write makes a new edge), that the eventfd counter and the queued bytes are intact, and
# writes DIR/verdict.
import ctypes, os, select, signal, socket, struct, sys

d = sys.argv[1]
libc = ctypes.CDLL(None, use_errno=True)
CLOCK_MONOTONIC, TFD_NONBLOCK = 1, os.O_NONBLOCK

efd = os.eventfd(5, os.EFD_NONBLOCK)
tfd = libc.timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK)
its = struct.pack("qqqq", 0, 300_000_000, 0, 300_000_000)
if tfd < 0 or libc.timerfd_settime(tfd, 0, its, None) != 0:
    sys.exit("timerfd: " + os.strerror(ctypes.get_errno()))
ep = select.epoll()
ep.register(tfd, select.EPOLLIN)
ep.register(efd, select.EPOLLIN | select.EPOLLET)
sa, sb = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
sb.setblocking(False)
sa.send(b"queued")
ep.register(sb.fileno(), select.EPOLLIN | select.EPOLLET)
term = []
signal.signal(signal.SIGTERM, lambda *a: term.append(1))


def log(line):
    with open(os.path.join(d, "events"), "a") as f:
        f.write(line + "\n")


with open(os.path.join(d, ".r"), "w") as f:
    f.write(str(os.getpid()))
os.rename(os.path.join(d, ".r"), os.path.join(d, "ready"))

while not term:
    try:
        for fd, ev in ep.poll(1.0):
            if fd == tfd:
                log("timer %d" % struct.unpack("Q", os.read(tfd, 8))[0])
            elif fd == efd:
                log("eventfd edge")
            elif fd == sb.fileno():
                log("unix edge")
    except InterruptedError:
        pass

# After restore: a write to the eventfd is a new edge the epoll must report.
os.eventfd_write(efd, 1)
got = dict(ep.poll(0))
fails = []
if not got.get(efd, 0) & select.EPOLLIN:
    fails.append("epoll no longer reports the eventfd: %r" % got)
if os.eventfd_read(efd) != 6:
    fails.append("eventfd counter is not 5 + 1")
try:
    q = sb.recv(100)
except BlockingIOError:
    q = b""
if q != b"queued":
    fails.append("unix socket holds %r, not the queued bytes" % q)
sa.send(b"after")
got = dict(ep.poll(0))
if not got.get(sb.fileno(), 0) & select.EPOLLIN:
    fails.append("epoll no longer reports the unix socket: %r" % got)
elif sb.recv(100) != b"after":
    fails.append("unix socket lost bytes sent after restore")
with open(os.path.join(d, ".v"), "w") as f:
    f.write("PASS\n" if not fails else "FAIL " + "; ".join(fails) + "\n")
os.rename(os.path.join(d, ".v"), os.path.join(d, "verdict"))
