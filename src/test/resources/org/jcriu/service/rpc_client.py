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
        css = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        os.set_inheritable(css[0].fileno(), True)
        child = os.fork()
        if child == 0:
            os.execv(target, [target, "swrk", str(css[0].fileno())])
        css[0].close()
        sk = css[1]
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
        sk.send(req.SerializeToString())
        seen = []
        while True:
            data = sk.recv(65536)
            if not data:
                out(notifications=seen, eof=True)
                break
            r = rpc.criu_resp()
            r.ParseFromString(data)
            if r.type != rpc.NOTIFY:
                out(notifications=seen, resp=resp_json(r))
                break
            seen.append(r.notify.script + (":%d" % r.notify.pid if r.notify.HasField("pid") else ""))
            ans = rpc.criu_req()
            ans.type = rpc.NOTIFY
            ans.notify_success = r.notify.script != refuse
            sk.send(ans.SerializeToString())
        sk.close()
        os.waitpid(child, 0)
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
