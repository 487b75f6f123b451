# ngx_kefu — build, run and test.  `make run` and `make test` are the two
# commands; everything else is a step they call.

SHELL      := /bin/bash
TOP        := $(abspath .)
BUILD      := $(TOP)/build
DATA       ?= $(abspath $(TOP)/../shared/data)
NGX_SRC    ?= /usr/share/nginx/src

CC         ?= cc
CFLAGS_CORE = -std=gnu99 -g -O2 -Wall -Wextra -Werror -Wno-unused-parameter \
              -I$(TOP)/ngx_kefu_module
SAN         = -fsanitize=address,undefined -fno-omit-frame-pointer \
              -fno-sanitize-recover=undefined
LIBS        = -lyajl -lcrypto -lm

CORE_SRCS  := $(sort $(wildcard ngx_kefu_module/kefu_*.c))
CORE_HDRS  := $(wildcard ngx_kefu_module/kefu_*.h)
GLUE_SRCS  := $(wildcard ngx_kefu_module/ngx_http_kefu_*.c \
                         ngx_kefu_module/ngx_http_kefu_*.h)
# the Redis scripts, embedded in the module at build time (tools/lua-embed.sh)
LUA_SRCS   := $(wildcard ngx_kefu_module/lua/*.lua) tools/lua-embed.sh
UNIT_SRCS  := $(sort $(wildcard lua-free-tests/unit/test_*.c))
UNIT_BINS  := $(patsubst lua-free-tests/unit/%.c,$(BUILD)/unit/%,$(UNIT_SRCS))
TOOL_SRCS  := $(wildcard tools/*.c)
TOOL_BINS  := $(patsubst tools/%.c,$(BUILD)/tools/%,$(TOOL_SRCS))
BENCH_SRCS := $(wildcard bench/*.c)
BENCH_BINS := $(patsubst bench/%.c,$(BUILD)/bench/%,$(BENCH_SRCS))
FUZZ_SRCS  := $(sort $(wildcard lua-free-tests/fuzz/fuzz_*.c))
FUZZ_BINS  := $(patsubst lua-free-tests/fuzz/%.c,$(BUILD)/fuzz/%,$(FUZZ_SRCS))

MODULE      = $(BUILD)/nginx/ngx_http_kefu_module.so
MODULE_ASAN = $(BUILD)/nginx-asan/ngx_http_kefu_module.so

.PHONY: all deps module module-asan unit tools bench-tools fuzz-build \
        fuzz-smoke fuzz test integration run stop reload token eval clean \
        soak

all: module tools

# Debian packages the build, the demo and the tests need (installed once).
DEB_PKGS = nginx nginx-dev libhiredis-dev libyajl-dev libssl-dev \
           redis-server openssl curl wrk clang libclang-rt-14-dev \
           libio-socket-ssl-perl libjson-xs-perl valgrind nghttp2-client \
           procps chromium fonts-noto-cjk lua5.1
deps:
	@$(TOP)/tools/install-deps.sh $(DEB_PKGS)

# The dynamic module, the way Debian builds nginx modules (nginx-dev).
$(MODULE): config config.make $(CORE_SRCS) $(CORE_HDRS) $(GLUE_SRCS) \
           $(LUA_SRCS)
	@$(TOP)/tools/build-module.sh $(BUILD)/nginx ""

$(MODULE_ASAN): config config.make $(CORE_SRCS) $(CORE_HDRS) $(GLUE_SRCS) \
                $(LUA_SRCS)
	@$(TOP)/tools/build-module.sh $(BUILD)/nginx-asan "$(SAN)"

module: $(MODULE)
module-asan: $(MODULE_ASAN)

# Unit tests of the nginx-free core, under ASan/UBSan.
$(BUILD)/unit/%: lua-free-tests/unit/%.c $(CORE_SRCS) $(CORE_HDRS) \
                 lua-free-tests/unit/tap.h
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_CORE) $(SAN) -o $@ $< $(CORE_SRCS) $(LIBS)

unit: $(UNIT_BINS)
	@cd $(TOP) && prove -e '' $(UNIT_BINS)

$(BUILD)/tools/%: tools/%.c $(CORE_SRCS) $(CORE_HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_CORE) -o $@ $< $(CORE_SRCS) $(LIBS)

$(BUILD)/bench/%: bench/%.c $(CORE_SRCS) $(CORE_HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_CORE) -O3 -o $@ $< $(CORE_SRCS) $(LIBS) -lm

tools: $(TOOL_BINS)
bench-tools: $(BENCH_BINS)

# libFuzzer targets for every parser of untrusted input.
$(BUILD)/fuzz/%: lua-free-tests/fuzz/%.c lua-free-tests/fuzz/fuzz.h \
                 $(CORE_SRCS) $(CORE_HDRS)
	@mkdir -p $(dir $@)
	clang -std=gnu99 -g -O1 -I$(TOP)/ngx_kefu_module \
	    -fsanitize=fuzzer,address,undefined -o $@ $< $(CORE_SRCS) $(LIBS)

fuzz-build: $(FUZZ_BINS)

FUZZ_RUNS    ?= 20000
FUZZ_SECONDS ?= 60
fuzz-smoke: fuzz-build
	@$(TOP)/tools/fuzz.sh runs $(FUZZ_RUNS) $(FUZZ_BINS)

fuzz: fuzz-build
	@$(TOP)/tools/fuzz.sh seconds $(FUZZ_SECONDS) $(FUZZ_BINS)

# Quality evaluation on ../shared/data (read at run time, never copied).
eval: $(BUILD)/tools/kefu_eval
	$(BUILD)/tools/kefu_eval --data $(DATA) $(if $(PAIRS),--pairs $(PAIRS))

integration: module-asan tools web-npm browser-npm
	@$(TOP)/tools/integration.sh

# Command 2: everything from scratch, every test.  Integration responses
# are recorded for the OpenAPI check.
test: deps
	@rm -rf $(OPENAPI_RECORD)
	@KEFU_RECORD=$(OPENAPI_RECORD) $(MAKE) --no-print-directory unit \
	    fuzz-smoke openapi-lint integration

# The soak with faults (bench/soak.pl, lua-free-tests/lib/KefuSoak.pm):
# SOAK_SECONDS of mixed traffic while Redis is killed and restarted,
# nginx reloaded, 10,000 unanswered questions sent, requests cut short.
# `make test` runs it for 60 s (lua-free-tests/t/90-soak.t).
# The production build by default: under ASan the allocator's own memory
# grows by a few MB a minute whatever the module does, which would hide
# the module's; SOAK_ASAN=1 runs the ASan build (sanitizer reports).
SOAK_SECONDS ?= 600
SOAK_MODULE = $(if $(SOAK_ASAN),$(MODULE_ASAN),$(MODULE))
soak: $(if $(SOAK_ASAN),module-asan,module) tools
	@cd $(TOP) && KEFU_MODULE=$(SOAK_MODULE) SOAK_SECONDS=$(SOAK_SECONDS) \
	    perl bench/soak.pl

# Command 1: the demo service.
run: deps
	@$(MAKE) --no-print-directory module tools web-npm
	@$(TOP)/tools/demo.sh start

stop:
	@$(TOP)/tools/demo.sh stop

reload:
	@$(TOP)/tools/demo.sh reload

TENANT ?= demo
SCOPE  ?=
TTL    ?= 600
# USER is also the login name in the environment: only the command line's
TOKEN_USER = $(if $(filter command line,$(origin USER)),$(USER),u1)
# prints only the token (the tool is built quietly when missing)
token:
	@$(MAKE) -s --no-print-directory $(BUILD)/tools/kefu_token >/dev/null
	@$(BUILD)/tools/kefu_token --secret-file \
	    $(or $(SECRET),$(TOP)/run/demo/secrets/$(TENANT).secret) \
	    --tenant $(TENANT) --user $(TOKEN_USER) --ttl $(TTL) \
	    $(if $(SCOPE),--scope $(SCOPE))

clean:
	rm -rf $(BUILD)


# --- hardening: valgrind run, OpenAPI lint and check (issue 7) -----------

VALGRIND_TESTS ?= lua-free-tests/t/10-auth.t lua-free-tests/t/30-ask.t
.PHONY: integration-valgrind npm-tools openapi-lint openapi-check \
        web-npm browser-npm

# nginx single-process under valgrind with the module built without ASan
integration-valgrind: module tools
	@cd $(TOP) && KEFU_VALGRIND=1 KEFU_MODULE=$(MODULE) \
	    prove -I lua-free-tests/lib $(VALGRIND_TESTS)

# npm tools, pinned by tools/openapi/package-lock.json (npm ci into build/)
NPM_DIR  = $(BUILD)/npm
OPENAPI_RECORD ?= $(BUILD)/openapi-record

npm-tools:
	@$(TOP)/tools/npm-ci.sh $(TOP)/tools/openapi $(NPM_DIR)

openapi-lint: npm-tools
	@$(NPM_DIR)/node_modules/.bin/redocly lint --format=stylish \
	    --config $(TOP)/docs/redocly.yaml $(TOP)/docs/openapi.yaml

# validates the responses `make test` recorded (KEFU_RECORD) against the
# response schemas of docs/openapi.yaml
openapi-check: npm-tools
	@NODE_PATH=$(NPM_DIR)/node_modules node $(TOP)/tools/openapi-check.mjs \
	    $(TOP)/docs/openapi.yaml $(OPENAPI_RECORD)

# --- web pages and browser tests (issue 12) ---------------------------

# the chart library of the console (web/package-lock.json), served by the
# demo's nginx from here; puppeteer-core for the browser tests
# (lua-free-tests/browser/package-lock.json), driving Debian's chromium:
# no browser download.  Installed with `npm ci` when the lock changed.
web-npm:
	@$(TOP)/tools/npm-ci.sh $(TOP)/web $(BUILD)/web-npm

browser-npm:
	@$(TOP)/tools/npm-ci.sh $(TOP)/lua-free-tests/browser $(BUILD)/browser-npm

# --- Redis Cluster (issue 11) ------------------------------------------

.PHONY: cluster test-cluster bench-cluster

# the demo on a local 3-master + 3-replica Redis Cluster (127.0.0.1, ports
# KEFU_CLUSTER_PORT..+5, default 7101..7106, state in build/cluster/);
# `make stop` stops it too
cluster: deps
	@$(MAKE) --no-print-directory module tools web-npm
	@$(TOP)/tools/demo.sh cluster

# the behaviour tests that make sense on a cluster, each against its own
# real cluster (KEFU_TEST_REDIS=cluster, lua-free-tests/lib/KefuCluster.pm),
# and the cluster's own tests (8x), with the ASan build
CLUSTER_TESTS ?= $(addprefix lua-free-tests/t/, 30-ask.t 31-ask-sessions.t \
    40-suggestions.t 50-loss-reports.t 52-loss-concurrency.t \
    53-handoff-feedback.t 54-stats.t 58-backoffice.t) \
    $(sort $(wildcard lua-free-tests/t/8*.t))
test-cluster: module-asan tools
	@cd $(TOP) && KEFU_TEST_REDIS=cluster KEFU_MODULE=$(MODULE_ASAN) \
	    prove -I lua-free-tests/lib $(PROVE_ARGS) $(CLUSTER_TESTS)

# ask, suggestions and loss reports on the local cluster vs one Redis,
# in one run (bench/cluster-bench.sh)
bench-cluster: module tools
	@$(TOP)/bench/cluster-bench.sh
