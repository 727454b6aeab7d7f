# The caller of `jcriu restore -S -d`, as runc or a shell would be: it runs jcriu, then finds the
# restored root among its own children. Prints one JSON object.
#   sibling_parent.py JCRIU IMAGES_DIR run    restore, look at the root, SIGTERM it, wait for it
#   sibling_parent.py JCRIU IMAGES_DIR fail   restore expected to fail: report what children are left
# Further arguments go to jcriu restore.
import json
import os
import signal
import subprocess
import sys
import time

STATUS_KEYS = ("SigBlk", "SigIgn", "SigCgt", "ShdPnd", "SigPnd", "NoNewPrivs", "Seccomp", "Threads", "TracerPid")


def proc(pid):
    with open("/proc/%d/stat" % pid) as f:
        ppid = int(f.read().rsplit(")", 1)[1].split()[1])
    status = {}
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            k, _, v = line.partition(":")
            if k in STATUS_KEYS:
                status[k] = v.strip()
    fd_dir = "/proc/%d/fd" % pid
    fds = {}
    for n in os.listdir(fd_dir):
        try:
            fds[n] = os.readlink(os.path.join(fd_dir, n))
        except OSError:
            pass
    # flat strings, sorted, so that the test compares them with what it saw before the dump
    return ppid, ";".join("%s=%s" % (k, status[k]) for k in sorted(status)), \
        ";".join("%s=%s" % (n, fds[n]) for n in sorted(fds, key=int))


def children_left():
    """Every child of ours that is still around, with how it ended (or that it runs)."""
    left = []
    while True:
        try:
            pid, st = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return left
        if pid == 0:
            left.append({"running": True})
            return left
        left.append({"pid": pid, "signaled": os.WIFSIGNALED(st), "sig": os.WTERMSIG(st) if os.WIFSIGNALED(st) else 0})


def main():
    jcriu, images, mode = sys.argv[1], sys.argv[2], sys.argv[3]
    pidfile = os.path.join(images, "restored.pid")
    cmd = [jcriu, "restore", "-S", "-d", "-D", images, "-v4", "-o", "restore.log", "--pidfile", pidfile] + sys.argv[4:]
    r = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    out = {"me": os.getpid(), "rc": r.returncode, "stderr": r.stderr.strip()}
    if mode == "fail":
        time.sleep(0.2)
        out["children"] = children_left()
        print(json.dumps(out), flush=True)
        return
    with open(pidfile) as f:
        pid = int(f.read())
    out["pid"] = pid
    # our child, running: waitpid() would raise ChildProcessError for anyone else's process
    out["running"] = os.waitpid(pid, os.WNOHANG) == (0, 0)
    out["ppid"], out["status"], out["fds"] = proc(pid)
    out["exe"] = os.readlink("/proc/%d/exe" % pid)
    with open("/proc/%d/maps" % pid) as f, open(os.path.join(images, "maps.restored"), "w") as m:
        m.write(f.read())
    with open("/proc/%d/task/%d/children" % (pid, pid)) as f:
        out["root_children"] = [int(c) for c in f.read().split()]
    os.kill(pid, signal.SIGTERM)
    wpid, st = os.waitpid(pid, 0)
    out["waited"] = wpid
    out["exited"] = os.WIFEXITED(st)
    out["exit"] = os.WEXITSTATUS(st) if os.WIFEXITED(st) else -os.WTERMSIG(st)
    out["children"] = children_left()
    print(json.dumps(out), flush=True)


main()
