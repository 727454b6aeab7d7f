# A CRIU RPC client for jcriu's integration tests: upstream pycriu (Debian's criu package) for
# the real protocol, raw sockets for what pycriu never sends. Prints one JSON object per line.
import json
import os
import signal
import socket
import sys
import time

import pycriu
from google.protobuf import json_format

rpc = pycriu.rpc


def out(**kw):
    print(json.dumps(kw), flush=True)


def resp_json(r):
    return json_format.MessageToDict(r, preserving_proto_field_name=True)


def client(target):
    c = pycriu.criu()
    if target.startswith("sk:"):
        c.use_sk(target[3:])
    else:
        c.use_binary(target)
    return c


def call(c, req):
    t = time.time()
    r = c._send_req_and_recv_resp(req)
    return r, time.time() - t


def swrk_session(target, req, refuse, with_pid=False):
    """One request over a fresh `swrk` socket with notify_scripts: every NOTIFY is answered
    (the one named `refuse` with failure); fds that come with a notification are kept.
    Returns (notifications, final response or None at end of file, {script: fd}); with_pid
    names a notification that carries a pid "script:pid"."""
    css = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    os.set_inheritable(css[0].fileno(), True)
    child = os.fork()
    if child == 0:
        os.execv(target, [target, "swrk", str(css[0].fileno())])
    css[0].close()
    sk = css[1]
    sk.send(req.SerializeToString())
    seen, fds, resp = [], {}, None
    while True:
        data, got, _, _ = socket.recv_fds(sk, 65536, 4)
        if not data:
            break
        r = rpc.criu_resp()
        r.ParseFromString(data)
        if r.type != rpc.NOTIFY:
            resp = r
            break
        seen.append(r.notify.script + (":%d" % r.notify.pid if with_pid and r.notify.HasField("pid") else ""))
        if got:
            fds[r.notify.script] = got[0]
        ans = rpc.criu_req()
        ans.type = rpc.NOTIFY
        ans.notify_success = r.notify.script != refuse
        sk.send(ans.SerializeToString())
    sk.close()
    os.waitpid(child, 0)
    return seen, resp, fds


def pty_read_until(master, want, timeout=20):
    """What the pty gives until `want` appears (or the timeout, or its end)."""
    import select
    buf = b""
    end = time.time() + timeout
    while want.encode() not in buf and time.time() < end:
        r, _, _ = select.select([master], [], [], max(0, end - time.time()))
        if not r:
            break
        try:
            chunk = os.read(master, 4096)
        except OSError:
            break
        if not chunk:
            break
        buf += chunk
    return buf.decode(errors="replace")


TIOCGPTN = 0x80045430  # not in python's termios


def gone(pid):
    """No such process, or a zombie nobody reaped yet."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return True


def pty_users(index):
    """Processes holding /dev/pts/INDEX open, or having it as controlling terminal."""
    name = "/dev/pts/%d" % index
    rdev = os.stat(name).st_rdev if os.path.exists(name) else -1
    users = []
    for p in os.listdir("/proc"):
        if not p.isdigit() or int(p) == os.getpid():
            continue
        try:
            with open("/proc/%s/stat" % p) as f:
                if int(f.read().rsplit(")", 1)[1].split()[4]) == rdev:
                    users.append(int(p))
                    continue
            for fd in os.listdir("/proc/%s/fd" % p):
                if os.readlink("/proc/%s/fd/%s" % (p, fd)) == name:
                    users.append(int(p))
                    break
        except OSError:
            pass
    return users


def console(target, imgdir, refuse_first, ctty=True):
    """runc's container console through a checkpoint: a session leader whose stdin, stdout and
    stderr are a pty slave (its controlling terminal) whose master only we hold; dumped with
    orphan_pts_master, our master closed, restored with orphan_pts_master + notify_scripts: the
    master of the new pty comes with the orphan-pts-master notification. Without ctty the slave
    is nobody's controlling terminal: criu sends no master then, the slave's pty has none."""
    import fcntl
    import struct
    import termios
    master, slave = os.openpty()
    fcntl.ioctl(master, termios.TIOCSWINSZ, struct.pack("HHHH", 33, 77, 0, 0))
    index = struct.unpack("I", fcntl.ioctl(master, TIOCGPTN, b"\0" * 4))[0]
    child = os.fork()
    if child == 0:
        os.setsid()
        if ctty:
            fcntl.ioctl(slave, termios.TIOCSCTTY, 0)
        for i in range(3):
            os.dup2(slave, i)
        os.execv("/bin/sh", ["sh", "-c", 'while read l; do case $l in size) stty size;; *) echo "got:$l";; esac; done'])
    os.close(slave)
    res = {"pid": child, "index": index}
    try:
        os.write(master, b"ping\n")
        res["before"] = pty_read_until(master, "got:ping")
        req = rpc.criu_req()
        req.type = rpc.DUMP
        fd = os.open(imgdir, os.O_DIRECTORY)
        req.opts.images_dir_fd = fd
        req.opts.log_level = 4
        req.opts.log_file = "dump.log"
        req.opts.pid = child
        req.opts.notify_scripts = True
        req.opts.orphan_pts_master = True
        seen, r, _ = swrk_session(target, req, "-")
        res["dump"] = resp_json(r) if r else None
        if not r or not r.success:
            return res
        os.waitpid(child, 0)
        os.close(master)
        master = -1
        attempts = []
        for refuse in (["orphan-pts-master", "-"] if refuse_first else ["-"]):
            req = rpc.criu_req()
            req.type = rpc.RESTORE
            req.opts.images_dir_fd = fd
            req.opts.log_level = 4
            req.opts.log_file = "restore.log" if refuse == "-" else "restore-refused.log"
            req.opts.notify_scripts = True
            req.opts.orphan_pts_master = True
            seen, r, fds = swrk_session(target, req, refuse)
            a = {"notifications": seen, "resp": resp_json(r) if r else None, "got_fd": "orphan-pts-master" in fds}
            m = fds.get("orphan-pts-master", -1)
            if m >= 0:
                a["fd_index"] = struct.unpack("I", fcntl.ioctl(m, TIOCGPTN, b"\0" * 4))[0]
            if refuse != "-":
                if m >= 0:
                    os.close(m)
                time.sleep(0.5)
                a["alive"] = not gone(child)
                a["pty_users"] = pty_users(index)
            elif r and r.success and m < 0:
                end = time.time() + 10
                while not gone(child) and time.time() < end:
                    time.sleep(0.05)
                a["ended"] = gone(child)
            elif r and r.success and m >= 0:
                master = m
                os.write(master, b"hello\n")
                a["echo"] = pty_read_until(master, "got:hello")
                os.write(master, b"size\n")
                a["size"] = pty_read_until(master, "33 77")
                with open("/proc/%d/stat" % child) as f:
                    a["tty_nr"] = int(f.read().rsplit(")", 1)[1].split()[4])
                a["pts_rdev"] = os.stat("/dev/pts/%d" % a["fd_index"]).st_rdev
                # ^C: the terminal's foreground group is the restored shell's
                os.write(master, b"\x03")
                end = time.time() + 10
                while not gone(child) and time.time() < end:
                    time.sleep(0.05)
                a["intr_ends_it"] = gone(child)
            attempts.append(a)
        res["restores"] = attempts
        os.close(fd)
        return res
    finally:
        if master >= 0:
            os.close(master)
        try:
            os.kill(child, signal.SIGKILL)
        except OSError:
            pass
        try:
            os.waitpid(child, os.WNOHANG)
        except OSError:
            pass


def main():
    target, action, args = sys.argv[1], sys.argv[2], sys.argv[3:]
    if action == "version":
        c = client(target)
        req = rpc.criu_req()
        req.type = rpc.VERSION
        r, dt = call(c, req)
        v = r.version
        # go-criu / runc / libcriu: major*10000 + minor*100 + sublevel, +100 and no sublevel with a gitid
        n = v.major_number * 10000 + v.minor_number * 100 + v.sublevel
        if v.HasField("gitid"):
            n = n - n % 100 + 100
        out(resp=resp_json(r), number=n, seconds=dt)
    elif action == "features":
        c = client(target)
        req = rpc.criu_req()
        req.type = rpc.FEATURE_CHECK
        req.features.mem_track = True
        req.features.lazy_pages = True
        req.features.pidfd_store = True
        r, dt = call(c, req)
        out(resp=resp_json(r), seconds=dt)
    elif action == "check":
        c = client(target)
        req = rpc.criu_req()
        req.type = rpc.CHECK
        r, dt = call(c, req)
        out(resp=resp_json(r), seconds=dt)
    elif action in ("dump", "restore"):
        # args: images dir, [pid], extra flags
        c = client(target)
        fd = os.open(args[0], os.O_DIRECTORY)
        req = rpc.criu_req()
        req.type = rpc.DUMP if action == "dump" else rpc.RESTORE
        req.opts.images_dir_fd = fd
        req.opts.log_level = 4
        req.opts.log_file = action + ".log"
        if action == "dump":
            req.opts.pid = int(args[1])
        for flag in args[2 if action == "dump" else 1:]:
            if "=" in flag:
                # name=value: a string option, or an enum/int given as a number
                k, v = flag.split("=", 1)
                setattr(req.opts, k, int(v) if v.isdigit() else v)
            else:
                setattr(req.opts, flag, True)
        r, dt = call(c, req)
        os.close(fd)
        out(resp=resp_json(r), seconds=dt)
    elif action == "restore_child":
        # libcriu's criu_restore_child(), as runc restores: rst_sibling over swrk, then the
        # restored root is waited for as our own child. args: images dir
        c = client(target)
        fd = os.open(args[0], os.O_DIRECTORY)
        req = rpc.criu_req()
        req.type = rpc.RESTORE
        req.opts.images_dir_fd = fd
        req.opts.log_level = 4
        req.opts.log_file = "restore.log"
        req.opts.rst_sibling = True
        r, dt = call(c, req)
        os.close(fd)
        res = {"resp": resp_json(r), "seconds": dt, "me": os.getpid()}
        if r.success:
            pid = r.restore.pid
            # raises ChildProcessError unless the root is our child
            res["running"] = os.waitpid(pid, os.WNOHANG) == (0, 0)
            with open("/proc/%d/stat" % pid) as f:
                res["ppid"] = int(f.read().rsplit(")", 1)[1].split()[1])
            fds = {n: os.readlink("/proc/%d/fd/%s" % (pid, n)) for n in os.listdir("/proc/%d/fd" % pid)}
            res["fds"] = ";".join("%s=%s" % (n, fds[n]) for n in sorted(fds, key=int))
            os.kill(pid, signal.SIGTERM)
            _, st = os.waitpid(pid, 0)
            res["exit"] = os.WEXITSTATUS(st) if os.WIFEXITED(st) else -os.WTERMSIG(st)
        out(**res)
    elif action == "notify":
        # args: dump|restore, images dir, pid (dump) or -, script to refuse or -, then flags
        # notify_scripts over a raw swrk socket: answer each NOTIFY, refusing one if asked
        op, imgdir, pid, refuse = args[0], args[1], args[2], args[3]
        fd = os.open(imgdir, os.O_DIRECTORY)
        req = rpc.criu_req()
        req.type = rpc.DUMP if op == "dump" else rpc.RESTORE
        req.opts.images_dir_fd = fd
        req.opts.log_level = 4
        req.opts.log_file = op + ".log"
        req.opts.notify_scripts = True
        if op == "dump":
            req.opts.pid = int(pid)
        for flag in args[4:]:
            setattr(req.opts, flag, True)
        seen, r, _ = swrk_session(target, req, refuse, with_pid=True)
        if r is None:
            out(notifications=seen, eof=True)
        else:
            out(notifications=seen, resp=resp_json(r))
    elif action == "console":
        # args: images dir, "refuse" to refuse orphan-pts-master once first, or "noctty"
        mode = args[1] if len(args) > 1 else ""
        out(**console(target, args[0], mode == "refuse", mode != "noctty"))
    elif action == "raw":
        # args: hex payloads sent one per record on one connection to a service socket
        sk = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        sk.settimeout(30)
        sk.connect(target[3:])
        got = []
        for h in args:
            try:
                sk.send(bytes.fromhex(h) if h != "big" else b"\x08" * (200 * 1024))
                data = sk.recv(65536)
            except OSError as e:
                got.append({"error": str(e)})
                break
            if not data:
                got.append({"eof": True})
                break
            r = rpc.criu_resp()
            r.ParseFromString(data)
            got.append({"resp": resp_json(r), "size": len(data)})
        sk.close()
        out(replies=got)
    else:
        raise SystemExit("unknown action " + action)


main()
