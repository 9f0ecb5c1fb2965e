# test/bench/lib.sh: what every benchmark sources.  The cluster and data functions live in
# scripts/lib.sh (vs_build_install, vs_cluster_start/stop, vs_psql, vs_load_fmnist); this
# adds benchmark settings: the anchors' configuration (shared_buffers = 4GB, jit = off).
VS_ROOT=${VS_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
. "$VS_ROOT/scripts/lib.sh"
VS_SHARED_BUFFERS=${VS_SHARED_BUFFERS:-4GB}
VS_MAINTENANCE_WORK_MEM=${VS_MAINTENANCE_WORK_MEM:-2GB}

# bench_ms CMD...: run a command, print its wall time in milliseconds.
bench_ms() {
	local t0 t1
	t0=$(date +%s%N)
	"$@" >/dev/null
	t1=$(date +%s%N)
	echo $(( (t1 - t0) / 1000000 ))
}
