#!/bin/sh
# make DIR: GNU make -j2 building a generated Makefile whose recipes are shell loops (dash as
# /bin/sh), one of them a recursive make sharing the jobserver: a tree of make, shells, a
# sub-make and sleep children that keeps forking (make starts recipes with posix_spawn, that is
# vfork + exec; the shells fork a sleep every 0.1 s).
# Every recipe counts 1..25 into TARGET.log, one line per 0.1 s, then creates TARGET. Once every
# target is built, `all` writes DIR/verdict "PASS"; the test then checks each log has 1..25 with
# no gap and no repeat. DIR/ready holds make's pid (this shell execs make).
cd "$1" || exit 2
cat > Makefile <<'MK'
all: t1 t2 t3 t4
	@echo PASS > verdict
t4:
	@$(MAKE) --no-print-directory -f sub.mk u1 u2
	@echo built > $@
t%:
	@i=0; while [ $$i -lt 25 ]; do i=$$((i+1)); echo $$i >> $@.log; sleep 0.1; done; echo built > $@
MK
cat > sub.mk <<'MK'
u%:
	@i=0; while [ $$i -lt 25 ]; do i=$$((i+1)); echo $$i >> $@.log; sleep 0.1; done; echo built > $@
MK
echo $$ > ready
exec make -j2
