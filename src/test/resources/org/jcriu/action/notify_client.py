# notify_scripts over "criu swrk": sends one DUMP or RESTORE, answers every NOTIFY (refusing the
# one named), and prints the notifications seen and the final reply as JSON.
# Args: jcriu binary, dump|restore, images dir, pid (dump) or -, action to refuse or -
import json
import os
import socket
import sys

import pycriu
from google.protobuf import json_format

rpc = pycriu.rpc
binary, op, imgdir, pid, refuse = sys.argv[1:6]
css = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
os.set_inheritable(css[0].fileno(), True)
child = os.fork()
if child == 0:
    os.execv(binary, [binary, "swrk", str(css[0].fileno())])
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
sk.send(req.SerializeToString())
seen = []
res = {}
while True:
    data = sk.recv(65536)
    if not data:
        res["eof"] = True
        break
    r = rpc.criu_resp()
    r.ParseFromString(data)
    if r.type != rpc.NOTIFY:
        res["resp"] = json_format.MessageToDict(r, preserving_proto_field_name=True)
        break
    seen.append(r.notify.script + (":%d" % r.notify.pid if r.notify.HasField("pid") else ""))
    ans = rpc.criu_req()
    ans.type = rpc.NOTIFY
    ans.notify_success = r.notify.script != refuse
    sk.send(ans.SerializeToString())
sk.close()
os.waitpid(child, 0)
res["notifications"] = seen
print(json.dumps(res), flush=True)
