package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/spf13/pflag"

	"github.com/dswap-dev/dswap/labels"
	"github.com/dswap-dev/dswap/notify"
	"github.com/dswap-dev/dswap/server"
	"github.com/dswap-dev/dswap/swap"
	"github.com/dswap-dev/dswap/traefik"
)

// observeFlags are serve's flags for metrics and notifications.
func observeFlags(fs *pflag.FlagSet) {
	fs.String("metrics-listen", "", "also serve GET /metrics WITHOUT a token on this HOST:PORT, e.g. 127.0.0.1:9100 (by default /metrics is on the API's address and needs its token)")
	notifyFlags(fs)
}

// notifyFlags are the notification flags of serve and up.
func notifyFlags(fs *pflag.FlagSet) {
	fs.StringArray("notify", nil, "send a message when a swap ends to this URL: http(s):// gets signed JSON, other schemes go through shoutrrr (slack://, telegram://, smtp://, generic://…) (repeatable; DSWAP_NOTIFY takes several separated by ;)")
	fs.String("notify-secret-file", "", "file holding the secret that signs JSON notifications in the "+notify.SignatureHeader+" header (or set DSWAP_NOTIFY_SECRET)")
}

// observeConfig is what serve reads for metrics and notifications.
type observeConfig struct {
	metricsListen *server.Address
	notify        notify.Options
}

func readObserveConfig(fs *pflag.FlagSet, getenv func(string) string) (observeConfig, error) {
	var c observeConfig
	if v, _ := layeredString(fs, "metrics-listen"); v != "" {
		a, err := server.ParseAddress(v)
		if err != nil {
			return c, usagef("%s %v", source(fs, "metrics-listen"), err)
		}
		c.metricsListen = &a
	}
	n, err := readNotifyOptions(fs, getenv)
	c.notify = n
	return c, err
}

func readNotifyOptions(fs *pflag.FlagSet, getenv func(string) string) (notify.Options, error) {
	var o notify.Options
	o.URLs = listValues(fs, "notify", getenv)
	s, err := secret(fs, "notify-secret-file", "DSWAP_NOTIFY_SECRET", getenv)
	if err != nil {
		return o, err
	}
	o.Secret = s
	// Check the URLs now, so that a typo is an error at start rather than
	// every message lost later.
	if _, err := notify.New(o); err != nil {
		return o, usagef("%s: %v", source(fs, "notify"), err)
	}
	return o, nil
}

// observers builds the sidecar's metrics and notifier.
func observers(ctx context.Context, cfg observeConfig, running func() int, log *slog.Logger) (*server.Metrics, *notify.Notifier, []server.Observer, error) {
	metrics := server.NewMetrics(running)
	obs := []server.Observer{metrics}
	opts := cfg.notify
	opts.Log, opts.Delivered = log, metrics.NotificationDelivered
	n, err := notify.New(opts)
	if err != nil {
		return nil, nil, nil, usagef("%v", err)
	}
	if n != nil {
		for _, u := range opts.URLs {
			if u := notifyScheme(u); (u == "http" || u == "https") && opts.Secret == "" {
				log.Warn("JSON notifications are sent unsigned: give them a secret with --notify-secret-file (or DSWAP_NOTIFY_SECRET) so the receiver can check they come from dswap")
				break
			}
		}
		obs = append(obs, server.Notifications{Notifier: n, Context: ctx})
	}
	return metrics, n, obs, nil
}

func notifyScheme(raw string) string {
	for i, r := range raw {
		if r == ':' {
			return raw[:i]
		}
	}
	return ""
}

// serveMetrics serves /metrics without a token on its own address until
// ctx ends: for a Prometheus that scrapes over a private network.
func serveMetrics(ctx context.Context, a server.Address, m *server.Metrics, log *slog.Logger) error {
	l, err := server.Listen(a)
	if err != nil {
		return badInput(fmt.Errorf("listening for metrics on %s: %w", a, err))
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", m.Handler())
	log.Info("metrics served without a token", "address", a.String(), "path", "/metrics")
	go func() {
		srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
		go func() { <-ctx.Done(); _ = srv.Close() }()
		if err := srv.Serve(l); err != nil && err != http.ErrServerClosed {
			log.Warn("the metrics listener stopped", "address", a.String(), "error", err)
		}
	}()
	return nil
}

// notifyEnd announces a local swap's end and waits for the messages (at
// most notify.DefaultTimeout): the process exits next. A message that
// cannot be sent is logged; the swap's result stands.
func notifyEnd(ctx context.Context, opts notify.Options, res *swap.Result, err error, log *slog.Logger) {
	ev, ok := notify.SwapEvent("swap", "cli", res, err)
	if !ok || len(opts.URLs) == 0 {
		return
	}
	opts.Log = log
	n, nerr := notify.New(opts)
	if nerr != nil {
		log.Warn("notifications not sent", "error", nerr)
		return
	}
	n.Notify(ctx, ev)
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), notify.DefaultTimeout)
	defer cancel()
	if werr := n.Wait(wctx); werr != nil {
		log.Warn("exiting before every notification was sent", "error", werr)
	}
}

// canaryWeights reads the canary weight of every dswap route file in dir,
// by the service that owns the file.
func canaryWeights(dir *traefik.Dir) server.CanaryWeights {
	return func() map[string]int {
		out := map[string]int{}
		keys, err := dir.Services()
		if err != nil {
			return out
		}
		for _, key := range keys {
			content, ok, err := dir.Read(key)
			if err != nil || !ok {
				continue
			}
			weight, weighted := labels.CanaryWeight(content)
			if !weighted {
				continue
			}
			service, ok := labels.FileOwner(content)
			if !ok {
				service = key
			}
			out[service] = weight
		}
		return out
	}
}
