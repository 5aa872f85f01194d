package main

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// defaultShutdownTimeout bounds how long a graceful shutdown waits for
// in-flight requests; it is long enough for the slowest delay the e2e tests
// use, yet finite so a stuck client cannot keep a container alive forever.
const defaultShutdownTimeout = 60 * time.Second

// sigtermMode says what the server does when it receives SIGTERM.
type sigtermMode int

const (
	// sigtermClose closes the listener at once and drains in-flight requests.
	sigtermClose sigtermMode = iota
	// sigtermLinger keeps serving normally for a while, then behaves like close.
	sigtermLinger
	// sigtermIgnore logs the signal and keeps serving; only SIGKILL stops it.
	sigtermIgnore
)

// sigtermPolicy is the parsed form of ON_SIGTERM.
type sigtermPolicy struct {
	Mode   sigtermMode
	Linger time.Duration
}

// String renders the policy in the same syntax ON_SIGTERM accepts, so the
// startup log line shows exactly what was configured.
func (p sigtermPolicy) String() string {
	switch p.Mode {
	case sigtermLinger:
		return "linger:" + p.Linger.String()
	case sigtermIgnore:
		return "ignore"
	default:
		return "close"
	}
}

// parseSigtermPolicy parses ON_SIGTERM: "close" (or empty), "ignore", or
// "linger:DUR" ("linger=DUR" is accepted too because both spellings are
// natural to type).
func parseSigtermPolicy(s string) (sigtermPolicy, error) {
	s = strings.TrimSpace(s)
	switch s {
	case "", "close":
		return sigtermPolicy{Mode: sigtermClose}, nil
	case "ignore":
		return sigtermPolicy{Mode: sigtermIgnore}, nil
	}
	for _, sep := range []string{":", "="} {
		if rest, ok := strings.CutPrefix(s, "linger"+sep); ok {
			d, err := time.ParseDuration(rest)
			if err != nil {
				return sigtermPolicy{}, fmt.Errorf("ON_SIGTERM=%q: linger duration: %w", s, err)
			}
			if d < 0 {
				return sigtermPolicy{}, fmt.Errorf("ON_SIGTERM=%q: linger duration must not be negative", s)
			}
			return sigtermPolicy{Mode: sigtermLinger, Linger: d}, nil
		}
	}
	return sigtermPolicy{}, fmt.Errorf("ON_SIGTERM=%q: want close, ignore or linger:DURATION", s)
}

// config is everything the serve command reads from its environment.
type config struct {
	Port            string
	Version         string
	Delay           time.Duration
	ReadyAfter      time.Duration
	NeverHealthy    bool
	CrashAfter      time.Duration
	FailAfter       time.Duration
	OnSigterm       sigtermPolicy
	ShutdownTimeout time.Duration
	Faults          *faults
}

// loadConfig reads the serve configuration through getenv so that tests can
// supply an environment without touching the process's own.
func loadConfig(getenv func(string) string) (config, error) {
	cfg := config{
		Port:            "8080",
		Version:         getenv("VERSION"),
		NeverHealthy:    getenv("NEVER_HEALTHY") == "1",
		ShutdownTimeout: defaultShutdownTimeout,
	}
	if p := getenv("PORT"); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 65535 {
			return config{}, fmt.Errorf("PORT=%q: want a TCP port number between 1 and 65535", p)
		}
		cfg.Port = p
	}
	durations := []struct {
		name string
		dst  *time.Duration
	}{
		{"DELAY", &cfg.Delay},
		{"READY_AFTER", &cfg.ReadyAfter},
		{"CRASH_AFTER", &cfg.CrashAfter},
		{"FAIL_AFTER", &cfg.FailAfter},
	}
	for _, d := range durations {
		v, err := parseEnvDuration(d.name, getenv(d.name))
		if err != nil {
			return config{}, err
		}
		*d.dst = v
	}
	policy, err := parseSigtermPolicy(getenv("ON_SIGTERM"))
	if err != nil {
		return config{}, err
	}
	cfg.OnSigterm = policy
	if cfg.Faults, err = loadFaults(getenv); err != nil {
		return config{}, err
	}
	return cfg, nil
}

// parseEnvDuration parses a non-negative Go duration; an empty value means 0.
func parseEnvDuration(name, value string) (time.Duration, error) {
	if value == "" {
		return 0, nil
	}
	d, err := time.ParseDuration(value)
	if err != nil {
		return 0, fmt.Errorf("%s=%q: %w", name, value, err)
	}
	if d < 0 {
		return 0, fmt.Errorf("%s=%q: must not be negative", name, value)
	}
	return d, nil
}
