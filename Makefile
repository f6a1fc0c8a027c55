# smtpcheck — build, test, demo and benchmark the plugins. `make help` lists the targets.

MODULE   := github.com/smtpcheck/smtpcheck
PLUGINS  := $(notdir $(wildcard plugins/check_*))
HELPERS  := smtpcheck-secret smtpcheck-secret-cloud smtpcheck-health
VERSION  ?= $(shell git describe --tags --exact-match 2>/dev/null || cat VERSION)
LDFLAGS  := -s -w -X $(MODULE)/internal/plugin.Version=$(VERSION)
GOBUILD  := CGO_ENABLED=0 go build -trimpath -ldflags "$(LDFLAGS)"
BIN      := bin

.PHONY: help build test demo bench lint fuzz package generate clean

## help: list the targets
# Split at the first ": " only, so that HOST:PORT stays whole; plain awk, as
# column(1) is not installed everywhere (Debian: bsdextrautils).
help:
	@awk '/^## / { sub(/^## /, ""); i = index($$0, ": "); printf "  %-9s %s\n", substr($$0, 1, i - 1), substr($$0, i + 2) }' $(MAKEFILE_LIST)

## build: static builds of every plugin, the secret helper and the lab server into bin/
build:
	@mkdir -p $(BIN)
	@for p in $(PLUGINS) $(HELPERS); do echo "build $$p"; $(GOBUILD) -o $(BIN)/$$p ./plugins/$$p || exit 1; done
	@$(GOBUILD) -o $(BIN)/smtpcheck-lab ./contrib/lab

## test: vet and run every test with the race detector (real-server tests run when .ci/mailserver.sh has started Postfix)
test:
	go vet ./...
	go test -race -count=1 -timeout 15m ./...

## demo: start the embedded lab server and run the plugins against it
demo: build
	@bash contrib/demo.sh $(BIN)

## bench: Go benchmarks, then check_smtp_conn vs monitoring-plugins' check_smtp on the same local server (BENCH_ALSO=HOST:PORT adds a real MTA; with the env of .ci/mailserver.sh, also check_smtp_auth vs check_smtp -A LOGIN on Postfix and check_smtp_delivery vs check_email_delivery on Postfix + Dovecot; then every plugin vs the floor, the least a Go SMTP check does)
bench: build
	go test -run '^$$' -bench . -benchtime 200x ./internal/...
	@go run ./contrib/bench -plugin $(BIN)/check_smtp_conn -lab $(BIN)/smtpcheck-lab $(if $(BENCH_ALSO),-also $(BENCH_ALSO))
	@$(if $(SMTPCHECK_POSTFIX_SUBMISSION),go run ./contrib/bench -mode auth -plugin $(BIN)/check_smtp_auth -conn $(BIN)/check_smtp_conn \
		-target $(SMTPCHECK_POSTFIX_SUBMISSION) -ca $(SMTPCHECK_POSTFIX_CA) -name $(SMTPCHECK_POSTFIX_HOSTNAME) \
		-user $(SMTPCHECK_POSTFIX_USER) -password-file $(SMTPCHECK_POSTFIX_PASSWORD_FILE),echo "(no Postfix env: check_smtp_auth bench skipped)")
	@$(if $(SMTPCHECK_IMAPS_ADDR),go run ./contrib/bench -mode delivery -plugin $(BIN)/check_smtp_delivery \
		-target $(SMTPCHECK_POSTFIX_SUBMISSION) -imap $(SMTPCHECK_IMAPS_ADDR) -ca $(SMTPCHECK_POSTFIX_CA) -name $(SMTPCHECK_POSTFIX_HOSTNAME) \
		-user $(SMTPCHECK_POSTFIX_USER) -password-file $(SMTPCHECK_POSTFIX_PASSWORD_FILE),echo "(no Postfix + Dovecot env: check_smtp_delivery bench skipped)")
	@$(if $(wildcard /usr/sbin/smtp-source),go run ./contrib/bench -mode load -plugin $(BIN)/check_smtp_load,echo "(no Postfix smtp-source/smtp-sink: check_smtp_load bench skipped)")
	@$(GOBUILD) -o $(BIN)/smtpcheck-floor ./contrib/bench/floor
	@go run ./contrib/bench -mode floor -bin $(BIN) -lab $(BIN)/smtpcheck-lab $(if $(SMTPCHECK_POSTFIX_SMTP),-target $(SMTPCHECK_POSTFIX_SMTP) -submission $(SMTPCHECK_POSTFIX_SUBMISSION) \
		-ca $(SMTPCHECK_POSTFIX_CA) -name $(SMTPCHECK_POSTFIX_HOSTNAME) -user $(SMTPCHECK_POSTFIX_USER) -password-file $(SMTPCHECK_POSTFIX_PASSWORD_FILE))

## lint: gofmt, go vet
lint:
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); exit 1; }
	go vet ./...

## fuzz: run each fuzz target for FUZZTIME (default 30s)
fuzz:
	go test -run='^$$' -fuzz=FuzzReadReply -fuzztime=$${FUZZTIME:-30s} ./internal/smtp/
	go test -run='^$$' -fuzz=FuzzParseEHLO -fuzztime=$${FUZZTIME:-30s} ./internal/smtp/
	go test -run='^$$' -fuzz=FuzzParse -fuzztime=$${FUZZTIME:-30s} ./internal/threshold/

## package: .deb and .rpm into dist/ (nfpm; man pages and engine configs generated from the flags)
# No build prerequisite: build.sh builds bin/ itself, with the version it stamps.
package:
	@bash packaging/build.sh

## generate: rewrite the man pages and engine configs from the plugins' flags
generate:
	go run ./packaging/gen

## clean: remove build output
clean:
	rm -rf $(BIN) dist
