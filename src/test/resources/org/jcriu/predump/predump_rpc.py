# CRIU RPC pre-dump sequences against jcriu swrk, with upstream pycriu's messages: "loop" is
# PRE_DUMP, PRE_DUMP, DUMP on one session (criu's pre_dump_loop, as P.Haul and pycriu's users
# drive it), the workload changing between them; "single" is one SINGLE_PRE_DUMP (runc
# checkpoint --pre-dump). Prints the responses as one JSON list.
import json
import os
import signal
import socket
import sys
import time

import pycriu

rpc = pycriu.rpc


def main():
    jcriu, action, pid, base = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
    css = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    os.set_inheritable(css[0].fileno(), True)
    child = os.fork()
    if child == 0:
        os.execv(jcriu, [jcriu, "swrk", str(css[0].fileno())])
    css[0].close()
    sk = css[1]
    results = []

    def req(kind, d, parent=None):
        fd = os.open(os.path.join(base, d), os.O_DIRECTORY)
        r = rpc.criu_req()
        r.type = kind
        r.opts.images_dir_fd = fd
        r.opts.pid = pid
        r.opts.log_level = 4
        r.opts.log_file = d + ".log"
        r.opts.track_mem = True
        if parent:
            r.opts.parent_img = parent
        sk.send(r.SerializeToString())
        resp = rpc.criu_resp()
        resp.ParseFromString(sk.recv(1 << 20))
        os.close(fd)
        results.append({"type": rpc.criu_req_type.Name(resp.type), "success": resp.success,
                        "errmsg": resp.cr_errmsg if resp.HasField("cr_errmsg") else ""})
        return resp.success

    def change(n):
        os.kill(pid, signal.SIGUSR1)
        f = os.path.join(base, "w", "changed")
        for _ in range(4000):
            try:
                with open(f) as fh:
                    if fh.read().strip() == str(n):
                        return
            except FileNotFoundError:
                pass
            time.sleep(0.005)
        raise SystemExit("round %d never done" % n)

    if action == "loop":
        if req(rpc.PRE_DUMP, "d0"):
            change(1)
            if req(rpc.PRE_DUMP, "d1", "../d0"):
                change(2)
                req(rpc.DUMP, "d2", "../d1")
    else:
        req(rpc.SINGLE_PRE_DUMP, "d0")
    sk.close()
    os.waitpid(child, 0)
    print(json.dumps(results), flush=True)


main()
