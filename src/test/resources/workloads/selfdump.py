# A python program that checkpoints itself over CRIU RPC (DUMP without pid), as libcriu's
# criu_dump() does, and carries on: after the answer it counts into DIR/count until SIGTERM,
# then verifies its state and writes DIR/verdict.
#   selfdump.py DIR TARGET leave|kill|fail
# fail: holds a UDP socket, which jcriu refuses to dump: the dump must fail and leave it running.
# TARGET: a criu/jcriu binary (pycriu's use_binary: swrk daemonized, as libcriu does it),
#   child:BINARY (swrk left as this process's child, as the Java client does it), or
#   sk:SOCKET (a `criu service`).
# DIR/result gets "restored=True|False seconds=S" once the DUMP is answered (the original with
# leave, the restored copy with kill), or "error ..." when the dump failed.
import os, signal, socket, sys, time
import pycriu

rpc = pycriu.rpc
d, target, mode = sys.argv[1], sys.argv[2], sys.argv[3]
data = bytearray((i * 13 + 5) & 0xff for i in range(1 << 20))
state = {"i": 0, "stop": False}
signal.signal(signal.SIGTERM, lambda s, f: state.update(stop=True))


def put(name, text):
    with open(os.path.join(d, "." + name), "w") as f:
        f.write(text)
    os.rename(os.path.join(d, "." + name), os.path.join(d, name))


def opts(o, imgfd):
    o.images_dir_fd = imgfd
    o.log_level = 4
    o.log_file = "dump.log"
    o.leave_running = mode != "kill"


def self_dump_child(binary, imgfd):
    # libcriu without daemon(): the swrk process stays our child and must stay out of the dump
    css = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    os.set_inheritable(css[0].fileno(), True)
    child = os.fork()
    if child == 0:
        os.execv(binary, [binary, "swrk", str(css[0].fileno())])
    css[0].close()
    sk = css[1]
    req = rpc.criu_req()
    req.type = rpc.DUMP
    opts(req.opts, imgfd)
    sk.send(req.SerializeToString())
    buf = sk.recv(len(sk.recv(1, socket.MSG_TRUNC | socket.MSG_PEEK)))
    sk.close()
    try:
        os.waitpid(child, 0)
    except ChildProcessError:
        pass  # the restored copy: that swrk process was never ours
    r = rpc.criu_resp()
    r.ParseFromString(buf)
    if not r.success:
        raise RuntimeError("dump failed: errno %d: %s" % (r.cr_errno, r.cr_errmsg))
    return r.dump.restored


def self_dump(imgfd):
    if target.startswith("child:"):
        return self_dump_child(target[6:], imgfd)
    c = pycriu.criu()
    if target.startswith("sk:"):
        c.use_sk(target[3:])
    else:
        c.use_binary(target)
    opts(c.opts, imgfd)
    return c.dump().restored


img = os.path.join(d, "img")
os.makedirs(img, exist_ok=True)
imgfd = os.open(img, os.O_DIRECTORY)
udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM) if mode == "fail" else None
put("ready", str(os.getpid()))
t0 = time.time()
try:
    restored = self_dump(imgfd)
    put("result", "restored=%s seconds=%.4f\n" % (restored, time.time() - t0))
    print("restored" if restored else "dumped, running on", flush=True)
except Exception as e:
    put("result", "error %s\n" % e)
    if mode != "fail":
        raise SystemExit(1)
    restored = None
os.close(imgfd)
while not state["stop"]:
    state["i"] += 1
    put("count", str(state["i"]))
    time.sleep(0.02)
ok = all(data[i] == (i * 13 + 5) & 0xff for i in range(0, len(data), 997))
put("verdict", "PASS restored=%s count=%d\n" % (restored, state["i"]) if ok else "FAIL data changed\n")
