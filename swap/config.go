package swap

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/dswap-dev/dswap/labels"
	"github.com/dswap-dev/dswap/settings"
)

// Config is how one swap behaves, after layering.
type Config struct {
	// Drain is the stop timeout of the old container: it gets its stop
	// signal at once and is killed if it has not exited when Drain ends.
	Drain time.Duration
	// HealthTimeout bounds the wait for health; zero derives it from the
	// HEALTHCHECK (start period + retries x (interval + timeout) + margin).
	HealthTimeout time.Duration
	// HealthCmd, if set, becomes the new container's HEALTHCHECK.
	HealthCmd string
	// NoHealthcheck accepts a container without a HEALTHCHECK once it has
	// stayed up for Settle.
	NoHealthcheck bool
	Settle        time.Duration
	// FlipTimeout bounds the wait for Traefik to show the new route.
	FlipTimeout time.Duration
	// ProbeInterval is how often dswap runs the new container's
	// HEALTHCHECK test itself while it starts; zero leaves readiness to
	// Docker's own checks alone.
	ProbeInterval time.Duration
	// Monitor keeps the old container(s) after the flip for this long,
	// and moves traffic back to them if a new one dies or turns
	// unhealthy meanwhile.
	Monitor time.Duration
	// KeepConnections lets an old container run on, unrouted and without
	// a stop signal, while it holds open client connections, up to this
	// long after the flip (see linger.go).
	KeepConnections time.Duration
	// Update is how several replicas are replaced.
	Update UpdatePolicy
	// Canary, when enabled, moves part of the traffic first.
	Canary CanaryPolicy
	// Tasks are the release tasks run around the swap.
	Tasks TaskPolicy
}

// TaskPolicy is which release tasks a swap runs and how.
type TaskPolicy struct {
	// Pre run, in order, before any new container serves; Post after the
	// flip, before the old containers drain. Each is a shell command or a
	// JSON array (the exec form).
	Pre, Post []string
	// Timeout bounds each task.
	Timeout time.Duration
	// PostFailure is "report" or "rollback".
	PostFailure string
}

// UpdatePolicy is how a service with several replicas is updated, in the
// terms of Swarm's and Compose's update_config.
type UpdatePolicy struct {
	// Parallelism is how many containers are replaced per batch; 0 means
	// all at once (atomic: no mixed versions, twice the containers).
	Parallelism int
	// Delay is the pause between batches.
	Delay time.Duration
	// Order is "start-first" (new before old: capacity never drops) or
	// "stop-first" (old out first: for containers that cannot run twice).
	Order string
	// FailureAction is "rollback" (undo the batches done) or "pause"
	// (leave them, report).
	FailureAction string
	// MaxFailureRatio is the share of replicas that may fail to update
	// before FailureAction applies; those keep their old version.
	MaxFailureRatio float64
	// Replicas is the number of containers after the update; 0 keeps the
	// number running now.
	Replicas int
}

// Defaults are used where no layer sets a value; the settings table
// declares them.
var Defaults = configOf(settings.Defaults())

// Overrides are the settings set above the service's running containers:
// flags, DSWAP_* variables, a compose file, a sidecar's request. Nil means
// not set.
type Overrides = settings.Overrides

// Layer returns the configuration from, highest first: overrides, the
// dswap.* labels of the service, defaults.
func Layer(over Overrides, lbl labels.Settings) (Config, error) {
	merged := settings.Merge(over, lbl.Overrides, settings.Defaults())
	cfg := configOf(merged)
	var err error
	if cfg.Canary, err = canaryPolicyOf(merged); err != nil {
		return cfg, err
	}
	switch {
	case cfg.Drain < 0:
		return cfg, badInput("drain window %s is negative", cfg.Drain)
	case cfg.HealthTimeout < 0:
		return cfg, badInput("health timeout %s is negative", cfg.HealthTimeout)
	case cfg.Settle <= 0 && cfg.NoHealthcheck:
		return cfg, badInput("--no-healthcheck needs a settle time above zero (--settle)")
	case cfg.Update.Parallelism < 0:
		return cfg, badInput("parallelism %d is negative (0 means all at once)", cfg.Update.Parallelism)
	case cfg.Update.Delay < 0:
		return cfg, badInput("update delay %s is negative", cfg.Update.Delay)
	case cfg.Update.Order != "start-first" && cfg.Update.Order != "stop-first":
		return cfg, badInput("update order %q: want start-first or stop-first", cfg.Update.Order)
	case cfg.Update.FailureAction != "rollback" && cfg.Update.FailureAction != "pause":
		return cfg, badInput("failure action %q: want rollback or pause (continue is not offered: a swap that goes on past failures cannot be trusted in CI)", cfg.Update.FailureAction)
	case cfg.Update.MaxFailureRatio < 0 || cfg.Update.MaxFailureRatio > 1:
		return cfg, badInput("max failure ratio %g: want a value from 0 to 1", cfg.Update.MaxFailureRatio)
	case cfg.Update.Replicas < 0:
		return cfg, badInput("replicas %d is negative", cfg.Update.Replicas)
	case cfg.KeepConnections < 0:
		return cfg, badInput("keep-connections bound %s is negative", cfg.KeepConnections)
	case cfg.Monitor < 0:
		return cfg, badInput("monitor window %s is negative", cfg.Monitor)
	case cfg.ProbeInterval < 0:
		return cfg, badInput("probe interval %s is negative", cfg.ProbeInterval)
	case cfg.FlipTimeout <= 0:
		return cfg, badInput("flip timeout %s must be above zero", cfg.FlipTimeout)
	case cfg.Tasks.Timeout <= 0 && len(cfg.Tasks.Pre)+len(cfg.Tasks.Post) > 0:
		return cfg, badInput("task timeout %s must be above zero", cfg.Tasks.Timeout)
	case cfg.Tasks.PostFailure != "report" && cfg.Tasks.PostFailure != "rollback":
		return cfg, badInput("post failure %q: want report or rollback", cfg.Tasks.PostFailure)
	case cfg.NoHealthcheck && cfg.HealthCmd != "":
		return cfg, badInput("--no-healthcheck and --health-cmd contradict each other; choose one")
	}
	if _, err := HealthTest(cfg.HealthCmd); err != nil {
		return cfg, err
	}
	return cfg, nil
}

// HealthTest turns --health-cmd into a HEALTHCHECK test. A JSON array is the
// exec form, run without a shell (for images FROM scratch); anything else is
// a shell command, as `docker run --health-cmd` treats it.
func HealthTest(cmd string) ([]string, error) {
	if cmd == "" {
		return nil, nil
	}
	if strings.HasPrefix(strings.TrimSpace(cmd), "[") {
		var args []string
		if err := json.Unmarshal([]byte(cmd), &args); err != nil || len(args) == 0 {
			return nil, badInput("health command %s is neither a JSON array of strings such as [\"/app\",\"health\"] nor a shell command", cmd)
		}
		return append([]string{"CMD"}, args...), nil
	}
	return []string{"CMD-SHELL", cmd}, nil
}

// configOf is the configuration the layered settings give; what no
// layer and no default sets is zero.
func configOf(o Overrides) Config {
	return Config{
		Drain:           value(o.Drain),
		HealthTimeout:   value(o.HealthTimeout),
		HealthCmd:       value(o.HealthCmd),
		NoHealthcheck:   value(o.NoHealthcheck),
		Settle:          value(o.Settle),
		FlipTimeout:     value(o.FlipTimeout),
		ProbeInterval:   value(o.ProbeInterval),
		Monitor:         value(o.Monitor),
		KeepConnections: value(o.KeepConnections),
		Update: UpdatePolicy{
			Parallelism:     value(o.Parallelism),
			Delay:           value(o.Delay),
			Order:           value(o.Order),
			FailureAction:   value(o.FailureAction),
			MaxFailureRatio: value(o.MaxFailureRatio),
			Replicas:        value(o.Replicas),
		},
		Tasks: TaskPolicy{
			Pre:         value(o.Pre),
			Post:        value(o.Post),
			Timeout:     value(o.TaskTimeout),
			PostFailure: value(o.PostFailure),
		},
	}
}

func value[T any](p *T) T {
	var v T
	if p != nil {
		v = *p
	}
	return v
}

func (c Config) String() string {
	return fmt.Sprintf("drain=%s health-timeout=%s flip-timeout=%s", c.Drain, c.HealthTimeout, c.FlipTimeout)
}
