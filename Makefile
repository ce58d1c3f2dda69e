# Plumb: `make` builds build/plumb; `make test` runs every test under
# AddressSanitizer and UndefinedBehaviorSanitizer. See README.md.

CC      ?= cc
# Link-time optimisation inlines the small value and kind helpers across
# files: 2.6% fewer instructions for a build at N = 10,000 (bench/).
CFLAGS  ?= -O2 -g -flto=auto
WARN    := -std=c11 -D_GNU_SOURCE -DPLUMB_VERSION=\"0.1.0\" -Wall -Wextra -Werror -Wno-unused-parameter
# Lua 5.4 runs the health scripts of custom resources (runtime/health/lua.c);
# Debian keeps its headers in a directory of their own.
LUA_INC := $(or $(shell pkg-config --cflags lua5.4 2>/dev/null),-I/usr/include/lua5.4)
INC     := -Iinclude -Icompiler -Iruntime -Ibuild/gen $(LUA_INC)
# plumb links only what the compiler needs; plumb-runtime adds HTTP (client
# and server), JSON and git (include/plumb/cli.h says why there are two programs).
LIBS_C  := -lyaml -lpcre2-8 -lhogweed -lnettle -lgpgme -lz -lm
LIBS    := $(LIBS_C) -lcrypto -lcrypt -lcurl -ljansson -lgit2 -lmicrohttpd -llua5.4
SAN     := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all

# Every module but the two main programs forms the library tests link.
COMP_SRC := $(filter-out compiler/main.c,$(wildcard compiler/*.c))
RUN_SRC  := $(filter-out runtime/main.c,$(wildcard runtime/*.c runtime/*/*.c))
LIB_SRC  := $(COMP_SRC) $(RUN_SRC)
GEN_SRC := build/gen/lexer.c build/gen/parser.c build/gen/stdlib_embed.c build/gen/schema_embed.c
# The web UI's files, which plumb-runtime serves from memory.
UI_GEN  := build/gen/ui_embed.c
GEN_HDR := build/gen/parser.h build/gen/lexer.h
# Objects compiled against one libgit2 are stale with another (its structs
# change between versions), and dpkg keeps the old times of the headers it
# installs: the version itself, as a file's name, is what they depend on.
GIT2_STAMP := build/libgit2-$(shell pkg-config --modversion libgit2 2>/dev/null)
HDRS    := $(wildcard include/plumb/*.h compiler/*.h runtime/*.h runtime/*/*.h tests/unit/*.h) $(GEN_HDR) $(GIT2_STAMP)
# Each object depends on the headers it includes, as the compiler lists
# them (-MMD, into a .d file beside it): touching a header rebuilds what
# includes it. -MP keeps a deleted header from breaking the build. The
# generated headers must exist before anything is compiled, and a change
# to this file (its flags, or these rules) rebuilds everything.
DEPS    := -MMD -MP
PRE     := Makefile $(GIT2_STAMP) | $(GEN_HDR)

COMP_OBJ      := $(patsubst %.c,build/rel/%.o,$(COMP_SRC) $(GEN_SRC))
OBJ           := $(COMP_OBJ) $(patsubst %.c,build/rel/%.o,$(RUN_SRC) $(UI_GEN))
ASAN_COMP_OBJ := $(patsubst %.c,build/asan/%.o,$(COMP_SRC) $(GEN_SRC))
ASAN_OBJ      := $(ASAN_COMP_OBJ) $(patsubst %.c,build/asan/%.o,$(RUN_SRC) $(UI_GEN))
UNIT     := $(patsubst tests/unit/%.c,build/asan/tests/%,$(wildcard tests/unit/test_*.c)) build/asan/tests/lang_runner \
            build/asan/tests/health_runner
KUBE     := $(patsubst tests/kube/test_%.c,build/asan/tests/kube_%,$(wildcard tests/kube/test_*.c))
OIDC     := build/asan/tests/oidc_flow

FUZZ_CC  ?= clang
FUZZ_OBJ := $(patsubst %.c,build/fuzz/obj/%.o,$(COMP_SRC) $(GEN_SRC))
FUZZERS  := $(patsubst tests/fuzz/%.c,build/fuzz/%,$(wildcard tests/fuzz/fuzz_*.c))
# The runtime's parsers' targets (what a cluster or a provider sends) link
# the runtime too.
FUZZ_RUN_OBJ := $(patsubst %.c,build/fuzz/obj/%.o,$(RUN_SRC) $(UI_GEN))

.PHONY: all deps example image test fuzz bench clean cluster-up cluster-down ui-screenshots
all: build/plumb build/plumb-runtime

deps:
	@sh .ci/deps

$(GIT2_STAMP):
	@mkdir -p build && rm -f build/libgit2-* && touch $@

build/gen/lexer.c build/gen/lexer.h &: compiler/lexer.l
	@mkdir -p build/gen
	flex --header-file=build/gen/lexer.h -o build/gen/lexer.c $<

build/gen/parser.c build/gen/parser.h &: compiler/parser.y
	@mkdir -p build/gen
	bison -Wall -Werror -d -o build/gen/parser.c $<

build/gen/stdlib_embed.c: $(wildcard stdlib/*.plumb) compiler/embed.sh
	@mkdir -p build/gen
	sh compiler/embed.sh stdlib_files stdlib plumb > $@

build/gen/schema_embed.c: $(wildcard schemas/*.txt) compiler/embed.sh
	@mkdir -p build/gen
	sh compiler/embed.sh schema_files schemas txt > $@

build/gen/ui_embed.c: $(wildcard ui/*) compiler/embed.sh
	@mkdir -p build/gen
	sh compiler/embed.sh ui_files ui '*' > $@

# The runtime reaches the compiler only through include/plumb, its door:
# compiler/ is not on the runtime's include path.
build/rel/runtime/%.o build/asan/runtime/%.o build/plumb-runtime build/asan/plumb-runtime: private INC := -Iinclude -Iruntime $(LUA_INC)

# Generated scanners trip warnings we do not own; compile them without -Werror.
GENFLAGS = -Wno-sign-compare -Wno-unused-function -Wno-error

build/rel/%.o: %.c $(PRE)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(WARN) $(DEPS) $(INC) $(if $(findstring build/gen,$<),$(GENFLAGS)) -c -o $@ $<

build/asan/%.o: %.c $(PRE)
	@mkdir -p $(dir $@)
	$(CC) -O1 -g $(SAN) $(WARN) $(DEPS) $(INC) $(if $(findstring build/gen,$<),$(GENFLAGS)) -c -o $@ $<

build/plumb: compiler/main.c $(COMP_OBJ) $(PRE)
	$(CC) $(CFLAGS) $(WARN) $(DEPS) -MF $@.d $(INC) -o $@ compiler/main.c $(COMP_OBJ) $(LIBS_C)

build/plumb-runtime: runtime/main.c $(OBJ) $(PRE)
	$(CC) $(CFLAGS) $(WARN) $(DEPS) -MF $@.d $(INC) -o $@ runtime/main.c $(OBJ) $(LIBS)

build/asan/plumb: compiler/main.c $(ASAN_COMP_OBJ) $(PRE)
	$(CC) -O1 -g $(SAN) $(WARN) $(DEPS) -MF $@.d $(INC) -o $@ compiler/main.c $(ASAN_COMP_OBJ) $(LIBS_C)

build/asan/plumb-runtime: runtime/main.c $(ASAN_OBJ) $(PRE)
	$(CC) -O1 -g $(SAN) $(WARN) $(DEPS) -MF $@.d $(INC) -o $@ runtime/main.c $(ASAN_OBJ) $(LIBS)

build/asan/tests/test_%: tests/unit/test_%.c $(ASAN_OBJ) $(PRE)
	@mkdir -p $(dir $@)
	$(CC) -O1 -g $(SAN) $(WARN) $(DEPS) -MF $@.d $(INC) -o $@ $< $(ASAN_OBJ) $(LIBS) -lcmocka

# The image of plumb run, without a container engine (deploy/image.sh):
# build/image/oci and build/image/plumb-VERSION.tar, an oci-archive.
image: deps all
	sh deploy/image.sh

example: deps build/plumb
	build/plumb build examples/nginx/envs/dev

test: deps all build/asan/plumb build/asan/plumb-runtime $(UNIT) $(KUBE) $(OIDC) $(FUZZERS) build/asan/tests/ui_fleet
	sh tests/run.sh

# Kept between runs: make would delete them as intermediate files, and
# every `make test` would compile them all again.
.SECONDARY: $(FUZZ_OBJ) $(FUZZ_RUN_OBJ)
build/fuzz/obj/%.o: %.c $(PRE)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) -g -O1 -fsanitize=fuzzer-no-link,address,undefined $(WARN) $(DEPS) $(INC) $(if $(findstring build/gen,$<),$(GENFLAGS)) -c -o $@ $<

build/fuzz/fuzz_jwt build/fuzz/fuzz_auth build/fuzz/fuzz_cron: build/fuzz/%: tests/fuzz/%.c $(FUZZ_OBJ) $(FUZZ_RUN_OBJ) $(PRE)
	$(FUZZ_CC) -g -O1 -fsanitize=fuzzer,address,undefined $(WARN) $(DEPS) -MF $@.d $(INC) -o $@ $< $(FUZZ_OBJ) $(FUZZ_RUN_OBJ) $(LIBS)

build/fuzz/%: tests/fuzz/%.c $(FUZZ_OBJ) $(PRE)
	$(FUZZ_CC) -g -O1 -fsanitize=fuzzer,address,undefined $(WARN) $(DEPS) -MF $@.d $(INC) -o $@ $< $(FUZZ_OBJ) $(LIBS_C)

# A longer run than the few seconds `make test` gives each target.
fuzz: $(FUZZERS)
	FUZZ_SECONDS=$${FUZZ_SECONDS:-300} sh tests/run.sh

# A control plane for a person to use by hand (tests/cluster/README.md).
cluster-up:
	tests/cluster/up.sh build/cluster
	@echo "run: set -a; . build/cluster/env; set +a"

cluster-down:
	tests/cluster/down.sh build/cluster

bench: build/plumb
	sh bench/run.sh

# What compiling in a child process costs (bench/README.md).
build/bench/isolate: bench/isolate.c $(OBJ) $(HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(WARN) $(INC) -o $@ $< $(OBJ) $(LIBS)

# plumb run's API under load (bench/README.md).
build/bench/api: bench/api.c $(OBJ) $(HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(WARN) $(INC) -o $@ $< $(OBJ) $(LIBS) -lpthread

clean:
	rm -rf build

# The runtime against a real cluster (tests/kube/test_NAME.c, built as
# kube_NAME): tests/kube/run.sh runs them.
build/asan/tests/kube_%: tests/kube/test_%.c tests/kube/cluster.c tests/kube/cluster.h $(ASAN_OBJ) $(HDRS)
	@mkdir -p $(dir $@)
	$(CC) -O1 -g $(SAN) $(WARN) $(INC) -o $@ $< tests/kube/cluster.c $(ASAN_OBJ) $(LIBS) -lcmocka -lpthread

# The pictures of docs/ui.md, taken anew from the UI as it is.
ui-screenshots: build/asan/tests/ui_fleet
	PLUMB_PLAYWRIGHT=$$(sh tests/ui/install.sh) node tests/ui/screenshots.mjs build/asan/tests/ui_fleet docs/ui

# The applications page at scale, in a browser (tests/ui/fleet.mjs).
build/asan/tests/ui_fleet: tests/ui/fleet.c $(ASAN_OBJ) $(PRE)
	@mkdir -p $(dir $@)
	$(CC) -O1 -g $(SAN) $(WARN) $(DEPS) -MF $@.d -Iinclude -o $@ $< $(ASAN_OBJ) $(LIBS)

# The login of oidc.h against a real Dex: tests/oidc/flow.sh runs it.
build/asan/tests/oidc_flow: tests/oidc/oidc_flow.c $(ASAN_OBJ) $(PRE)
	@mkdir -p $(dir $@)
	$(CC) -O1 -g $(SAN) $(WARN) $(DEPS) -MF $@.d $(INC) -o $@ $< $(ASAN_OBJ) $(LIBS)

build/asan/tests/lang_runner: tests/lang_runner.c $(ASAN_OBJ) $(PRE)
	@mkdir -p $(dir $@)
	$(CC) -O1 -g $(SAN) $(WARN) $(DEPS) -MF $@.d $(INC) -o $@ $< $(ASAN_OBJ) $(LIBS)

# Argo CD's health scripts against their own expected results (tests/run.sh
# gives it the shared argocd-health directory).
build/asan/tests/health_runner: tests/health_runner.c $(ASAN_OBJ) $(PRE)
	@mkdir -p $(dir $@)
	$(CC) -O1 -g $(SAN) $(WARN) $(DEPS) -MF $@.d $(INC) -o $@ $< $(ASAN_OBJ) $(LIBS)

-include $(wildcard build/*/*.d build/*/*/*.d build/*/*/*/*.d build/*/*/*/*/*.d)
