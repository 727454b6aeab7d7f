# python threads: 6 threading.Thread workers, each appending its progress to DIR/progress-N
# (one line per step, through its own open file), one blocked in Event.wait() and one in
# Condition.wait(timeout); on SIGTERM checks every worker still made progress, the waiters
# wake when told, and writes DIR/verdict.
import os, signal, sys, threading, time
d = sys.argv[1]
N = 6
stop = threading.Event()
counts = [0] * N
def put(name, text):
    with open(os.path.join(d, "." + name), "w") as f:
        f.write(text)
    os.rename(os.path.join(d, "." + name), os.path.join(d, name))
def work(i):
    with open(os.path.join(d, "progress-%d" % i), "w", buffering=1) as f:
        while not stop.is_set():
            counts[i] += 1
            f.write("%d\n" % counts[i])
            time.sleep(0.01)
ev = threading.Event()
woke = {}
def ev_wait():
    ev.wait()
    woke["event"] = time.monotonic()
cond = threading.Condition()
flag = []
def cond_wait():
    with cond:
        while not flag:
            cond.wait(timeout=30)
    woke["cond"] = time.monotonic()
threads = [threading.Thread(target=work, args=(i,), name="work-%d" % i) for i in range(N)]
threads += [threading.Thread(target=ev_wait, name="evwait"), threading.Thread(target=cond_wait, name="condwait")]
for t in threads:
    t.start()
term = threading.Event()
signal.signal(signal.SIGTERM, lambda s, f: term.set())
while min(counts) < 3:
    time.sleep(0.01)
put("ready", str(os.getpid()))
while not term.is_set():
    term.wait(0.05)
before = list(counts)
time.sleep(0.3)
stuck = [i for i in range(N) if counts[i] <= before[i]]
early = sorted(woke)
ev.set()
with cond:
    flag.append(1)
    cond.notify_all()
stop.set()
for t in threads:
    t.join(10)
alive = [t.name for t in threads if t.is_alive()]
bad = []
for i in range(N):
    with open(os.path.join(d, "progress-%d" % i)) as f:
        lines = [int(x) for x in f.read().split()]
    if lines != list(range(1, counts[i] + 1)):
        bad.append(i)
if stuck or early or alive or bad or len(woke) != 2:
    put("verdict", "FAIL stuck=%s woke_early=%s alive=%s bad_progress=%s woke=%s\n" % (stuck, early, alive, bad, sorted(woke)))
else:
    put("verdict", "PASS threads=%d counts=%s\n" % (len(threads) + 1, counts))
