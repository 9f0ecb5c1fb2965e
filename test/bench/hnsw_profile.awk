# test/bench/hnsw_profile.awk: group the samples of `perf script -F ip,sym,dso` (perf record -g
# of a backend running test/bench/hnsw_profile.sh's PL/pgSQL loop) by what the query is doing.
# Only samples under plpgsql_call_handler count (the loop; the rest is the session's start).
# A stack is read leaf first up to the loop's own frames (plpgsql.so, SPI_*); the first rule
# that matches wins.  Prints the share of each group.
function classify(   i, s, top, hnsw) {
	inloop = 0
	for (i = 1; i <= n; i++)
		if (st[i] == "plpgsql_call_handler")
			inloop = 1
	if (!inloop)
		return ""
	# the query's frames: those below the loop's (PL/pgSQL, SPI)
	for (top = 1; top <= n; top++)
		if (dso[top] ~ /plpgsql\.so/ || st[top] ~ /^SPI_/)
			break
	for (i = 1; i < top; i++) {
		if (st[i] == "HnswDescendDisk") return "upper-layer descent (all of it)"
		if (st[i] == "index_fetch_heap") return "executor: heap fetch of the 10 rows"
	}
	hnsw = 0
	for (i = 1; i < top; i++)
		if (st[i] == "hnswgettuple")
			hnsw = 1
	if (!hnsw) {
		for (i = 1; i < top; i++) {
			if (st[i] ~ /^(standard_)?Executor(Start|End|Finish)$|^ExecInitNode$|^ExecEndNode$|^FreeExecutorState$|^CreateExecutorState$/)
				return "executor: start and end of the query"
			if (st[i] ~ /^(index_beginscan|index_rescan|index_endscan|hnswbeginscan|hnswendscan|hnswrescan)$/)
				return "executor: start and end of the query"
			if (st[i] == "standard_ExecutorRun")
				return "executor: run (Limit, <=> of the 10 rows, aggregate)"
		}
		return "PL/pgSQL loop and SPI (plan cache, parameters)"
	}
	s = st[1]
	if (s ~ /^(avx512|avx2|scalar|sse)_|^hnsw_(negdot|l2|l1)$/)
		return "distance kernels (layer 0)"
	if (s ~ /^HnswHeap|^take_batch$/)
		return "heaps and candidate lists"
	for (i = 1; i < top; i++) {
		if (st[i] ~ /^Hnsw|^hnsw|^first_batch$|^start_scan$|^prefetch_vector$/)
			break
		if (st[i] ~ /^(ReadRecentBuffer|ReadBuffer|ReadBufferExtended|LockBuffer|ReleaseBuffer|UnlockReleaseBuffer|LWLock.*|LockBufHdr|ResourceOwner.*Buffer.*|BufTableLookup|hash_search_with_hash_value)$/)
			return "buffer manager (pin, unpin, content lock)"
	}
	if (s == "HnswSearchLayerDisk" || s ~ /^HnswVisited/)
		return "SEARCH-LAYER loop itself (visited set, prefetch hints)"
	return "our reader (addressing, checks, list copies, query set-up)"
}
function flush(   c) {
	if (n) {
		c = classify()
		if (c != "") cnt[c]++
		else out++
	}
	n = 0
}
/^$/ { flush(); next }
{
	sym = $2
	sub(/\+0x[0-9a-f]+$/, "", sym)
	st[++n] = sym
	dso[n] = $NF
}
END {
	flush()
	for (c in cnt) loop += cnt[c]
	for (c in cnt) printf "  %5.1f%%  %s\n", 100 * cnt[c] / loop, c | "sort -rn"
	close("sort -rn")
	printf "  (%d samples in the loop, %d outside it)\n", loop, out + 0
}
