package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/dswap-dev/dswap/swap"
)

// finishLingers runs after dswap up has reported its result (exit code,
// JSON, summary), which is final at the flip and the drain of the old
// containers that held no connections. Old containers that still hold
// connections (--keep-connections) linger:
//
//   - when a route keeper runs on the routes directory (dswap serve's or
//     dswap keep), they are handed to it, and dswap up returns at once: CI
//     does not wait for a WebSocket to close;
//   - otherwise dswap up says so and waits here, counting their
//     connections, until each has none or its bound passes, then drains and
//     removes it.
//
// Ctrl-C while waiting stops the lingering containers at once, each with
// its drain window (the app's SIGTERM handling closes its sessions, or the
// window's end does). The alternative, leaving them running, would need
// someone to come back: with no keeper nothing else enforces the bound,
// and a container nobody stops is the one thing --keep-connections must
// not leave behind. Who wants to hand over instead starts dswap keep; a
// killed dswap (SIGKILL, a closed CI runner) leaves the records, and the
// next dswap up or a keeper finishes them.
//
// Lingers of earlier runs (a dswap that was killed) are looked at once
// here too: those whose connections closed or whose bound passed are
// finished now.
func finishLingers(ctx context.Context, c *cli, env *environment, res *swap.Result, log *slog.Logger) error {
	if env == nil || env.dir == nil || env.deps.Lingers == nil {
		return nil
	}
	// A Swapper of its own: finishing lingers sets each one's drain window.
	lingers := swap.New(env.deps)
	ended := func(e swap.LingerEnd) {
		fmt.Fprintf(c.stderr, "dswap: %s stopped after lingering %s (%s; at most %d connection(s))\n",
			e.Container, e.Ended.Sub(e.Since).Round(100*time.Millisecond), e.Reason, e.Peak)
	}
	var own []string
	if res != nil {
		for _, l := range res.Lingering {
			own = append(own, l.ContainerID)
		}
	}
	holder, keeper, kerr := runningKeeper(ctx, env.dir)
	if kerr != nil {
		log.Warn("could not tell whether a route keeper runs; waiting here for the lingering containers", "error", kerr)
	}
	if keeper {
		if len(own) > 0 {
			fmt.Fprintf(c.stderr, "dswap: %s keep(s) running unrouted while they hold open connections; handed over to the route keeper (%s), which stops each when its connections close or at %s\n",
				swap.LingerNames(res.Lingering), holder.String(), res.Lingering[0].Until.Local().Format(time.TimeOnly))
		}
		return nil
	}
	// Every linger gets one look, earlier runs' too, without waiting for
	// those: this run's own are waited on below.
	if left, err := lingers.LookAtLingers(ctx, nil, false, ended); err == nil && len(left) > len(own) {
		fmt.Fprintf(c.stderr, "dswap: lingering (their connections still open): %s; no route keeper runs, so the next dswap up or a dswap keep stops those of earlier swaps\n", swap.LingerNames(left))
	}
	if len(own) == 0 {
		return nil
	}
	for _, l := range res.Lingering {
		fmt.Fprintf(c.stderr, "dswap: %s keeps running unrouted with %d open connection(s); no route keeper runs (dswap serve or dswap keep), so dswap waits here until they close, at most until %s. Ctrl-C stops it now with its drain window of %s\n",
			l.Container, l.Open, l.Until.Local().Format(time.TimeOnly), l.Drain)
	}
	err := lingers.FinishLingers(ctx, own, true, ended)
	if err == nil {
		return nil
	}
	if ctx.Err() == nil {
		return fmt.Errorf("waiting for the lingering containers: %w; they keep running, the next dswap up or a dswap keep stops them", err)
	}
	fmt.Fprintf(c.stderr, "dswap: interrupted: stopping the lingering container(s) now with their drain window\n")
	_, err = lingers.LookAtLingers(context.WithoutCancel(ctx), own, true, ended)
	return err
}

// keepLingers is the route keeper's part of --keep-connections (dswap keep
// and dswap serve): it watches every lingering container of the routes
// directory, those swaps handed over and those a killed dswap left, and
// stops each when its connections close or its bound passes. It runs until
// ctx ends; a linger it was draining then finishes draining.
func keepLingers(ctx context.Context, env *environment, log *slog.Logger) {
	if env.deps.Lingers == nil {
		return
	}
	lingers := swap.New(env.deps)
	ended := func(e swap.LingerEnd) {
		log.Info("lingering container stopped", "container", e.Container, "lingered", e.Ended.Sub(e.Since).Round(100*time.Millisecond), "why", e.Reason, "peak connections", e.Peak)
	}
	if err := lingers.FinishLingers(ctx, nil, false, ended); err != nil && ctx.Err() == nil {
		log.Error("watching lingering containers stopped", "error", err)
	}
}

// showLingers tells dswap status's reader which old containers linger,
// with their open connections (at the last look of whoever watches them)
// and since when. It writes to stderr so that --output json stays the
// services' statuses alone.
func showLingers(env *environment, w io.Writer, now time.Time) {
	if env == nil || env.deps.Lingers == nil {
		return
	}
	ls, err := env.deps.Lingers.List()
	if err != nil {
		fmt.Fprintf(w, "dswap: could not read which containers linger: %v\n", err)
		return
	}
	for _, l := range ls {
		fmt.Fprintf(w, "dswap: %s lingering, unrouted: %s\n", l.Ref, swap.DescribeLinger(l, now))
	}
}
