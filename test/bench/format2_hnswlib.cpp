// format2_hnswlib.cpp: the hnswlib side of test/bench/format2.sh (our driver; hnswlib
// itself comes from a checkout outside the repository, -I$HNSWLIB_SRC).
//
//   format2_hnswlib METRIC DIM M EF_CONSTRUCTION BASE QUERIES PASSES RESULTS EF...
//
// METRIC l2 (L2Space, squared distances: same order) or cosine (InnerProductSpace on the
// vectors normalised here).  BASE and QUERIES are COPY text rows "id<TAB>[x1,...]"; the
// base rows' ids become hnswlib labels.  Builds in one thread in file order, then for
// every EF: one pass over the queries writing "ef<TAB>qid<TAB>id" for the top 10 into
// RESULTS (recall is computed by format2.sh against the same ground truth as the SQL
// systems), then PASSES timed passes.  Prints to stdout, one line each:
//   build <wall ms> <cpu ms> <peak RSS growth of the build, kB> <saved index bytes>
//   search <ef> <cpu us per query>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "hnswlib/hnswlib.h"

static double
now_ms(clockid_t clock)
{
	struct timespec ts;
	clock_gettime(clock, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static long
maxrss_kb()
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_maxrss;
}

// read COPY text rows into ids and a flat float array; exits on a malformed row
static void
read_rows(const char *path, int dim, bool normalise, std::vector<long> &ids, std::vector<float> &x)
{
	FILE *f = fopen(path, "r");
	if (!f) {
		perror(path);
		exit(1);
	}
	char *line = nullptr;
	size_t cap = 0;
	while (getline(&line, &cap, f) > 0) {
		char *p, *end;
		long id = strtol(line, &p, 10);
		if (p[0] != '\t' || p[1] != '[') {
			fprintf(stderr, "%s: bad row: %.60s\n", path, line);
			exit(1);
		}
		p += 2;
		size_t base = x.size();
		double n2 = 0;
		for (int j = 0; j < dim; j++) {
			float v = strtof(p, &end);
			if (end == p || *end != (j == dim - 1 ? ']' : ',')) {
				fprintf(stderr, "%s: row %ld is not %d floats\n", path, id, dim);
				exit(1);
			}
			x.push_back(v);
			n2 += (double) v * v;
			p = end + 1;
		}
		if (normalise && n2 > 0)
			for (int j = 0; j < dim; j++)
				x[base + j] = (float) (x[base + j] / std::sqrt(n2));
		ids.push_back(id);
	}
	free(line);
	fclose(f);
}

int
main(int argc, char **argv)
{
	if (argc < 10) {
		fprintf(stderr, "usage: %s METRIC DIM M EF_CONSTRUCTION BASE QUERIES PASSES RESULTS EF...\n", argv[0]);
		return 2;
	}
	bool cosine = strcmp(argv[1], "cosine") == 0;
	int dim = atoi(argv[2]), m = atoi(argv[3]), efc = atoi(argv[4]), passes = atoi(argv[7]);
	std::vector<long> bid, qid;
	std::vector<float> bx, qx;

	read_rows(argv[5], dim, cosine, bid, bx);
	read_rows(argv[6], dim, cosine, qid, qx);
	size_t n = bid.size(), nq = qid.size();

	hnswlib::SpaceInterface<float> *space;
	if (cosine)
		space = new hnswlib::InnerProductSpace(dim);
	else
		space = new hnswlib::L2Space(dim);

	long rss0 = maxrss_kb();
	double w0 = now_ms(CLOCK_MONOTONIC), c0 = now_ms(CLOCK_PROCESS_CPUTIME_ID);
	auto *index = new hnswlib::HierarchicalNSW<float>(space, n, m, efc, 100);
	for (size_t i = 0; i < n; i++)
		index->addPoint(bx.data() + i * dim, (hnswlib::labeltype) bid[i]);
	double wall = now_ms(CLOCK_MONOTONIC) - w0, cpu = now_ms(CLOCK_PROCESS_CPUTIME_ID) - c0;
	long rss1 = maxrss_kb();

	std::string saved = std::string(argv[8]) + ".index";
	index->saveIndex(saved);
	struct stat st;
	long bytes = stat(saved.c_str(), &st) == 0 ? (long) st.st_size : -1;
	unlink(saved.c_str());
	printf("build %.0f %.0f %ld %ld\n", wall, cpu, rss1 - rss0, bytes);
	fflush(stdout);

	FILE *res = fopen(argv[8], "w");
	if (!res) {
		perror(argv[8]);
		return 1;
	}
	volatile size_t sink = 0;
	for (int a = 9; a < argc; a++) {
		int ef = atoi(argv[a]);
		index->setEf(ef);
		for (size_t q = 0; q < nq; q++) {
			auto top = index->searchKnn(qx.data() + q * dim, 10);
			while (!top.empty()) {
				fprintf(res, "%d\t%ld\t%zu\n", ef, qid[q], (size_t) top.top().second);
				top.pop();
			}
		}
		double t0 = now_ms(CLOCK_THREAD_CPUTIME_ID);
		for (int p = 0; p < passes; p++)
			for (size_t q = 0; q < nq; q++)
				sink += index->searchKnn(qx.data() + q * dim, 10).size();
		double us = (now_ms(CLOCK_THREAD_CPUTIME_ID) - t0) * 1e3 / ((double) passes * nq);
		printf("search %d %.2f\n", ef, us);
		fflush(stdout);
	}
	fclose(res);
	delete index;
	delete space;
	return 0;
}
