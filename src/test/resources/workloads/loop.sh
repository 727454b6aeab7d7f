# bash loop without children: counts into DIR/count with builtins only; `read -t` on stdin
# (a pipe whose writer never writes) is the delay, so no `sleep` child exists at dump time.
# SIGTERM only sets a flag: the check runs between iterations, never between i++ and the write.
dir=$1
i=0
stop=
trap 'stop=1' TERM
while [ -z "$stop" ]; do
  i=$((i+1))
  echo "$i" > "$dir/count"
  if [ $i = 3 ]; then echo $$ > "$dir/.r"; mv "$dir/.r" "$dir/ready"; fi
  read -t 0.02 -u 0 _
done
if [ "$(cat "$dir/count")" = "$i" ]; then echo "PASS count=$i" > "$dir/.v"; else echo "FAIL count file $(cat "$dir/count") vs $i" > "$dir/.v"; fi
mv "$dir/.v" "$dir/verdict"
