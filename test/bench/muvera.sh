#!/usr/bin/env bash
# test/bench/muvera.sh: multi-vector retrieval with MUVERA FDEs, end to end.
#
#   VS_SANDBOX=/path bash test/bench/muvera.sh
#   (MUVERA_DOCS, MUVERA_QUERIES, MUVERA_FMNIST_DOCS set the sizes; MUVERA_SETS="syn fm"
#   chooses the data sets)
#
# Two data sets, both seeded:
#   synthetic   MUVERA_DOCS documents (default 10,000) of 32 unit token vectors of 128
#               dimensions, each document 4 clusters of tokens around points of a
#               16-dimensional latent space seen through a fixed random linear map (so
#               documents are graded in similarity); MUVERA_QUERIES queries (default 100)
#               of 16 tokens, noisy copies of random tokens of one document.  Generator:
#               test/bench/muvera_gen.c (splitmix64, seed 42).
#   fm          MUVERA_FMNIST_DOCS Fashion-MNIST training images (default 10,000), each
#               cut into 16 patches of 7 x 7 pixels; the tokens are the non-black
#               patches scaled to unit length (49 dimensions; about 13 per image); the
#               queries are the first MUVERA_QUERIES test images.
#   fmc         the same patches centred: minus the mean unit patch, unit length again.
#               (Pixel patches all lie in one orthant, where SimHash hyperplanes through
#               the origin separate poorly; centring is what token embeddings look like.)
# For each it measures
#   - fde_document throughput (documents/s, one backend, CPU time of the backend),
#   - exact MaxSim ground truth (top 10 by max_sim over every document) and its latency,
#   - recall@10 of "top K' by FDE inner product (exact scan), then max_sim re-rank" for
#     K' = 10, 50, 100, 200, 500 (tie-aware: a returned document counts when its
#     max_sim is at least the 10th best exact score),
#   - the per-token baseline: each query token's kt nearest document tokens (exact, by
#     vecsearch_knn) give the candidates; recall@10 after re-rank vs candidates per query,
#   - latency of the one-statement pipeline at K' = 100,
#   - the same with an hnsw index on the FDE column when the hnsw access method exists.
# Numbers are medians; the machine is shared, so compare ratios from one run.
set -euo pipefail
VS_ROOT=$(cd "$(dirname "$0")/../.." && pwd)
. "$VS_ROOT/test/bench/lib.sh"

DOCS=${MUVERA_DOCS:-10000}
QUERIES=${MUVERA_QUERIES:-100}
FMNIST_DOCS=${MUVERA_FMNIST_DOCS:-10000}
SETS=${MUVERA_SETS:-syn fm}
KPRIMES="10 50 100 200 500"

vs_build_install
vs_cluster_start
PSQL=(psql -X -q -v ON_ERROR_STOP=1 -P footer=off)
"${PSQL[@]}" -c "CREATE EXTENSION vecsearch"
echo "muvera benchmark: $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores, docs $DOCS, queries $QUERIES, fmnist docs $FMNIST_DOCS"

# cpu_of SQL: run SQL in one backend and print the backend's CPU seconds (user + system)
cpu_of() {
	local sql=$1 pid t0 t1
	coproc PQ { "${PSQL[@]}" -At 2>&1; }
	echo "SET max_parallel_workers_per_gather = 0; SELECT pg_backend_pid();" >&"${PQ[1]}"
	read -r pid <&"${PQ[0]}"
	t0=$(awk '{print $14 + $15}' /proc/"$pid"/stat)
	echo "$sql; SELECT 'done';" >&"${PQ[1]}"
	while read -r line <&"${PQ[0]}"; do [ "$line" = done ] && break; done
	t1=$(awk '{print $14 + $15}' /proc/"$pid"/stat)
	exec {PQ[1]}>&-
	wait "$PQ_PID" 2>/dev/null || true
	echo "($t1 - $t0) / $(getconf CLK_TCK)" | bc -l
}

# median of the numbers on stdin
median() { sort -g | awk '{a[NR] = $1} END {print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2}'; }

# ------------------------------------------------------------------------------------
# data
# ------------------------------------------------------------------------------------
if [[ " $SETS " == *" syn "* ]]; then
echo "== generating synthetic data (seeded, test/bench/muvera_gen.c)"
start=$(date +%s)
GEN_DIR=$(mktemp -d "${TMPDIR:-/tmp}/muvera-gen.XXXXXX")
cc -O2 -o "$GEN_DIR/muvera_gen" "$VS_ROOT/test/bench/muvera_gen.c" -lm
"${PSQL[@]}" -c "CREATE TABLE syn_docs (id int PRIMARY KEY, tokens vector[] NOT NULL)" \
	-c "CREATE TABLE syn_queries (id int PRIMARY KEY, source int NOT NULL, tokens vector[] NOT NULL)"
"$GEN_DIR/muvera_gen" docs "$DOCS" 32 128 42 | "${PSQL[@]}" -c "\\copy syn_docs FROM STDIN"
"$GEN_DIR/muvera_gen" queries "$QUERIES" 16 128 42 "$DOCS" 32 | "${PSQL[@]}" -c "\\copy syn_queries FROM STDIN"
rm -rf "$GEN_DIR"
echo "   $(( $(date +%s) - start )) s"
fi

if [[ " $SETS " == *" fm "* ]]; then
echo "== loading Fashion-MNIST and cutting 7x7 patches"
start=$(date +%s)
vs_load_fmnist "$FMNIST_DOCS" >/dev/null
"${PSQL[@]}" <<SQL
-- image -> its non-black 7x7 patches (of 16, row-major), each scaled to unit length;
-- dropping black (zero) patches does not change MaxSim on this non-negative data
CREATE FUNCTION patches(img vector) RETURNS vector[] LANGUAGE sql IMMUTABLE AS \$\$
	SELECT array_agg(l2_normalize(p.v) ORDER BY pr, pc)
	FROM (SELECT img::real[] AS e) x, generate_series(0, 3) pr, generate_series(0, 3) pc,
		LATERAL (SELECT array_agg(x.e[(pr * 7 + r) * 28 + pc * 7 + c + 1] ORDER BY r, c)::vector AS v
				 FROM generate_series(0, 6) r, generate_series(0, 6) c) p
	WHERE vector_norm(p.v) > 0
\$\$;
CREATE TABLE fm_docs (id int PRIMARY KEY, tokens vector[] NOT NULL);
INSERT INTO fm_docs SELECT id, patches(embedding) FROM fmnist_train;
CREATE TABLE fm_queries (id int PRIMARY KEY, tokens vector[] NOT NULL);
INSERT INTO fm_queries SELECT id, patches(embedding) FROM fmnist_test WHERE id < $QUERIES;
-- centred variant: minus the mean unit patch of the documents, scaled to unit length again
CREATE TABLE meanpatch AS SELECT avg(v) AS m FROM fm_docs, unnest(tokens) v;
CREATE FUNCTION centred(ts vector[]) RETURNS vector[] LANGUAGE sql STABLE AS \$\$
	SELECT array_agg(l2_normalize(v - (SELECT m FROM meanpatch)) ORDER BY o)
	FROM unnest(ts) WITH ORDINALITY AS u(v, o)
\$\$;
CREATE TABLE fmc_docs AS SELECT id, centred(tokens) AS tokens FROM fm_docs;
ALTER TABLE fmc_docs ADD PRIMARY KEY (id);
CREATE TABLE fmc_queries AS SELECT id, centred(tokens) AS tokens FROM fm_queries;
ALTER TABLE fmc_queries ADD PRIMARY KEY (id);
SQL
echo "   $(( $(date +%s) - start )) s"
fi

# ------------------------------------------------------------------------------------
# per data set
# ------------------------------------------------------------------------------------
run_set() {
	local name=$1 docs=$2 queries=$3 ntok dim
	read -r ntok dim < <("${PSQL[@]}" -At -F ' ' -c "SELECT round(avg(array_length(tokens, 1)), 1), max(vector_dims(tokens[1])) FROM $docs")
	echo
	echo "======== $name: $("${PSQL[@]}" -At -c "SELECT count(*) FROM $docs") documents of $ntok x $dim-dim tokens, $("${PSQL[@]}" -At -c "SELECT count(*) FROM $queries") queries"

	# encoding throughput: fde_document at the defaults, three runs
	local n secs runs=()
	n=$("${PSQL[@]}" -At -c "SELECT count(*) FROM $docs")
	for i in 1 2 3; do
		secs=$(cpu_of "SELECT count(fde_document(tokens)) FROM $docs")
		runs+=("$(echo "$n / $secs" | bc -l)")
	done
	printf 'fde_document throughput (defaults, 10240 dims, one backend): %.0f docs/s (runs: %s)\n' \
		"$(printf '%s\n' "${runs[@]}" | median)" "$(printf '%.0f ' "${runs[@]}")"
	runs=()
	n=$("${PSQL[@]}" -At -c "SELECT count(*) * 20 FROM $queries")
	for i in 1 2 3; do
		secs=$(cpu_of "SELECT count(fde_query(tokens)) FROM $queries, generate_series(1, 20)")
		runs+=("$(echo "$n / $secs" | bc -l)")
	done
	printf 'fde_query throughput: %.0f queries/s\n' "$(printf '%s\n' "${runs[@]}" | median)"

	# stored FDE column
	start=$(date +%s.%N)
	"${PSQL[@]}" -c "ALTER TABLE $docs ADD COLUMN fde vector(10240) GENERATED ALWAYS AS (fde_document(tokens)) STORED" \
		-c "ALTER TABLE $queries ADD COLUMN qfde vector" \
		-c "UPDATE $queries SET qfde = fde_query(tokens)" -c "VACUUM ANALYZE $docs" -c "VACUUM ANALYZE $queries"
	printf 'adding the stored generated column (table rewrite): %.1f s\n' "$(echo "$(date +%s.%N) - $start" | bc -l)"

	# exact MaxSim ground truth and brute-force latency
	"${PSQL[@]}" <<SQL
SET max_parallel_workers_per_gather = 0;
CREATE TABLE ${name}_gt (qid int PRIMARY KEY, kth float8, top10 int[], ms float8);
DO \$\$
DECLARE
	q record;
	t0 timestamptz;
	kth float8;
	top int[];
BEGIN
	FOR q IN SELECT id, tokens FROM $queries ORDER BY id LOOP
		t0 := clock_timestamp();
		SELECT min(s), array_agg(id ORDER BY s DESC) INTO kth, top
		FROM (SELECT id, max_sim(q.tokens, tokens) AS s FROM $docs ORDER BY s DESC LIMIT 10) t;
		INSERT INTO ${name}_gt VALUES (q.id, kth, top,
			extract(epoch FROM clock_timestamp() - t0) * 1000);
	END LOOP;
END \$\$;
-- top 500 by FDE inner product (exact scan), with each candidate's exact max_sim
CREATE TABLE ${name}_cand AS
SELECT q.id AS qid, c.rank, c.id AS did, max_sim(q.tokens, d.tokens) AS score
FROM $queries q,
	LATERAL (SELECT id, row_number() OVER (ORDER BY fde <#> q.qfde, id) AS rank
			 FROM (SELECT id, fde FROM $docs ORDER BY fde <#> q.qfde, id LIMIT 500) s) c
	JOIN $docs d ON d.id = c.id;
SQL
	echo "exact MaxSim scan (ground truth), per query: median $("${PSQL[@]}" -At -c "SELECT round(percentile_cont(0.5) WITHIN GROUP (ORDER BY ms)::numeric, 1) FROM ${name}_gt") ms"
	echo "recall@10 of FDE top K' (exact FDE scan) then max_sim re-rank, vs exact MaxSim:"
	"${PSQL[@]}" -c "
		SELECT k AS \"K'\", round(avg(hits) / 10, 3) AS recall_at_10,
			round(avg(src)::numeric, 3) AS top1_in_candidates
		FROM (SELECT g.qid, k,
				(SELECT count(*) FROM (SELECT score FROM ${name}_cand c WHERE c.qid = g.qid AND c.rank <= k
									   ORDER BY score DESC LIMIT 10) t WHERE t.score >= g.kth) AS hits,
				(SELECT count(*) FROM ${name}_cand c WHERE c.qid = g.qid AND c.rank <= k
					AND c.did = g.top10[1]) AS src
			  FROM ${name}_gt g, unnest('{$(echo $KPRIMES | tr ' ' ',')}'::int[]) k) r
		GROUP BY k ORDER BY k"
	echo "(top1_in_candidates: share of queries whose exact MaxSim top-1 is among the K' candidates)"

	# baseline: the per-token heuristic (each query token's kt nearest document tokens by
	# inner product, exact, through vecsearch_knn; their documents are the candidates)
	"${PSQL[@]}" <<SQL
CREATE TABLE ${name}_tokens AS SELECT d.id AS doc, u.v AS tok FROM $docs d, unnest(d.tokens) u(v);
CREATE TABLE ${name}_tokcand AS
WITH qt AS (SELECT q.id AS qid, u.v, u.o FROM $queries q, unnest(q.tokens) WITH ORDINALITY u(v, o)),
qa AS (SELECT array_agg(v ORDER BY qid, o) AS arr, array_agg(qid ORDER BY qid, o) AS qids FROM qt)
SELECT qa.qids[k.query] AS qid, tk.doc, min(k.rank) AS minrank
FROM qa, vecsearch_knn('${name}_tokens', 'tok', qa.arr, 200, 'ip') k
JOIN ${name}_tokens tk ON tk.ctid = k.row_tid
GROUP BY 1, 2;
CREATE TABLE ${name}_tokscore AS
SELECT c.qid, c.doc, c.minrank, max_sim(q.tokens, d.tokens) AS score
FROM ${name}_tokcand c JOIN $queries q ON q.id = c.qid JOIN $docs d ON d.id = c.doc;
SQL
	echo "baseline, per-token heuristic (kt nearest tokens per query token, exact) then max_sim re-rank:"
	"${PSQL[@]}" -c "
		SELECT kt AS tokens_per_query_token, round(avg(ncand), 1) AS candidates, round(avg(hits) / 10, 3) AS recall_at_10
		FROM (SELECT g.qid, kt,
				(SELECT count(*) FROM ${name}_tokscore s WHERE s.qid = g.qid AND s.minrank <= kt) AS ncand,
				(SELECT count(*) FROM (SELECT score FROM ${name}_tokscore s WHERE s.qid = g.qid AND s.minrank <= kt
									   ORDER BY score DESC LIMIT 10) t WHERE t.score >= g.kth) AS hits
			  FROM ${name}_gt g, unnest('{5,10,20,50,100,200}'::int[]) kt) r
		GROUP BY kt ORDER BY kt"

	# one-statement pipeline latency at K' = 100, exact FDE scan; then hnsw if present
	pipeline_latency "$name" "$docs" "$queries" exact
	if [ "$("${PSQL[@]}" -At -c "SELECT count(*) FROM pg_am WHERE amname = 'hnsw'")" = 1 ]; then
		start=$(date +%s.%N)
		"${PSQL[@]}" -c "CREATE INDEX ON $docs USING hnsw (fde vector_ip_ops)"
		printf 'hnsw index build on the FDE column: %.1f s\n' "$(echo "$(date +%s.%N) - $start" | bc -l)"
		"${PSQL[@]}" -At -c "SET enable_seqscan = off" -c "EXPLAIN (COSTS OFF) SELECT id FROM $docs ORDER BY fde <#> (SELECT qfde FROM $queries LIMIT 1) LIMIT 100" | grep -E 'Index Scan|Seq Scan' | sed 's/^ *->  */plan: /' 
		pipeline_latency "$name" "$docs" "$queries" hnsw
	else
		echo "(no hnsw access method in this build: index pipeline not measured)"
	fi
}

# pipeline_latency NAME DOCS QUERIES MODE: per query, the README's statement with K' = 100
# (and for hnsw, recall@10 of that statement for each K'), median and p95 latency.
pipeline_latency() {
	local name=$1 docs=$2 queries=$3 mode=$4 ks="100" setting=""
	[ "$mode" = exact ] && setting="SET enable_indexscan = off;"
	[ "$mode" = hnsw ] && ks=$KPRIMES
	for k in $ks; do
		# enable_seqscan = off: at this table size the planner prices the exact top-K' sort
		# below the index (it does not count reading each 40 KB FDE)
		[ "$mode" = hnsw ] && setting="SET hnsw.ef_search = $(( k > 40 ? k : 40 )); SET enable_seqscan = off;"
		"${PSQL[@]}" <<SQL
SET max_parallel_workers_per_gather = 0;
$setting
CREATE TEMP TABLE lat (qid int, ms float8, hits int);
DO \$\$
DECLARE
	q record;
	t0 timestamptz;
	ids int[];
	scores float8[];
BEGIN
	FOR q IN SELECT id, tokens FROM $queries ORDER BY id LOOP
		t0 := clock_timestamp();
		EXECUTE 'WITH qf AS MATERIALIZED (SELECT fde_query(\$1) AS f)
				 SELECT array_agg(id ORDER BY s DESC), array_agg(s ORDER BY s DESC)
				 FROM (SELECT id, max_sim(\$1, tokens) AS s
					   FROM (SELECT id, tokens FROM $docs ORDER BY fde <#> (SELECT f FROM qf) LIMIT $k) c
					   ORDER BY s DESC LIMIT 10) t'
			INTO ids, scores USING q.tokens;
		INSERT INTO lat VALUES (q.id, extract(epoch FROM clock_timestamp() - t0) * 1000,
			(SELECT count(*) FROM unnest(scores) s, ${name}_gt g WHERE g.qid = q.id AND s >= g.kth));
	END LOOP;
END \$\$;
SELECT '$mode' AS candidates, $k AS "K'", round(avg(hits) / 10.0, 3) AS recall_at_10,
	round(percentile_cont(0.5) WITHIN GROUP (ORDER BY ms)::numeric, 2) AS median_ms,
	round(percentile_cont(0.95) WITHIN GROUP (ORDER BY ms)::numeric, 2) AS p95_ms,
	round((SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY ms) FROM ${name}_gt)::numeric
		  / percentile_cont(0.5) WITHIN GROUP (ORDER BY ms)::numeric, 1) AS speedup_vs_exact_maxsim
FROM lat;
SQL
	done
}

[[ " $SETS " == *" syn "* ]] && run_set syn syn_docs syn_queries
[[ " $SETS " == *" fm "* ]] && run_set fm fm_docs fm_queries
[[ " $SETS " == *" fm "* ]] && run_set fmc fmc_docs fmc_queries
vs_cluster_stop
