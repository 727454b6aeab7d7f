# python loop: counts into DIR/count and keeps a patterned bytearray; on SIGTERM verifies both.
import os, signal, sys, time
d = sys.argv[1]
data = bytearray((i * 7 + 3) & 0xff for i in range(1 << 20))
state = {"i": 0, "stop": False}
signal.signal(signal.SIGTERM, lambda s, f: state.update(stop=True))
def put(name, text):
    with open(os.path.join(d, "." + name), "w") as f:
        f.write(text)
    os.rename(os.path.join(d, "." + name), os.path.join(d, name))
while not state["stop"]:
    state["i"] += 1
    put("count", str(state["i"]))
    if state["i"] == 3:
        put("ready", str(os.getpid()))
    time.sleep(0.02)
ok = all(data[i] == (i * 7 + 3) & 0xff for i in range(0, len(data), 997))
with open(os.path.join(d, "count")) as f:
    c = int(f.read())
put("verdict", "PASS count=%d\n" % state["i"] if ok and c == state["i"] else "FAIL data=%s count=%d vs %d\n" % (ok, c, state["i"]))
