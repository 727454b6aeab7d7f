# bash loop without children: counts into DIR/count with builtins only; `read -t` on stdin
# (a pipe whose writer never writes) is the delay, so no `sleep` child exists at dump time.
# The count is written in place, fixed width, never truncated: a dump (or a reader) in the
# middle of a write never sees an empty file. SIGTERM only sets a flag: the check runs between
# iterations, never between i++ and the write.
dir=$1
i=0
stop=
trap 'stop=1' TERM
while [ -z "$stop" ]; do
  i=$((i+1))
  printf -v n '%012d' "$i"
  echo -n "$n" 1<>"$dir/count"
  if [ $i = 3 ]; then echo $$ > "$dir/.r"; mv "$dir/.r" "$dir/ready"; fi
  read -t 0.02 -u 0 _
done
c=$(<"$dir/count")
if [ "$((10#$c))" = "$i" ]; then echo "PASS count=$i" > "$dir/.v"; else echo "FAIL count file $c vs $i" > "$dir/.v"; fi
mv "$dir/.v" "$dir/verdict"
