# scripts/lib.sh: shared shell functions for the test runner, the demo and the benchmarks.
# Source it; it defines:
#   vs_build_install   build with PGXS and install (system, or the sandbox in $VS_SANDBOX)
#   vs_cluster_start   initdb + start a scratch cluster as the postgres OS user
#   vs_cluster_stop    stop it and remove its directory
#   vs_psql ARGS       psql as postgres on the scratch cluster's socket
#   vs_load_fmnist [N] load Fashion-MNIST into fmnist_train / fmnist_test
# Settings (environment): VS_SANDBOX (install into a relocated private copy of PostgreSQL
# instead of the system directories; for parallel development), VS_PG_CONF (extra lines for
# postgresql.conf), VS_DB (database, default vecsearch).

VS_ROOT=${VS_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
VS_PGVER=${VS_PGVER:-15}
VS_DB=${VS_DB:-vecsearch}
VS_FMNIST_DIR=${VS_FMNIST_DIR:-/usr/share/datasets/fashion-mnist}

vs_pgbin() {
	if [ -n "${VS_SANDBOX:-}" ]; then
		echo "$VS_SANDBOX/usr/lib/postgresql/$VS_PGVER/bin"
	else
		echo "/usr/lib/postgresql/$VS_PGVER/bin"
	fi
}

# Create the relocated copy of PostgreSQL that VS_SANDBOX names (once).
vs_sandbox_init() {
	local s=$VS_SANDBOX
	[ -x "$s/usr/lib/postgresql/$VS_PGVER/bin/postgres" ] && return 0
	mkdir -p "$s/usr/lib/postgresql" "$s/usr/share/postgresql"
	cp -a "/usr/lib/postgresql/$VS_PGVER" "$s/usr/lib/postgresql/"
	cp -a "/usr/share/postgresql/$VS_PGVER" "$s/usr/share/postgresql/"
}

vs_build_install() {
	local flags=() stamp="$VS_ROOT/.build-flags"
	[ -n "${VECSEARCH_WERROR:-}" ] && flags+=(VECSEARCH_WERROR=1)
	[ -n "${VECSEARCH_ASSERT:-}" ] && flags+=(VECSEARCH_ASSERT=1)
	# objects built with other flags (an assert build, say) are rebuilt, not mixed
	if [ "$(cat "$stamp" 2>/dev/null)" != "${flags[*]}" ]; then
		make -C "$VS_ROOT" -s clean >/dev/null
		echo "${flags[*]}" >"$stamp"
	fi
	make -C "$VS_ROOT" -s -j2 "${flags[@]}" >/dev/null
	if [ -n "${VS_SANDBOX:-}" ]; then
		vs_sandbox_init
		make -C "$VS_ROOT" -s install DESTDIR="$VS_SANDBOX" >/dev/null
	else
		make -C "$VS_ROOT" -s install >/dev/null
	fi
}

# Run a command as the postgres OS user (PostgreSQL refuses to run as root).
vs_as_postgres() {
	if [ "$(id -u)" = 0 ]; then
		su postgres -s /bin/bash -c "$(printf '%q ' "$@")"
	else
		"$@"
	fi
}

vs_cluster_start() {
	VS_TMP=$(mktemp -d "${TMPDIR:-/tmp}/vecsearch.XXXXXX")
	chmod 755 "$VS_TMP"
	[ "$(id -u)" = 0 ] && chown postgres: "$VS_TMP"
	export PGHOST=$VS_TMP PGPORT=5432 PGUSER=postgres PGDATABASE=$VS_DB
	local bin; bin=$(vs_pgbin)
	vs_as_postgres "$bin/initdb" -D "$VS_TMP/data" -U postgres -A trust --no-sync -E UTF8 >"$VS_TMP/initdb.log" 2>&1 \
		|| { cat "$VS_TMP/initdb.log"; return 1; }
	{
		echo "listen_addresses = ''"
		echo "unix_socket_directories = '$VS_TMP'"
		echo "port = 5432"
		echo "fsync = off"
		echo "jit = off"
		echo "max_wal_size = 4GB"
		echo "shared_buffers = ${VS_SHARED_BUFFERS:-512MB}"
		echo "maintenance_work_mem = ${VS_MAINTENANCE_WORK_MEM:-1GB}"
		echo "${VS_PG_CONF:-}"
	} >>"$VS_TMP/data/postgresql.conf"
	vs_as_postgres "$bin/pg_ctl" -D "$VS_TMP/data" -l "$VS_TMP/server.log" -w -t 60 start >/dev/null \
		|| { cat "$VS_TMP/server.log"; return 1; }
	vs_as_postgres "$bin/createdb" -h "$VS_TMP" -U postgres "$VS_DB"
	trap vs_cluster_stop EXIT
}

vs_cluster_stop() {
	[ -n "${VS_TMP:-}" ] || return 0
	vs_as_postgres "$(vs_pgbin)/pg_ctl" -D "$VS_TMP/data" -m fast -w stop >/dev/null 2>&1 || true
	rm -rf "$VS_TMP"
	VS_TMP=
}

vs_psql() {
	psql -X -v ON_ERROR_STOP=1 -q "$@"
}

# vs_load_fmnist [NTRAIN]: tables fmnist_train (60,000 rows, or NTRAIN) and fmnist_test
# (10,000), columns id int (0-based, file order), label int, embedding vector(784)
# holding the raw pixel values 0..255.  The pixel vectors compress 4x, so the tables are
# made with toast_tuple_target = 8160 to keep them inline and uncompressed (README,
# "Storage": decompressing every row costs more than the distance).
vs_load_fmnist() {
	local n=${1:-60000}
	vs_psql -c "CREATE EXTENSION IF NOT EXISTS vecsearch" \
		-c "DROP TABLE IF EXISTS fmnist_train, fmnist_test" \
		-c "CREATE TABLE fmnist_train (id int PRIMARY KEY, label int NOT NULL, embedding vector(784) NOT NULL) WITH (toast_tuple_target = 8160)" \
		-c "CREATE TABLE fmnist_test (id int PRIMARY KEY, label int NOT NULL, embedding vector(784) NOT NULL) WITH (toast_tuple_target = 8160)"
	perl "$VS_ROOT/scripts/fmnist2copy.pl" "$VS_FMNIST_DIR/train-images-idx3-ubyte.gz" \
		"$VS_FMNIST_DIR/train-labels-idx1-ubyte.gz" "$n" |
		vs_psql -c "\\copy fmnist_train FROM STDIN"
	perl "$VS_ROOT/scripts/fmnist2copy.pl" "$VS_FMNIST_DIR/t10k-images-idx3-ubyte.gz" \
		"$VS_FMNIST_DIR/t10k-labels-idx1-ubyte.gz" 10000 |
		vs_psql -c "\\copy fmnist_test FROM STDIN"
	vs_psql -c "VACUUM ANALYZE fmnist_train" -c "VACUUM ANALYZE fmnist_test"
}
