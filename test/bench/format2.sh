#!/usr/bin/env bash
# test/bench/format2.sh: the benchmark of issue 10 (hnsw format 2): vecsearch's hnsw against
# hnswlib and pgvector, measured in the same run on the same data and ground truth
# (doc/benchmarks.md, "Format 2 benchmark").
#
# Data sets (SETS, seeded, generated here; recall@10 tie-aware against vecsearch_knn):
#   fmnist      Fashion-MNIST, 60,000 x 784, L2, the first BENCH_QUERIES test images as queries
#   fmnist_rot  the same under a fixed random rotation (test/bench/format2_gen.c rotate):
#               same distances, float values instead of integers 0..255
#   low128      vecsearch_synthetic(N + Q, 128, 8, 7), cosine (low intrinsic dimension)
#   high128     vecsearch_synthetic(N + Q, 128, 128, 7), cosine (high; target recall 0.5)
#   emb768      embedding-like, 768 dims, cosine (format2_gen.c emb: power-law spectrum with
#               exponent EMB_ALPHA, a shared mean direction of weight EMB_MEAN, normalised),
#               once per size in EMB_SIZES
# Systems, per set:
#   vecsearch   for each variant in VS_VARIANTS ("name:options[:settings]", options
#               appended to VS_HNSW_WITH, settings name=value for its scans, each list with
#               commas, e.g. "none:codes=none sq8:codes=sq8:vecsearch.rerank=40"; a variant
#               whose options or settings the installed build rejects is skipped, and said so):
#               build 1 process and BENCH_WORKERS workers, peak RSS of the building backend
#               (serial build), index size; per ef_search recall, backend CPU per query and
#               one-client QPS
#   hnswlib     from HNSWLIB_SRC (a checkout; our driver test/bench/format2_hnswlib.cpp,
#               g++ -O3 -march=native, one thread): build, CPU per query, recall
#   pgvector    from PGVECTOR_SRC (a checkout; installed into a private relocated copy of
#               PostgreSQL and run as a second cluster, so its `vector` never meets ours):
#               the same measurements as vecsearch
# CPU per query: a server-side PL/pgSQL loop over the queries (BENCH_PASSES passes and at
# least BENCH_MIN_MS ms, as /proc/self/schedstat, the backend's CPU time read before and
# after, moves in scheduler ticks), minus the same loop with an empty body; the loop
# around a primary-key lookup is printed beside it.  QPS: pgbench, one client, prepared,
# BENCH_SECONDS per ef_search, the query vector fetched by primary key inside the statement,
# with the round trip floor (SELECT 1) of the same cluster printed beside it.  Per set a
# summary: cost and QPS interpolated at the target recall, ratios, build and size ratios;
# at the end the scaling table of emb768.
#
#   bash test/bench/format2.sh                          scratch cluster (VS_SANDBOX honoured)
#   HNSWLIB_SRC=/path PGVECTOR_SRC=/path                the other systems (skipped without)
#   SETS="fmnist fmnist_rot low128 high128 emb768"      EMB_SIZES="100000 250000 500000"
#   BENCH_N=5000                                        rows of every set (quick runs)
#   BENCH_QUERIES=1000 BENCH_EF="10 20 40 80 160 320" BENCH_PASSES=3 BENCH_MIN_MS=500
#   BENCH_SECONDS=5
#   BENCH_M=16 BENCH_EFC=64 BENCH_WORKERS=2             graph settings (all systems)
#   VS_HNSW_WITH="m = 16, ef_construction = 64"         vecsearch's WITH (...), before variants
#   VS_VARIANTS="default:"  VS_GUCS="name=value ..."    settings for vecsearch's scans
#   EMB_ALPHA=1.5 EMB_MEAN=0.65 BENCH_WORK=DIR          (results.tsv and report.txt kept there)
#   BENCH_REPORT=DIR                                    print DIR's results.tsv again, measure nothing
set -euo pipefail
VS_ROOT=$(cd "$(dirname "$0")/../.." && pwd)
. "$VS_ROOT/test/bench/lib.sh"

SETS=${SETS:-"fmnist fmnist_rot low128 high128 emb768"}
EMB_SIZES=${EMB_SIZES:-100000}
NQ=${BENCH_QUERIES:-1000}
EFS=${BENCH_EF:-"10 20 40 80 160 320"}
PASSES=${BENCH_PASSES:-3}
MIN_MS=${BENCH_MIN_MS:-500}
SECS=${BENCH_SECONDS:-5}
M=${BENCH_M:-16}
EFC=${BENCH_EFC:-64}
WORKERS=${BENCH_WORKERS:-2}
VS_HNSW_WITH=${VS_HNSW_WITH:-"m = $M, ef_construction = $EFC"}
VS_VARIANTS=${VS_VARIANTS:-"default:"}
VS_GUCS=${VS_GUCS:-}
EMB_ALPHA=${EMB_ALPHA:-1.5}
EMB_MEAN=${EMB_MEAN:-0.65}
ROT_SEED=42
EMB_SEED=7
WORK=${BENCH_WORK:-$(mktemp -d "${TMPDIR:-/tmp}/vs-format2.XXXXXX")}
mkdir -p "$WORK"
chmod 777 "$WORK"
RES=$WORK/results.tsv
PGBENCH=$(vs_pgbin)/pgbench
[ -x "$PGBENCH" ] || PGBENCH=/usr/lib/postgresql/$VS_PGVER/bin/pgbench
HAVE_HNSWLIB=
HAVE_PGV=
PGV_TMP=

say() { echo "$*" >&2; }

# ---------------------------------------------------------------- tools and clusters

# compile format2_gen and, with HNSWLIB_SRC, the hnswlib driver, into $WORK
tools_build() {
	cc -O3 -march=native -o "$WORK/format2_gen" "$VS_ROOT/test/bench/format2_gen.c" -lm
	if [ -z "${HNSWLIB_SRC:-}" ]; then
		say "hnswlib: skipped (HNSWLIB_SRC not set)"
	elif [ ! -f "$HNSWLIB_SRC/hnswlib/hnswlib.h" ]; then
		say "hnswlib: skipped (no hnswlib/hnswlib.h under HNSWLIB_SRC=$HNSWLIB_SRC)"
	else
		g++ -O3 -march=native -w -I"$HNSWLIB_SRC" -o "$WORK/format2_hnswlib" \
			"$VS_ROOT/test/bench/format2_hnswlib.cpp"
		HAVE_HNSWLIB=1
		say "hnswlib: $(git -C "$HNSWLIB_SRC" describe --tags 2>/dev/null || echo "from $HNSWLIB_SRC")"
	fi
}

# pgv_psql ARGS: psql on pgvector's cluster
pgv_psql() { PGHOST=$PGV_TMP vs_psql "$@"; }

pgv_stop() {
	[ -n "$PGV_TMP" ] || return 0
	vs_as_postgres "$PGV_SANDBOX/usr/lib/postgresql/$VS_PGVER/bin/pg_ctl" -D "$PGV_TMP/data" -m fast -w stop >/dev/null 2>&1 || true
	rm -rf "$PGV_TMP"
	PGV_TMP=
}

# With PGVECTOR_SRC: build pgvector from a copy of it, install it into a relocated copy of
# PostgreSQL (PGV_SANDBOX, default $WORK/pgvector-pg) and start a second scratch cluster
# there (vs_cluster_start with VS_SANDBOX pointed at that copy).
pgv_start() {
	local save_tmp=${VS_TMP:-} save_host=$PGHOST
	if [ -z "${PGVECTOR_SRC:-}" ]; then
		say "pgvector: skipped (PGVECTOR_SRC not set)"
		return 0
	fi
	if [ ! -f "$PGVECTOR_SRC/vector.control" ]; then
		say "pgvector: skipped (no vector.control in PGVECTOR_SRC=$PGVECTOR_SRC)"
		return 0
	fi
	PGV_SANDBOX=${PGV_SANDBOX:-$WORK/pgvector-pg}
	VS_SANDBOX=$PGV_SANDBOX vs_sandbox_init
	rm -rf "$WORK/pgvector-build"
	cp -a "$PGVECTOR_SRC" "$WORK/pgvector-build"
	make -C "$WORK/pgvector-build" -s -j2 PG_CONFIG="/usr/lib/postgresql/$VS_PGVER/bin/pg_config" >"$WORK/pgvector-build.log" 2>&1
	make -C "$WORK/pgvector-build" -s install DESTDIR="$PGV_SANDBOX" \
		PG_CONFIG="/usr/lib/postgresql/$VS_PGVER/bin/pg_config" >>"$WORK/pgvector-build.log" 2>&1
	VS_SANDBOX=$PGV_SANDBOX vs_cluster_start
	PGV_TMP=$VS_TMP
	VS_TMP=$save_tmp
	export PGHOST=$save_host
	trap 'pgv_stop; vs_cluster_stop' EXIT
	pgv_psql -c "CREATE EXTENSION vector"
	HAVE_PGV=1
	say "pgvector: $(pgv_psql -At -c "SELECT extversion FROM pg_extension WHERE extname = 'vector'") from $PGVECTOR_SRC"
}

# ---------------------------------------------------------------- data

# set_shape SET: DIM, METRIC (l2, cosine), OP, OPC and TARGET (recall of the summary)
set_shape() {
	TARGET=0.99
	case $1 in
		fmnist | fmnist_rot) DIM=784 METRIC=l2 OP='<->' OPC=vector_l2_ops ;;
		low128) DIM=128 METRIC=cosine OP='<=>' OPC=vector_cosine_ops ;;
		high128) DIM=128 METRIC=cosine OP='<=>' OPC=vector_cosine_ops TARGET=0.5 ;;
		emb768) DIM=768 METRIC=cosine OP='<=>' OPC=vector_cosine_ops ;;
		*) say "unknown set $1 (fmnist fmnist_rot low128 high128 emb768)"; exit 2 ;;
	esac
}

# make_tables PSQLFN T DIM: T_base and T_q (id int primary key, embedding vector(DIM)), the
# vectors stored inline and uncompressed (STORAGE PLAIN) in both systems
make_tables() {
	local psqlfn=$1 t=$2 dim=$3
	"$psqlfn" -q <<-EOF
		SET client_min_messages = warning;
		DROP TABLE IF EXISTS ${t}_base, ${t}_q;
		CREATE TABLE ${t}_base (id int PRIMARY KEY, embedding vector($dim) NOT NULL);
		ALTER TABLE ${t}_base ALTER embedding SET STORAGE PLAIN;
		CREATE TABLE ${t}_q (id int PRIMARY KEY, embedding vector($dim) NOT NULL);
		ALTER TABLE ${t}_q ALTER embedding SET STORAGE PLAIN;
	EOF
}

copy_out() { vs_psql -c "\\copy (SELECT id, embedding FROM $1 ORDER BY id) TO STDOUT"; }

# load_set SET T N: fill T_base (N rows) and T_q (NQ rows) in vecsearch's cluster
load_set() {
	local set=$1 t=$2 n=$3 gen=$WORK/format2_gen
	make_tables vs_psql "$t" "$DIM"
	case $set in
		fmnist | fmnist_rot)
			if [ "$(vs_psql -At -c "SELECT count(*) FROM pg_class WHERE relname = 'fmnist_train'")" = 0 ]; then
				PGOPTIONS="-c client_min_messages=warning" vs_load_fmnist "$n" >/dev/null
			fi
			if [ "$set" = fmnist ]; then
				vs_psql -c "INSERT INTO ${t}_base SELECT id, embedding FROM fmnist_train WHERE id < $n" \
					-c "INSERT INTO ${t}_q SELECT id, embedding FROM fmnist_test WHERE id < $NQ"
			else
				copy_out "fmnist_train WHERE id < $n" | "$gen" rotate 784 $ROT_SEED |
					vs_psql -c "\\copy ${t}_base FROM STDIN"
				copy_out "fmnist_test WHERE id < $NQ" | "$gen" rotate 784 $ROT_SEED |
					vs_psql -c "\\copy ${t}_q FROM STDIN"
			fi
			;;
		low128 | high128)
			local idim=8
			[ "$set" = high128 ] && idim=128
			vs_psql <<-EOF
				INSERT INTO ${t}_base SELECT row_number() OVER () - 1, v FROM vecsearch_synthetic($((n + NQ)), 128, $idim, 7) v;
				INSERT INTO ${t}_q SELECT id - $n, embedding FROM ${t}_base WHERE id >= $n;
				DELETE FROM ${t}_base WHERE id >= $n;
			EOF
			;;
		emb768)
			"$gen" emb 0 "$n" 768 $EMB_SEED "$EMB_ALPHA" "$EMB_MEAN" | vs_psql -c "\\copy ${t}_base FROM STDIN"
			"$gen" emb 1000000000 "$NQ" 768 $EMB_SEED "$EMB_ALPHA" "$EMB_MEAN" | vs_psql -c "\\copy ${t}_q FROM STDIN"
			;;
	esac
	vs_psql -c "VACUUM ANALYZE ${t}_base" -c "VACUUM ANALYZE ${t}_q"
}

# ground_truth T: T_gt (qid, kth), the 10th exact distance of every query (vecsearch_knn)
ground_truth() {
	vs_psql <<-EOF
		SET client_min_messages = warning;
		DROP TABLE IF EXISTS $1_gt;
		CREATE TABLE $1_gt AS
		SELECT k.query - 1 AS qid, max(k.distance) AS kth
		FROM vecsearch_knn('$1_base', 'embedding', (SELECT array_agg(embedding ORDER BY id) FROM $1_q), 10, '$METRIC') k
		GROUP BY k.query;
	EOF
}

# ---------------------------------------------------------------- measurements

# build_index PSQLFN T IDX OPC WITH WORKERS: CREATE INDEX in one session; prints
# "wall_ms backend_cpu_ms peak_kb", peak_kb the largest private memory (RssAnon) of the
# building backend, sampled every 0.1 s from /proc (the leader only in a parallel build)
build_index() {
	local psqlfn=$1 t=$2 idx=$3 opc=$4 with=$5 w=$6 out ppid pid peak=0 kb st=0
	out=$WORK/build.out
	rm -f "$out"
	"$psqlfn" -At -o "$out" <<-EOF &
		SELECT pg_backend_pid();
		SET client_min_messages = warning;
		DROP INDEX IF EXISTS $idx;
		ALTER TABLE $t SET (parallel_workers = $w);
		SET maintenance_work_mem = '$VS_MAINTENANCE_WORK_MEM';
		SET max_parallel_maintenance_workers = $w;
		CREATE TEMP TABLE _t0 AS SELECT clock_timestamp() AS t,
			split_part(pg_read_file('/proc/self/schedstat'), ' ', 1)::bigint AS cpu;
		CREATE INDEX $idx ON $t USING hnsw (embedding $opc) WITH ($with);
		SELECT round(extract(epoch FROM clock_timestamp() - t) * 1000),
			(split_part(pg_read_file('/proc/self/schedstat'), ' ', 1)::bigint - cpu) / 1000000 FROM _t0;
	EOF
	ppid=$!
	while [ ! -s "$out" ] && kill -0 "$ppid" 2>/dev/null; do sleep 0.05; done
	pid=$(head -n 1 "$out" 2>/dev/null || true)
	while kill -0 "$ppid" 2>/dev/null; do
		kb=$(awk '/^RssAnon:/ {print $2}' "/proc/$pid/status" 2>/dev/null || true)
		[ -n "$kb" ] && [ "$kb" -gt "$peak" ] && peak=$kb
		sleep 0.1
	done
	wait "$ppid" || st=$?
	[ "$st" = 0 ] || { say "CREATE INDEX $idx failed"; return 1; }
	echo "$(tail -n 1 "$out" | tr '|' ' ') $peak"
}

# sql_scans PSQLFN T SYS GUCS: backend CPU per query for every ef_search (PL/pgSQL loop,
# BENCH_PASSES passes after one pass that stores the returned ids in f2_ids for the
# recall), and the loop's own cost; GUCS "name=value ..." set for the scans.  Prints
# "base loop_us pk_us" and "ef us" lines.
sql_scans() {
	local psqlfn=$1 t=$2 sys=$3 gucs=$4 g setg="" ef
	for g in $gucs; do
		setg+="PERFORM set_config('${g%%=*}', '${g#*=}', true); "
	done
	{
		cat <<-EOF
			SET client_min_messages = warning;
			CREATE TABLE IF NOT EXISTS f2_ids (sys text, ef int, qid int, id int);
			DELETE FROM f2_ids WHERE sys = '$sys';
			CREATE FUNCTION pg_temp.f2_loop(ef int, passes int, mode text, min_ms int) RETURNS float8
			LANGUAGE plpgsql AS \$\$
			DECLARE t0 bigint; t bigint; p int := 0; r record; ids int[]; n bigint := 0;
			BEGIN
				PERFORM set_config('hnsw.ef_search', greatest(ef, 1)::text, true);
				PERFORM set_config('enable_seqscan', 'off', true);
				$setg
				t0 := split_part(pg_read_file('/proc/self/schedstat'), ' ', 1)::bigint;
				LOOP
					FOR r IN SELECT id, embedding FROM ${t}_q ORDER BY id LOOP
						IF mode = 'scan' THEN
							SELECT array_agg(id) INTO ids FROM (SELECT id FROM ${t}_base ORDER BY embedding $OP r.embedding LIMIT 10) s;
						ELSIF mode = 'pk' THEN
							SELECT array_agg(id) INTO ids FROM (SELECT id FROM ${t}_base WHERE id = r.id) s;
						ELSIF mode = 'ids' THEN
							INSERT INTO f2_ids SELECT '$sys', ef, r.id, s.id
							FROM (SELECT id FROM ${t}_base ORDER BY embedding $OP r.embedding LIMIT 10) s;
						END IF;
						n := n + 1;
					END LOOP;
					p := p + 1;
					t := split_part(pg_read_file('/proc/self/schedstat'), ' ', 1)::bigint;
					EXIT WHEN p >= passes AND t - t0 >= min_ms * 1000000::bigint;
				END LOOP;
				RETURN (t - t0) / 1000.0 / n;
			END \$\$;
			SELECT 'base', round(pg_temp.f2_loop(0, $PASSES, 'loop', $MIN_MS)::numeric, 2),
				round(pg_temp.f2_loop(0, $PASSES, 'pk', $MIN_MS)::numeric, 2);
		EOF
		for ef in $EFS; do
			echo "SELECT pg_temp.f2_loop($ef, 1, 'ids', 0) IS NULL;"
			echo "SELECT $ef, round(pg_temp.f2_loop($ef, $PASSES, 'scan', $MIN_MS)::numeric, 2);"
		done
	} | "$psqlfn" -At -F ' ' | grep -v '^f$'
}

# recall T SYS: "ef recall" from the ids in vecsearch's f2_ids, tie-aware: a returned row
# counts when its exact distance is within the 10th true distance (+1e-6 relative)
recall() {
	vs_psql -At -F ' ' <<-EOF
		SELECT i.ef, round(sum((b.embedding $OP q.embedding <= g.kth + 1e-6 * abs(g.kth))::int)::numeric
		                   / (10 * (SELECT count(*) FROM $1_gt)), 4)
		FROM f2_ids i JOIN $1_base b ON b.id = i.id JOIN $1_q q ON q.id = i.qid JOIN $1_gt g ON g.qid = i.qid
		WHERE i.sys = '$2' GROUP BY i.ef ORDER BY i.ef;
	EOF
}

# qps HOST T EF GUCS: pgbench, one client, prepared, BENCH_SECONDS; EF 0 runs SELECT 1
qps() {
	local host=$1 t=$2 ef=$3 gucs=$4 script opts="" g
	script=$WORK/pgbench.sql
	if [ "$ef" = 0 ]; then
		echo "SELECT 1;" >"$script"
	else
		echo "\\set q random(0, $((NQ - 1)))" >"$script"
		echo "SELECT id FROM ${t}_base ORDER BY embedding $OP (SELECT embedding FROM ${t}_q WHERE id = :q) LIMIT 10;" >>"$script"
	fi
	[ "$ef" = 0 ] || opts="-c hnsw.ef_search=$ef -c enable_seqscan=off"
	for g in $gucs; do opts+=" -c $g"; done
	PGOPTIONS=$opts \
		"$PGBENCH" -h "$host" -n -M prepared -c 1 -T "$SECS" -f "$script" "$VS_DB" 2>/dev/null |
		awk '/^tps/ {print int($3)}'
}

# sql_system PSQLFN HOST T SYS IDX_WITH GUCS: everything measured for vecsearch or pgvector
sql_system() {
	local psqlfn=$1 host=$2 t=$3 sys=$4 with=$5 gucs=$6 b1 b2 size ef us r
	say "   $sys: serial build"
	b1=$(build_index "$psqlfn" "${t}_base" f2_idx "$OPC" "$with" 0) || return 0
	say "   $sys: build with $WORKERS workers"
	b2=$(build_index "$psqlfn" "${t}_base" f2_idx "$OPC" "$with" "$WORKERS") || return 0
	size=$("$psqlfn" -At -c "SELECT pg_relation_size('f2_idx')")
	read -r -a b1 <<<"$b1"
	read -r -a b2 <<<"$b2"
	printf 'build\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$LABEL" "$sys" "${b1[0]}" "${b1[1]}" "${b2[0]}" "${b1[2]}" \
		"$size" "$RAW" >>"$RES"
	say "   $sys: scans"
	sql_scans "$psqlfn" "$t" "$sys" "$gucs" >"$WORK/scans.out"
	if [ "$psqlfn" != vs_psql ]; then
		pgv_psql -c "\\copy (SELECT * FROM f2_ids WHERE sys = '$sys') TO STDOUT" |
			vs_psql -c "DELETE FROM f2_ids WHERE sys = '$sys'" -c "\\copy f2_ids FROM STDIN"
	fi
	recall "$t" "$sys" >"$WORK/recall.out"
	awk -v l="$LABEL" -v s="$sys" '$1 == "base" {printf "base\t%s\t%s\t%s\t%s\n", l, s, $2, $3}' "$WORK/scans.out" >>"$RES"
	printf 'floor\t%s\t%s\t%s\n' "$LABEL" "$sys" "$(qps "$host" "$t" 0 "")" >>"$RES"
	while read -r ef us; do
		[ "$ef" = base ] && continue
		r=$(awk -v e="$ef" '$1 == e {print $2}' "$WORK/recall.out")
		printf 'scan\t%s\t%s\t%s\t%s\t%s\t%s\n' "$LABEL" "$sys" "$ef" "${r:-0}" \
			"$(awk -v u="$us" -v b="$(awk '$1 == "base" {print $2}' "$WORK/scans.out")" 'BEGIN {printf "%.1f", u - b}')" \
			"$(qps "$host" "$t" "$ef" "$gucs")" >>"$RES"
	done <"$WORK/scans.out"
	"$psqlfn" -q -c "DROP INDEX f2_idx"
}

# vecsearch_variants T: sql_system for every variant the installed build accepts
vecsearch_variants() {
	local t=$1 v name opts gucs with err g probe
	for v in $VS_VARIANTS; do
		IFS=: read -r name opts gucs <<<"$v"
		with=$VS_HNSW_WITH
		[ -n "$opts" ] && with="$with, ${opts//,/, }"
		gucs=$(echo $VS_GUCS ${gucs//,/ })
		probe=(-c "CREATE TEMP TABLE _probe (embedding vector(3))"
			-c "CREATE INDEX ON _probe USING hnsw (embedding $OPC) WITH ($with)")
		for g in $gucs; do probe+=(-c "SET ${g%%=*} = '${g#*=}'"); done
		if ! err=$(vs_psql "${probe[@]}" 2>&1); then
			say "vecsearch:$name: skipped (the installed build rejects WITH ($with)${gucs:+ or the settings $gucs}: $(echo "$err" | grep -m 1 ERROR))"
			continue
		fi
		sql_system vs_psql "$PGHOST" "$t" "vecsearch:$name" "$with" "$gucs"
	done
}

# hnswlib_run T: export the rows, run the driver, load its ids for the recall
hnswlib_run() {
	local t=$1 out ef us
	[ -n "$HAVE_HNSWLIB" ] || return 0
	say "   hnswlib: build and scans"
	copy_out "${t}_base" >"$WORK/base.txt"
	copy_out "${t}_q" >"$WORK/q.txt"
	out=$("$WORK/format2_hnswlib" "$METRIC" "$DIM" "$M" "$EFC" "$WORK/base.txt" "$WORK/q.txt" "$PASSES" \
		"$WORK/hnswlib.ids" $EFS)
	rm -f "$WORK/base.txt" "$WORK/q.txt"
	awk -v l="$LABEL" -v r="$RAW" '$1 == "build" {printf "build\t%s\thnswlib\t%s\t%s\t-\t%s\t%s\t%s\n", l, $2, $3, $4, $5, r}' \
		<<<"$out" >>"$RES"
	awk '{print "hnswlib\t" $0}' "$WORK/hnswlib.ids" |
		vs_psql -c "SET client_min_messages = warning" -c "CREATE TABLE IF NOT EXISTS f2_ids (sys text, ef int, qid int, id int)" \
			-c "DELETE FROM f2_ids WHERE sys = 'hnswlib'" -c "\\copy f2_ids FROM STDIN"
	recall "$t" hnswlib >"$WORK/recall.out"
	awk '$1 == "search" {print $2, $3}' <<<"$out" | while read -r ef us; do
		printf 'scan\t%s\thnswlib\t%s\t%s\t%s\t-\n' "$LABEL" "$ef" \
			"$(awk -v e="$ef" '$1 == e {print $2}' "$WORK/recall.out")" "$us" >>"$RES"
	done
}

# pgvector_run T: copy the rows into pgvector's cluster and measure it as vecsearch
pgvector_run() {
	local t=$1
	[ -n "$HAVE_PGV" ] || return 0
	say "   pgvector: loading"
	make_tables pgv_psql "$t" "$DIM"
	copy_out "${t}_base" | pgv_psql -c "\\copy ${t}_base FROM STDIN"
	copy_out "${t}_q" | pgv_psql -c "\\copy ${t}_q FROM STDIN"
	pgv_psql -c "VACUUM ANALYZE ${t}_base" -c "VACUUM ANALYZE ${t}_q"
	sql_system pgv_psql "$PGV_TMP" "$t" pgvector "m = $M, ef_construction = $EFC" ""
	pgv_psql -q -c "DROP TABLE ${t}_base, ${t}_q"
}

# ---------------------------------------------------------------- report

# report LABEL: the tables and the summary of one set, from results.tsv
report() {
	awk -F '\t' -v l="$1" -v target="$TARGET" -v shape="$SHAPE" '
	function fmt(x) { return x == "" ? "-" : x }
	# at(s, col): column col (5 us, 6 qps) interpolated linearly in recall at the target
	function at(s, col,   i, p) {
		for (i = 1; i <= n[s]; i++)
			if (rec[s, i] + 0 >= target) {
				if (val[s, i, col] == "-") return "-"
				if (i == 1) return sprintf("%.1f (<=, ef %d)", val[s, i, col], ef[s, i])
				p = (target - rec[s, i - 1]) / (rec[s, i] - rec[s, i - 1])
				return sprintf("%.1f", val[s, i - 1, col] + p * (val[s, i, col] - val[s, i - 1, col]))
			}
		return "not reached"
	}
	function num(x) { return x + 0 }
	function ratio(a, b) { return (a ~ /^[0-9.]+/ && b ~ /^[0-9.]+/ && num(b) > 0) ? sprintf("%.2fx", num(a) / num(b)) : "-" }
	$2 != l { next }
	$1 == "set" { shape = $3; target = $4 }
	$1 == "load" { load[$3] = $4 }
	$1 == "scan" {
		s = $3
		if (!(s in n)) order[++ns] = s
		n[s]++; ef[s, n[s]] = $4; rec[s, n[s]] = $5; val[s, n[s], 5] = $6; val[s, n[s], 6] = $7
	}
	$1 == "build" { bs[$3] = $4; bc[$3] = $5; bp[$3] = $6; pk[$3] = $7; sz[$3] = $8; raw = $9 }
	$1 == "base" { lo[$3] = $4; pkl[$3] = $5 }
	$1 == "floor" { fl[$3] = $4 }
	END {
		printf "\n== %s: %s, summary at recall %s\n", l, shape, target
		if ("start" in load) printf "load average %s at the start, %s at the end\n", load["start"], load["end"]
		printf "%-20s %10s %10s %10s %9s %9s %9s %10s\n", "system", "build_1_s", "cpu_s", "build_w_s", "peak_MiB", "index_MiB", "index/raw", "floor_qps"
		for (k = 1; k <= ns; k++) {
			s = order[k]
			printf "%-20s %10.1f %10.1f %10s %9.0f %9.1f %9.2f %10s\n", s, bs[s] / 1000, bc[s] / 1000,
				bp[s] == "-" ? "-" : sprintf("%.1f", bp[s] / 1000), pk[s] / 1024, sz[s] / 1048576, sz[s] / raw, fmt(fl[s])
		}
		printf "raw vectors %.1f MiB\n", raw / 1048576
		for (k = 1; k <= ns; k++) {
			s = order[k]
			printf "\n%s", s
			if (s in lo) printf " (loop cost subtracted: %s us; the same loop around a primary-key lookup: %s us)", lo[s], pkl[s]
			printf "\n%-10s %-8s %-10s %-8s\n", "ef_search", "recall", "us/query", "QPS"
			for (i = 1; i <= n[s]; i++)
				printf "%-10s %-8s %-10s %-8s\n", ef[s, i], rec[s, i], val[s, i, 5], val[s, i, 6]
		}
		printf "\nat recall %s (interpolated between ef_search values):\n", target
		for (k = 1; k <= ns; k++) {
			s = order[k]; us[s] = at(s, 5); q[s] = at(s, 6)
			printf "  %-20s %s us/query, %s QPS\n", s, us[s], q[s]
		}
		for (k = 1; k <= ns; k++) {
			s = order[k]
			if (s !~ /^vecsearch/) continue
			printf "  %s: cost vecsearch/hnswlib %s, pgvector/vecsearch %s; serial build vecsearch/hnswlib %s wall (%s CPU), pgvector/vecsearch %s wall (%s CPU); %s workers speed-up %s; index/raw %s\n",
				s, ratio(us[s], us["hnswlib"]), ratio(us["pgvector"], us[s]),
				ratio(bs[s], bs["hnswlib"]), ratio(bc[s], bc["hnswlib"]), ratio(bs["pgvector"], bs[s]),
				ratio(bc["pgvector"], bc[s]), w, ratio(bs[s], bp[s]), ratio(sz[s], raw)
		}
	}' w="$WORKERS" "$RES"
}

# report_scaling: emb768 at every size run, per system
report_scaling() {
	local labels
	labels=$(awk -F '\t' '$1 == "build" && $2 ~ /^emb768/ {print $2}' "$RES" | sort -u)
	[ -n "$labels" ] || return 0
	echo
	echo "== emb768: how cost grows (cost per query at recall 0.99)"
	printf '%-16s %-20s %9s %9s %9s %10s %12s\n' size system build_1_s build_w_s peak_MiB index_MiB us@target
	for l in $(sort -u -t / -k 2n <<<"$labels"); do
		report "$l" | awk -v l="$l" '
			/^system/ { tab = 1; next }
			tab && /^raw/ { tab = 0 }
			tab { b1[$1] = $2; bw[$1] = $4; pk[$1] = $5; sz[$1] = $6; order[++n] = $1 }
			/^at recall/ { at = 1; next }
			at && /us\/query/ { c[$1] = $2 }
			END { for (i = 1; i <= n; i++) printf "%-16s %-20s %9s %9s %9s %10s %12s\n", l, order[i], b1[order[i]], bw[order[i]], pk[order[i]], sz[order[i]], c[order[i]] }'
	done
}

# ---------------------------------------------------------------- main

run_set() {
	local set=$1 n=$2 t=$3
	LABEL=$4
	set_shape "$set"
	SHAPE="$n x $DIM, $METRIC, $NQ queries"
	RAW=$((n * DIM * 4))
	printf 'set\t%s\t%s\t%s\n' "$LABEL" "$SHAPE" "$TARGET" >>"$RES"
	printf 'load\t%s\tstart\t%s\n' "$LABEL" "$(cut -d ' ' -f 1 /proc/loadavg)" >>"$RES"
	say "== $LABEL ($SHAPE): loading"
	load_set "$set" "$t" "$n"
	say "   ground truth (vecsearch_knn)"
	ground_truth "$t"
	vecsearch_variants "$t"
	hnswlib_run "$t"
	pgvector_run "$t"
	printf 'load\t%s\tend\t%s\n' "$LABEL" "$(cut -d ' ' -f 1 /proc/loadavg)" >>"$RES"
	report "$LABEL" | tee -a "$WORK/report.txt"
	vs_psql -q -c "DROP TABLE ${t}_base, ${t}_q, ${t}_gt"
}

# BENCH_REPORT=DIR: print the report of the results.tsv in DIR again, measure nothing
if [ -n "${BENCH_REPORT:-}" ]; then
	RES=$BENCH_REPORT/results.tsv
	for l in $(awk -F '\t' '$1 == "build" && !seen[$2]++ {print $2}' "$RES"); do
		TARGET=0.99
		case $l in high128*) TARGET=0.5 ;; esac
		SHAPE=$l
		report "$l"
	done
	report_scaling
	exit 0
fi

: >"$RES"
vs_build_install
vs_cluster_start
vs_psql -c "CREATE EXTENSION vecsearch"
tools_build
pgv_start
say "vecsearch: WITH ($VS_HNSW_WITH), variants: $VS_VARIANTS${VS_GUCS:+, scans with $VS_GUCS}"
say "results in $WORK (results.tsv, report.txt); load average $(cut -d ' ' -f 1-3 /proc/loadavg)"
: >"$WORK/report.txt"
for set in $SETS; do
	case $set in
		fmnist | fmnist_rot) run_set "$set" "${BENCH_N:-60000}" "$set" "$set" ;;
		low128 | high128) run_set "$set" "${BENCH_N:-100000}" "$set" "$set" ;;
		emb768)
			for n in $EMB_SIZES; do run_set emb768 "$n" "emb768_$n" "emb768/$n"; done
			;;
		*) set_shape "$set" ;;
	esac
done
report_scaling | tee -a "$WORK/report.txt"
say "load average at the end $(cut -d ' ' -f 1-3 /proc/loadavg)"
