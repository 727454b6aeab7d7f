#!/usr/bin/env bash
# Builds jcriu, starts a small counter program, checkpoints it (the process is gone), restores
# it from the images with the same PID, and shows that it carries on counting where it stopped.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
jcriu_require_root
jcriu_install_deps
echo "== building jcriu"
mvn -B -q -ntp package -DskipTests
J="$PWD/bin/jcriu"
work=$(mktemp -d /tmp/jcriu-demo.XXXXXX)
pid=
cleanup() { [ -n "$pid" ] && kill -9 "$pid" 2>/dev/null; true; }
trap cleanup EXIT

cat > "$work/counter.py" <<'PY'
import sys, time
i = 0
while True:
    i += 1
    print(i, flush=True)
    time.sleep(0.2)
PY
pid=$(cd "$work"; setsid python3 counter.py </dev/null >"$work/counter.out" 2>&1 & echo $!)
sleep 1.5
echo "== counter running as pid $pid, last lines: $(tail -n 3 "$work/counter.out" | tr '\n' ' ')"
mkdir "$work/images"
echo "== jcriu dump -t $pid -D $work/images"
"$J" dump -t "$pid" -D "$work/images" -o dump.log
before=$(tail -n 1 "$work/counter.out")
sleep 1
[ -d "/proc/$pid" ] && echo "unexpected: pid $pid still exists" || echo "== pid $pid is gone after the dump; counter stopped at $before"
ls "$work/images"
echo "== jcriu restore -d -D $work/images"
"$J" restore -d -D "$work/images" -o restore.log
sleep 1.5
echo "== pid $pid is back: $(tr '\0' ' ' < /proc/$pid/cmdline)"
echo "== counter continued: $(tail -n 5 "$work/counter.out" | tr '\n' ' ')"
after=$(tail -n 1 "$work/counter.out")
if [ "$after" -gt "$before" ]; then echo "== OK: the restored process carries on counting ($before -> $after)"; else echo "== FAILED"; exit 1; fi
