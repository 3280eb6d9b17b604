# Klaxon's build and test entry points. `make test` installs what the tests
# need when it is missing, then runs every test with the race detector.

GO            ?= go
GOBIN         := $(shell $(GO) env GOPATH)/bin
# The last Alertmanager release whose `go install` works.
ALERTMANAGER  := v0.28.1
GOVULNCHECK   := v1.1.4
SUDO          := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
APT           := $(strip $(SUDO) apt-get)

.PHONY: test deps debian-packages build fuzz bench load vuln vuln-if-reachable screenshots

test: deps
	@unformatted="$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))"; \
	  if [ -n "$$unformatted" ]; then echo "gofmt would change: $$unformatted"; exit 1; fi
	$(GO) vet ./...
	@$(MAKE) --no-print-directory vuln-if-reachable
	$(GO) test -race ./...

# Known vulnerabilities that the code reaches, in itself or its
# dependencies, from the Go vulnerability database (vuln.go.dev).
vuln: $(GOBIN)/govulncheck
	$(GOBIN)/govulncheck ./...

# make test runs govulncheck when it can reach vuln.go.dev, and says so
# when it cannot; a vulnerability found fails the tests.
vuln-if-reachable: $(GOBIN)/govulncheck
	@out="$$($(GOBIN)/govulncheck ./... 2>&1)"; rc=$$?; \
	  if [ $$rc -eq 0 ]; then echo "govulncheck: no known vulnerability reached"; \
	  elif echo "$$out" | grep -q "fetching vulnerabilities"; then \
	    echo "govulncheck: skipped, the vulnerability database (vuln.go.dev) cannot be reached from here; run make vuln where it can"; \
	  else echo "$$out"; exit $$rc; fi

$(GOBIN)/govulncheck:
	$(GO) install golang.org/x/vuln/cmd/govulncheck@$(GOVULNCHECK)

deps: $(GOBIN)/alertmanager $(GOBIN)/amtool debian-packages

$(GOBIN)/alertmanager:
	$(GO) install github.com/prometheus/alertmanager/cmd/alertmanager@$(ALERTMANAGER)

$(GOBIN)/amtool:
	$(GO) install github.com/prometheus/alertmanager/cmd/amtool@$(ALERTMANAGER)

# The Debian packages the tests run: redis-server, and chromium for the
# browser tests (internal/browsertest). When either is missing, one
# apt-get update, then both are installed.
debian-packages:
	@if [ ! -x /usr/bin/redis-server ] || [ ! -x /usr/bin/chromium ]; then \
	  echo "$(APT) update && $(APT) install -y redis-server chromium"; \
	  $(APT) update && $(APT) install -y redis-server chromium; \
	fi

# The release is the nearest tag (or "dev" without one), the commit the
# work tree's; klaxon version prints both.
VERSION ?= $(shell git describe --tags --abbrev=0 2>/dev/null || echo dev)
COMMIT ?= $(shell git rev-parse --short=12 HEAD 2>/dev/null)$(shell git diff --quiet HEAD 2>/dev/null || echo -dirty)
build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags "-X main.version=$(VERSION) -X main.commit=$(COMMIT)" -o bin/klaxon ./cmd/klaxon

# Run every fuzz target of every package for FUZZTIME each.
FUZZTIME ?= 1m
# Minimizing each new interesting input is capped: a large input (a whole
# klaxon.yaml for FuzzLoad) took the default 60 s each, and the fuzzer
# stood still meanwhile.
FUZZMINIMIZE ?= 2s
fuzz:
	@for pkg in $$($(GO) list ./...); do \
	  for target in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz'); do \
	    echo "$$pkg $$target"; \
	    $(GO) test -run '^$$' -fuzz "^$$target$$" -fuzztime $(FUZZTIME) -fuzzminimizetime $(FUZZMINIMIZE) $$pkg || exit 1; \
	  done; \
	done

bench:
	$(GO) test -run '^$$' -bench . -benchmem ./...

# Storms over HTTP: Klaxon on the embedded store and on Redis, and
# Alertmanager v0.28.1 as the peer, scenario by scenario (new occurrences
# into 1,000 and 10 groups, single PagerDuty events a group's one after
# another and spread over the groups, alert-to-page latency, memory), with
# a CPU profile of each Klaxon throughput run (docs/benchmarks.md). Not a
# test: it prints figures. SCENARIOS="a b c spread d e",
# DURATION=15s, CONCURRENCY=64, RUNS="embedded redis alertmanager".
load: deps
	./scripts/load.sh

# The console's screenshots in docs/console, at 360 and 1280 px wide, and
# the Slack message's, from the browser tests' runs in headless Chromium.
screenshots: deps
	KLAXON_SCREENSHOTS=$(CURDIR)/docs/console $(GO) test -count=1 -run '^(TestConsoleInChromium|TestMessageInChromium)$$' ./web ./notify/slack
