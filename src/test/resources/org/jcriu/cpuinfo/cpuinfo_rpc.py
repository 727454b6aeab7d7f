# CPUINFO_DUMP / CPUINFO_CHECK through upstream pycriu, against "criu swrk" (a binary) or a
# service socket ("sk:PATH"). Args: target, dump|check, images dir, [cpu_cap]. Prints the reply as JSON.
import json
import os
import sys

import pycriu
from google.protobuf import json_format

target, what, imgdir = sys.argv[1], sys.argv[2], sys.argv[3]
c = pycriu.criu()
if target.startswith("sk:"):
    c.use_sk(target[3:])
else:
    c.use_binary(target)
req = pycriu.rpc.criu_req()
req.type = pycriu.rpc.CPUINFO_DUMP if what == "dump" else pycriu.rpc.CPUINFO_CHECK
fd = os.open(imgdir, os.O_DIRECTORY)
req.opts.images_dir_fd = fd
if len(sys.argv) > 4:
    req.opts.cpu_cap = int(sys.argv[4])
r = c._send_req_and_recv_resp(req)
os.close(fd)
print(json.dumps(json_format.MessageToDict(r, preserving_proto_field_name=True)), flush=True)
