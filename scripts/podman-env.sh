# Source this before calling podman (or cibuildwheel with container-engine podman) in CI.
# It points podman at a containers.conf of the project's: runc as the runtime, cgroupfs, file
# events, and ulimits lowered to what an unprivileged CI sandbox allows (podman's default
# nofile/nproc limits are higher than such a sandbox grants, and container creation fails).
WSCODEC_CI_CACHE=${WSCODEC_CI_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/wscodec-ci}
mkdir -p "$WSCODEC_CI_CACHE"
_nofile=$(ulimit -Hn)
[ "$_nofile" = unlimited ] && _nofile=65536
[ "$_nofile" -gt 65536 ] && _nofile=65536
_nproc=$(ulimit -Hu)
[ "$_nproc" = unlimited ] && _nproc=32768
[ "$_nproc" -gt 32768 ] && _nproc=32768
cat >"$WSCODEC_CI_CACHE/containers.conf" <<CONF
[containers]
default_ulimits = ["nofile=$_nofile:$_nofile", "nproc=$_nproc:$_nproc"]
netns = "host"
log_driver = "k8s-file"

[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
CONF
export CONTAINERS_CONF=$WSCODEC_CI_CACHE/containers.conf
unset _nofile _nproc
