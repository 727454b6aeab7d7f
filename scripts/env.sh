# Shared by scripts/*.sh: finds JDK 25 and installs the tools the build and tests use.

jcriu_find_jdk() {
    local c
    for c in "${JAVA_HOME:-}" /usr/lib/jvm/temurin-25-jdk-amd64 /usr/lib/jvm/*25* /usr/lib/jvm/*; do
        [ -n "$c" ] && [ -x "$c/bin/javac" ] || continue
        if "$c/bin/java" -version 2>&1 | grep -Eq 'version "(2[5-9]|[3-9][0-9])'; then
            echo "$c"
            return 0
        fi
    done
    return 1
}

jcriu_require_root() {
    if [ "$(id -u)" != 0 ]; then
        echo "jcriu: must run as root (ptrace, clone3 with set_tid, /proc/PID/mem)" >&2
        exit 1
    fi
}

# gcc and python3 build and run test workloads; Debian's criu package provides upstream crit,
# which the interop tests use when present (its criu binary does not run on new kernels).
jcriu_install_deps() {
    local missing=()
    command -v mvn >/dev/null || missing+=(maven)
    command -v gcc >/dev/null || missing+=(gcc)
    command -v python3 >/dev/null || missing+=(python3)
    command -v crit >/dev/null || missing+=(criu)
    if [ ${#missing[@]} -gt 0 ] && command -v apt-get >/dev/null; then
        echo "jcriu: installing ${missing[*]}" >&2
        (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}") >/dev/null 2>&1 \
            || echo "jcriu: could not install ${missing[*]}; tests that need them will skip or fail" >&2
    fi
}

JAVA_HOME=$(jcriu_find_jdk) || { echo "jcriu: no JDK 25 or newer found (set JAVA_HOME)" >&2; exit 1; }
export JAVA_HOME
export PATH="$JAVA_HOME/bin:$PATH"
