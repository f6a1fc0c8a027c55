package health

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	flags "github.com/jessevdk/go-flags"

	"github.com/smtpcheck/smtpcheck/internal/plugin"
)

// Exit codes: 0 after a clean shutdown (or -h, -V), 1 when the daemon
// cannot start or serve, 2 for a command line or config file it refuses.
const (
	exitFailed = 1
	exitConfig = 2
)

// loadTimeout bounds the reading of the config file and of the files its
// profiles name (CA bundles), at start and at each reload.
const loadTimeout = 10 * time.Second

// shutdownGrace is how long SIGTERM lets requests in progress finish.
const shutdownGrace = 5 * time.Second

// Main runs the daemon until SIGTERM or SIGINT and returns its exit code.
func Main(argv []string, stdout, stderr io.Writer) int {
	var o Options
	p, err := parseFlags(&o, argv)
	var fe *flags.Error
	switch {
	case errors.As(err, &fe) && fe.Type == flags.ErrHelp:
		p.WriteHelp(stdout)
		return 0
	case err == nil && o.Version:
		fmt.Fprintf(stdout, "%s %s\n", Name, plugin.VersionString())
		return 0
	case err != nil:
		fmt.Fprintf(stderr, "%s: %v (see %s --help)\n", Name, err, Name)
		return exitConfig
	}
	log := slog.New(slog.NewTextHandler(stderr, nil))
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP)
	defer signal.Stop(sigs)
	return run(argv, log, sigs, nil)
}

// run is the daemon: load, listen, serve; SIGHUP reloads, SIGTERM or
// SIGINT ends it. ready, if not nil, gets the address served (tests).
func run(argv []string, log *slog.Logger, sigs <-chan os.Signal, ready func(addr string)) int {
	c, err := loadWithin(argv)
	if err != nil {
		log.Error("cannot start: "+err.Error(), "config", configOf(argv))
		return exitConfig
	}
	ln, err := net.Listen("tcp", c.opts.Listen)
	if err != nil {
		log.Error("cannot listen: "+err.Error()+"; give a free address with --listen", "listen", c.opts.Listen)
		return exitFailed
	}
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	e := &env{ctx: ctx, slots: make(chan struct{}, c.opts.MaxChecks), log: log}
	s := newServer(e, c)
	hs := &http.Server{
		Handler:           s,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second, // a health request has no body
		IdleTimeout:       60 * time.Second,
		MaxHeaderBytes:    8 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
		// WriteTimeout is set per request: it depends on the checks asked.
	}
	served := make(chan error, 1)
	go func() { served <- hs.Serve(ln) }()
	log.Info("serving", "listen", ln.Addr().String(), "checks", strings.Join(c.names(), ","),
		"max_age", c.opts.MaxAge.Duration.String(), "interval", c.opts.Interval.Duration.String())
	if beyondLoopback(ln.Addr()) {
		log.Warn("listening beyond loopback: whoever reaches this address reads the checks' results and makes them run (once per max-age); limit it by firewall or listen on 127.0.0.1",
			"listen", ln.Addr().String())
	}
	if ready != nil {
		ready(ln.Addr().String())
	}
	stopRefresh := s.refresh(ctx)
	for {
		select {
		case err := <-served:
			log.Error("serving failed: " + err.Error())
			return exitFailed
		case sig := <-sigs:
			if sig != syscall.SIGHUP {
				log.Info("shutting down", "signal", sig.String())
				stopRefresh()
				sctx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
				err := hs.Shutdown(sctx)
				cancel()
				stop() // probes still running end now
				if err != nil {
					log.Warn("requests still open at shutdown were cut: " + err.Error())
				}
				return 0
			}
			stopRefresh()
			s.reload(argv)
			stopRefresh = s.refresh(ctx)
		}
	}
}

// beyondLoopback is a listener that others on the network may reach: any
// address but a loopback one (0.0.0.0 and :: included).
func beyondLoopback(a net.Addr) bool {
	ta, ok := a.(*net.TCPAddr)
	return !ok || !ta.IP.IsLoopback()
}

func loadWithin(argv []string) (*config, error) {
	ctx, cancel := context.WithTimeout(context.Background(), loadTimeout)
	defer cancel()
	return load(ctx, argv)
}

// configOf is the config file argv names, for the log.
func configOf(argv []string) string {
	var o Options
	_, _ = parseFlags(&o, argv)
	return o.Config
}

// reload reads the config again; a bad one keeps the old and says why.
// Checks whose profile did not change keep their cache and their probe in
// flight, so that a reload sends no burst of sessions.
func (s *server) reload(argv []string) {
	log := s.env.log
	c, err := loadWithin(argv)
	if err != nil {
		log.Error("reload refused, keeping the previous configuration: "+err.Error(), "config", configOf(argv))
		return
	}
	old := s.cfg.Load()
	for i, ch := range c.checks {
		for _, prev := range old.checks {
			if prev.name == ch.name && prev.key == ch.key {
				c.checks[i] = prev
			}
		}
	}
	if c.opts.Listen != old.opts.Listen {
		log.Warn("--listen changed: restart the daemon to apply it; still serving on the old address", "listen", old.opts.Listen)
		c.opts.Listen = old.opts.Listen
	}
	if c.opts.MaxChecks != old.opts.MaxChecks || c.opts.MaxRequests != old.opts.MaxRequests {
		log.Warn("--max-checks and --max-requests apply after a restart")
		c.opts.MaxChecks, c.opts.MaxRequests = old.opts.MaxChecks, old.opts.MaxRequests
	}
	s.cfg.Store(c)
	log.Info("reloaded", "checks", strings.Join(c.names(), ","),
		"max_age", c.opts.MaxAge.Duration.String(), "interval", c.opts.Interval.Duration.String())
}

// refresh starts the background refresh of --interval, if set: each check
// is probed again once its result is half an interval old (a request may
// have refreshed it meanwhile). The returned func stops it.
func (s *server) refresh(ctx context.Context) (stop func()) {
	c := s.cfg.Load()
	iv := c.opts.Interval.Duration
	if iv == 0 {
		return func() {}
	}
	ctx, cancel := context.WithCancel(ctx)
	go func() {
		t := time.NewTicker(iv)
		defer t.Stop()
		for {
			for _, ch := range c.checks {
				_, _ = ch.get(ctx, s.env, iv/2, false)
			}
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
	return cancel
}
