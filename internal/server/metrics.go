package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"time"

	"github.com/cairn-registry/cairn/internal/metrics"
)

// listenMetrics binds CAIRN_METRICS_LISTEN, when set, and creates the
// metrics the rest of the server records into. Off, s.Metrics stays nil
// (which records nothing) and nothing listens.
func (s *Server) listenMetrics() error {
	if s.Config.MetricsListen == "" {
		return nil
	}
	ln, err := net.Listen("tcp", s.Config.MetricsListen)
	if err != nil {
		return fmt.Errorf("CAIRN_METRICS_LISTEN=%s: %w", s.Config.MetricsListen, err)
	}
	s.metricsListener = ln
	s.Metrics = metrics.New()
	s.MetricsURL = metricsURL(ln.Addr())
	return nil
}

// serveMetrics serves /metrics and Go's profiles (/debug/pprof/), in plain
// HTTP, on the metrics listener.
func (s *Server) serveMetrics() {
	if s.metricsListener == nil {
		return
	}
	log := s.Log.With("component", "metrics")
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", s.Metrics.Handler())
	// Go's profiles, for operators on the same private listener.
	mux.HandleFunc("GET /debug/pprof/", pprof.Index)
	mux.HandleFunc("GET /debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("GET /debug/pprof/trace", pprof.Trace)
	s.metricsHTTP = &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    16 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	srv, ln := s.metricsHTTP, s.metricsListener
	go func() {
		// Metrics going away is no reason to stop serving the registry.
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("metrics listener stopped", "error", err)
		}
	}()
	log.Info("serving metrics", "url", s.MetricsURL)
}

// shutdownMetrics stops the metrics listener (or closes it, if it never
// served).
func (s *Server) shutdownMetrics(ctx context.Context) error {
	if s.metricsHTTP != nil {
		return s.metricsHTTP.Shutdown(ctx)
	}
	if s.metricsListener != nil {
		return s.metricsListener.Close()
	}
	return nil
}

// metricsURL is where a scraper on this host reaches addr's /metrics.
func metricsURL(addr net.Addr) string {
	host, port, err := net.SplitHostPort(addr.String())
	if err != nil {
		return "http://" + addr.String() + "/metrics"
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsUnspecified() {
		host = "127.0.0.1" // Go's wildcard listeners are dual-stack
	}
	return "http://" + net.JoinHostPort(host, port) + "/metrics"
}
