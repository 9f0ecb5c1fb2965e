#!/usr/bin/env bash
# test/bench/hnsw_profile.sh: the cost of one hnsw query on the low-ID synthetic set
# (vecsearch_synthetic(N + 1000, 128, 8, 7), cosine, m = 16, ef_construction = 64, the last
# 1,000 rows the queries), taken apart (doc/benchmarks.md, "Cost of one hnsw query").
# Prints:
#  1. backend CPU per query (server-side PL/pgSQL loop, /proc/self/schedstat) for every
#     ef_search in BENCH_EF, with recall@10, and the loop's own cost measured the same way
#     with the query replaced by nothing ("loop") and by a SELECT without a table ("select");
#  2. the client round trip floor: pgbench, one client, SELECT 1 and the hnsw query;
#  3. shared buffer hits of one query (EXPLAIN (ANALYZE, BUFFERS), averaged over the queries);
#  4. with perf (root): calls per query of the reader's functions and of the buffer manager
#     (uprobes, counted over one pass), and a perf profile (perf record -g) of the backend
#     during BENCH_PERF_PASSES passes at BENCH_PROFILE_EF: top symbols by self time, and the
#     loop's samples grouped by test/bench/hnsw_profile.awk.  The uprobes trap in every
#     process that runs the same postgres and vecsearch.so while they are set (about a
#     second): on a shared machine use a private copy (VS_SANDBOX).
#
#   bash test/bench/hnsw_profile.sh        scratch cluster (VS_SANDBOX honoured)
#   BENCH_REUSE=1                          use the cluster in $PGHOST (tables kept if there)
#   BENCH_N=100000 BENCH_EF="10 20 40" BENCH_PROFILE_EF=20 BENCH_PASSES=5 BENCH_PERF=1 BENCH_PERF_PASSES=20
#   BENCH_OUT=DIR                          keep perf.data and the reports there
set -euo pipefail
VS_ROOT=$(cd "$(dirname "$0")/../.." && pwd)
. "$VS_ROOT/test/bench/lib.sh"
N=${BENCH_N:-100000}
EFS=${BENCH_EF:-"10 20 40"}
PEF=${BENCH_PROFILE_EF:-20}
PASSES=${BENCH_PASSES:-5}
PPASSES=${BENCH_PERF_PASSES:-20}
PERF=${BENCH_PERF:-1}
OUT=${BENCH_OUT:-$(mktemp -d)}
mkdir -p "$OUT"
chmod 777 "$OUT"

if [ -z "${BENCH_REUSE:-}" ]; then
	vs_build_install
	vs_cluster_start
fi
PGBENCH=$(vs_pgbin)/pgbench
[ -x "$PGBENCH" ] || PGBENCH=/usr/lib/postgresql/$VS_PGVER/bin/pgbench

have=$(vs_psql -At -c "SELECT count(*) FROM pg_class WHERE relname IN ('syn', 'syn_q', 'syn_hnsw', 'bench_gt')")
if [ "$have" != 4 ]; then
	echo "== data: vecsearch_synthetic($((N + 1000)), 128, 8, 7), cosine"
	vs_psql -q <<-EOF
		SET client_min_messages = warning;
		CREATE EXTENSION IF NOT EXISTS vecsearch;
		DROP TABLE IF EXISTS syn, syn_q, bench_gt;
		CREATE TABLE syn (id int PRIMARY KEY, embedding vector(128));
		INSERT INTO syn SELECT row_number() OVER () - 1, v FROM vecsearch_synthetic($((N + 1000)), 128, 8, 7) v;
		CREATE TABLE syn_q AS SELECT id - $N AS id, embedding FROM syn WHERE id >= $N;
		ALTER TABLE syn_q ADD PRIMARY KEY (id);
		DELETE FROM syn WHERE id >= $N;
		VACUUM ANALYZE syn;
		VACUUM ANALYZE syn_q;
		CREATE TABLE bench_gt AS
		SELECT k.query - 1 AS qid, max(k.distance) AS kth
		FROM vecsearch_knn('syn', 'embedding', (SELECT array_agg(embedding ORDER BY id) FROM syn_q), 10, 'cosine') k
		GROUP BY k.query;
		CREATE INDEX syn_hnsw ON syn USING hnsw (embedding vector_cosine_ops) WITH (m = 16, ef_construction = 64);
	EOF
fi
vs_psql -At -c "SELECT 'rows ' || (SELECT count(*) FROM syn) || ', index ' || pg_size_pretty(pg_relation_size('syn_hnsw'))"

# bench_loop(ef, passes, mode): backend CPU us per query and recall@10 over every query in
# syn_q, passes times; mode 'scan' runs the hnsw query, 'select' a SELECT of the same
# shape without a table, 'loop' nothing (the loop alone)
vs_psql -q <<-'EOF'
	CREATE OR REPLACE FUNCTION bench_loop(ef int, passes int, mode text, OUT us float8, OUT recall float8)
	LANGUAGE plpgsql AS $$
	DECLARE t0 bigint; r record; hits bigint := 0; h int; nq int := 0;
	BEGIN
		PERFORM set_config('hnsw.ef_search', ef::text, true);
		PERFORM set_config('enable_seqscan', 'off', true);
		t0 := split_part(pg_read_file('/proc/self/schedstat'), ' ', 1)::bigint;
		FOR p IN 1..passes LOOP
			FOR r IN SELECT q.embedding, g.kth FROM syn_q q JOIN bench_gt g ON g.qid = q.id LOOP
				IF mode = 'scan' THEN
					SELECT count(*) FILTER (WHERE d <= r.kth + 1e-6 * abs(r.kth)) INTO h
					FROM (SELECT t.embedding <=> r.embedding AS d FROM syn t
						  ORDER BY t.embedding <=> r.embedding LIMIT 10) s;
				ELSIF mode = 'select' THEN
					SELECT count(*) FILTER (WHERE d <= r.kth + 1e-6 * abs(r.kth)) INTO h
					FROM (SELECT r.kth AS d) s;
				ELSE
					h := 0;
				END IF;
				hits := hits + h;
				nq := nq + 1;
			END LOOP;
		END LOOP;
		us := round((split_part(pg_read_file('/proc/self/schedstat'), ' ', 1)::bigint - t0) / 1000.0 / nq, 2);
		recall := round(hits / (nq * 10.0), 4);
	END $$;
EOF

echo "== backend CPU per query ($PASSES passes over the queries, no client round trip)"
printf '%-10s %-9s %-12s\n' ef_search recall cpu_us/query
for mode in loop select; do
	vs_psql -At -F ' ' -c "SELECT '$mode', '-', us FROM bench_loop(40, $PASSES, '$mode')"
done | awk '{printf "%-10s %-9s %-12s\n", $1, $2, $3}'
for ef in $EFS; do
	vs_psql -At -F ' ' -c "SELECT $ef, recall, us FROM bench_loop($ef, $PASSES, 'scan')"
done | awk '{printf "%-10s %-9s %-12s\n", $1, $2, $3}'

echo "== client round trip (pgbench, 1 client, prepared, 5 s each)"
script=$(mktemp)
echo "SELECT 1;" >"$script"
printf 'SELECT 1: %s tps\n' "$("$PGBENCH" -n -M prepared -c 1 -T 5 -f "$script" "$VS_DB" 2>/dev/null | awk '/^tps/ {print int($3)}')"
echo "\\set q random(0, 999)" >"$script"
echo "SELECT id FROM syn ORDER BY embedding <=> (SELECT embedding FROM syn_q WHERE id = :q) LIMIT 10;" >>"$script"
printf 'hnsw query, ef_search %s: %s tps\n' "$PEF" "$(PGOPTIONS="-c hnsw.ef_search=$PEF -c enable_seqscan=off" \
	"$PGBENCH" -n -M prepared -c 1 -T 5 -f "$script" "$VS_DB" 2>/dev/null | awk '/^tps/ {print int($3)}')"
rm -f "$script"

echo "== buffers of one query, ef_search $PEF (EXPLAIN (ANALYZE, BUFFERS), mean over the queries)"
vs_psql -At <<-EOF
	SET hnsw.ef_search = $PEF;
	SET enable_seqscan = off;
	DO \$\$
	DECLARE r record; j json; hit bigint := 0; nq int := 0;
	BEGIN
		FOR r IN SELECT embedding FROM syn_q LOOP
			EXECUTE format('EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) SELECT id FROM syn ORDER BY embedding <=> %L::vector LIMIT 10',
						   r.embedding::text) INTO j;
			hit := hit + (j->0->'Plan'->>'Shared Hit Blocks')::bigint;
			nq := nq + 1;
		END LOOP;
		RAISE NOTICE 'shared hit blocks per query: %', round(hit::numeric / nq, 1);
	END \$\$;
EOF

if [ "$PERF" = 0 ] || ! command -v perf >/dev/null || [ "$(id -u)" != 0 ]; then
	echo "(perf sections skipped: BENCH_PERF=0, no perf, or not root)"
	exit 0
fi

# run_traced SQL PERFARGS...: run SQL in a new session and perf PERFARGS on its backend
run_traced() {
	local sql=$1 pidf pid ppid
	shift
	pidf=$OUT/pid
	rm -f "$pidf"
	vs_psql -At -o "$pidf" -c "SELECT pg_backend_pid()" -c "SELECT pg_sleep(1)" -c "$sql" >/dev/null &
	ppid=$!
	while [ ! -s "$pidf" ]; do sleep 0.1; done
	pid=$(head -n 1 "$pidf")
	perf "$@" -p "$pid" 2>"$OUT/perf.err" &
	wait "$ppid"
	kill -INT $! 2>/dev/null || true
	wait $! || true
}

LIB=$(vs_pgbin)/../lib/vecsearch.so
PGB=$(vs_pgbin)/postgres
VSF="HnswSlotDistance HnswListOffset HnswVisitedAcquire HnswReadBytes HnswPinBlock HnswReadList HnswReadHeader HnswHeapPush HnswHeapPop HnswDescendDisk HnswSearchLayerDisk hnswgettuple hnswrescan hnswbeginscan"
PGF="ReadRecentBuffer ReadBuffer ReadBufferExtended LockBuffer ReleaseBuffer UnlockReleaseBuffer index_fetch_heap index_getnext_slot ExecutorStart"
events=()
for f in $VSF; do perf probe -q -d "probe_vecsearch:$f" 2>/dev/null || true; perf probe -q -x "$LIB" --add "$f" && events+=(-e "probe_vecsearch:$f"); done
for f in $PGF; do perf probe -q -d "probe_postgres:$f" 2>/dev/null || true; perf probe -q -x "$PGB" --add "$f" && events+=(-e "probe_postgres:$f"); done
echo "== calls per query, ef_search $PEF (uprobes, one pass over the queries; the loop's calls included)"
run_traced "SELECT us FROM bench_loop($PEF, 1, 'scan')" stat -x , "${events[@]}" -o "$OUT/stat.csv"
nq=$(vs_psql -At -c "SELECT count(*) FROM syn_q")
awk -F, -v nq="$nq" '$1 ~ /^[0-9]/ {sub(/^probe_[a-z]+:/, "", $3); printf "%-26s %10.1f\n", $3, $1 / nq}' "$OUT/stat.csv"
for f in $VSF; do perf probe -q -d "probe_vecsearch:$f" || true; done
for f in $PGF; do perf probe -q -d "probe_postgres:$f" || true; done

echo "== perf record -g of the backend, ef_search $PEF, $PPASSES passes"
run_traced "SELECT us FROM bench_loop($PEF, $PPASSES, 'scan')" record -g -o "$OUT/perf.data"
perf report -i "$OUT/perf.data" --no-children --sort symbol --stdio 2>/dev/null >"$OUT/self.txt" || true
echo "top symbols (self time, whole session):"
grep -E '^ +[0-9.]+%' "$OUT/self.txt" | awk 'NR <= 25 {print $1, $3}'
echo "samples of the loop, grouped (test/bench/hnsw_profile.awk):"
perf script -i "$OUT/perf.data" -F ip,sym,dso 2>/dev/null | awk -f "$VS_ROOT/test/bench/hnsw_profile.awk"
echo "(perf data and reports in $OUT)"
