# vecsearch: PGXS build.  See README.md for the quick start and src/README for the design.
EXTENSION = vecsearch
EXTVERSION = 0.2.0

MODULE_big = vecsearch
OBJS = $(patsubst %.c,%.o,$(sort $(wildcard src/*.c)))
# The headers are private to the module: none is installed (PGXS's HEADERS would put them
# into the server's include directory).  VS_HEADERS only drives the rebuild rule below.
VS_HEADERS = $(wildcard src/*.h)

# sql/vecsearch.sql is the one install source; the versioned script is built from it.
# The upgrade script from 0.1.0 is built from sql/upgrade/0.1.0--0.2.0.sql (what
# changes) and every section of sql/vecsearch.sql after the line "-- ==== new in
# 0.2.0" (what is new); sql/vecsearch--0.1.0.sql is the 0.1.0 install script, frozen.
VS_UPGRADE = sql/$(EXTENSION)--0.1.0--$(EXTVERSION).sql
DATA_built = sql/$(EXTENSION)--$(EXTVERSION).sql $(VS_UPGRADE)
DATA = sql/$(EXTENSION)--0.1.0.sql

# Every sql/<area>.sql that is not an install script (sql/vecsearch.sql, the built
# sql/vecsearch--V.sql, upgrade scripts sql/vecsearch--A--B.sql) is a pg_regress input.
VS_INSTALL_SQL = sql/$(EXTENSION).sql $(wildcard sql/$(EXTENSION)--*.sql)
REGRESS = $(sort $(basename $(notdir $(filter-out $(VS_INSTALL_SQL),$(wildcard sql/*.sql)))))
REGRESS_OPTS = --inputdir=. --load-extension=$(EXTENSION)

EXTRA_CLEAN = $(DATA_built) test/kernels/test_distance test/kernels/test_halfdist \
	test/bench/kernel_bench

# Portable by default: SIMD variants are compiled per function with target
# attributes and chosen at load time (src/distance.c), never -march=native.
PG_CFLAGS += -std=gnu99 -Wall -Wextra -Wno-unused-parameter -Wno-sign-compare -Wno-missing-field-initializers -fno-strict-aliasing
ifdef VECSEARCH_WERROR
PG_CFLAGS += -Werror
endif
# VECSEARCH_ASSERT=1: our Assert()s are checked even on a server built without them (CI
# runs the suite on such a build too).  Switching it needs a rebuild (test/run does that).
ifdef VECSEARCH_ASSERT
PG_CPPFLAGS += -DUSE_ASSERT_CHECKING
endif

PG_CONFIG ?= pg_config
PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

# TAP tests through make, against the installed extension, as an OS user that may run
# PostgreSQL (not root; test/run does this for root):
#   make prove_installcheck [PROVE_TESTS='test/t/101_hnsw_recall.pl ...']
PROVE_TESTS ?= $(sort $(wildcard test/t/*.pl))
PROVE_FLAGS += -I test/perl
.PHONY: prove_installcheck
prove_installcheck:
	$(prove_installcheck)

# PostgreSQL's layout (pg_bsd_indent with pgindent's options, typedefs.list): see the script.
.PHONY: indent
indent:
	scripts/indent

# Every object depends on every header (few files; a header change rebuilds all).
$(OBJS): $(VS_HEADERS)

# The install script names its extension (@VS_EXTNAME@) and the other name it refuses to
# share a database with (@VS_OTHERNAME@); see "one name per database" in it.
VS_NAMES_SED = sed -e 's/@VS_EXTNAME@/$(1)/g' -e 's/@VS_OTHERNAME@/$(2)/g'

sql/$(EXTENSION)--$(EXTVERSION).sql: sql/$(EXTENSION).sql
	$(call VS_NAMES_SED,vecsearch,vector) $< >$@

# vecsearch under the extension name "vector" as well, so that CREATE EXTENSION vector,
# ORMs and pg_restore of a pgvector dump get vecsearch (README, "Migrating from pgvector"):
#   make install VS_AS_VECTOR=1      (or: make install-vector)
# installs vector.control and vector--$(EXTVERSION).sql next to vecsearch's (the name
# vector starts at 0.2.0, so it has no upgrade scripts yet); the module is the same $$libdir/vecsearch, and
# "vector" reports vecsearch's version.  A real pgvector installation (a vector.control
# that is not ours, or a vector module) is never overwritten: the install stops first.
# make uninstall VS_AS_VECTOR=1 removes them again.
VS_EXTDIR = $(DESTDIR)$(datadir)/extension

.PHONY: install-vector vs-install-vector vs-refuse-pgvector vs-uninstall-vector
install-vector:
	$(MAKE) install VS_AS_VECTOR=1

ifdef VS_AS_VECTOR
install: vs-install-vector
uninstall: vs-uninstall-vector
endif

vs-refuse-pgvector:
	@if [ -e '$(VS_EXTDIR)/vector.control' ] && \
		! grep -q "^module_pathname = '\$$libdir/vecsearch'" '$(VS_EXTDIR)/vector.control'; then \
		echo "error: $(VS_EXTDIR)/vector.control belongs to another extension (pgvector):" \
			"refusing to overwrite it; uninstall pgvector first, or install without VS_AS_VECTOR" >&2; \
		exit 1; \
	fi
	@if [ -e '$(DESTDIR)$(pkglibdir)/vector$(DLSUFFIX)' ]; then \
		echo "error: $(DESTDIR)$(pkglibdir)/vector$(DLSUFFIX) is installed (pgvector):" \
			"refusing to install vecsearch as extension vector; uninstall pgvector first," \
			"or install without VS_AS_VECTOR" >&2; \
		exit 1; \
	fi

vs-install-vector: vs-refuse-pgvector installdirs
	sed -e "s/^comment = '/comment = '(vecsearch, installed as vector) /" \
		-e 's/^# vecsearch extension/# vecsearch under the extension name vector (make install VS_AS_VECTOR=1)/' \
		$(EXTENSION).control >'$(VS_EXTDIR)/vector.control'
	$(call VS_NAMES_SED,vector,vecsearch) sql/$(EXTENSION).sql >'$(VS_EXTDIR)/vector--$(EXTVERSION).sql'

vs-uninstall-vector: vs-refuse-pgvector
	rm -f '$(VS_EXTDIR)/vector.control' '$(VS_EXTDIR)/vector--$(EXTVERSION).sql'

$(VS_UPGRADE): sql/upgrade/0.1.0--$(EXTVERSION).sql sql/$(EXTENSION).sql
	{ cat sql/upgrade/0.1.0--$(EXTVERSION).sql; \
	  sed -n '/^-- ==== new in $(EXTVERSION)/,$$p' sql/$(EXTENSION).sql; } >$@
	grep -q '^-- ==== new in $(EXTVERSION)' $@

# Standalone kernel tests and benchmark: src/distance.c, src/halfdist.c and src/bitdist.c
# have no PostgreSQL dependency.
test/kernels/test_distance: test/kernels/test_distance.c src/distance.c src/distance.h
	$(CC) -O2 -std=gnu99 -Wall -Wextra -Isrc -o $@ test/kernels/test_distance.c src/distance.c -lm

test/kernels/test_halfdist: test/kernels/test_halfdist.c src/halfdist.c src/halfdist.h src/bitdist.c src/bitdist.h
	$(CC) -O2 -std=gnu99 -Wall -Wextra -Isrc -o $@ test/kernels/test_halfdist.c src/halfdist.c src/bitdist.c -lm

test/bench/kernel_bench: test/bench/kernel_bench.c src/distance.c src/distance.h
	$(CC) -O2 -std=gnu99 -Wall -Wextra -Isrc -o $@ test/bench/kernel_bench.c src/distance.c -lm
