package compose

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/compose-spec/compose-go/v2/types"
)

// UpdateConfig is deploy.update_config in dswap's terms. A nil field is
// not set in the file, so a lower layer (dswap.* labels, defaults) decides.
//
// dswap's defaults differ from Swarm's and Compose's in two places, on
// purpose: order is start-first (capacity never drops; Swarm says
// stop-first) and failure_action is rollback (Swarm says pause). A file
// that asks for stop-first gets it, with a warning from the caller.
type UpdateConfig struct {
	// Parallelism is how many containers are replaced per batch; 0 means
	// all at once. Compose's default, like dswap's, is 1.
	Parallelism *int
	// Delay is the pause between batches.
	Delay *time.Duration
	// Order is start-first or stop-first.
	Order *string
	// FailureAction is rollback or pause; continue is refused.
	FailureAction *string
	// MaxFailureRatio is the share of replicas that may fail.
	MaxFailureRatio *float64
	// Monitor is how long the new containers are watched after each
	// batch while the old ones stand by.
	Monitor *time.Duration
}

func parseUpdateConfig(u *types.UpdateConfig) (UpdateConfig, error) {
	var out UpdateConfig
	if u == nil {
		return out, nil
	}
	if u.Parallelism != nil {
		if *u.Parallelism > 1<<20 {
			return out, fmt.Errorf("parallelism %d is not a sensible number of containers", *u.Parallelism)
		}
		n := int(*u.Parallelism)
		out.Parallelism = &n
	}
	// Compose's types cannot tell "0s" from unset; both mean no delay
	// and no monitor, which is also dswap's default.
	if u.Delay != 0 {
		d := time.Duration(u.Delay)
		out.Delay = &d
	}
	if u.Monitor != 0 {
		d := time.Duration(u.Monitor)
		out.Monitor = &d
	}
	switch u.Order {
	case "":
	case "start-first", "stop-first":
		out.Order = &u.Order
	default:
		return out, fmt.Errorf("order %q: want start-first or stop-first", u.Order)
	}
	switch u.FailureAction {
	case "":
	case "rollback", "pause":
		out.FailureAction = &u.FailureAction
	case "continue":
		return out, fmt.Errorf("failure_action continue is not offered by dswap: an update that goes on past failed containers cannot be trusted in CI; use rollback (dswap's default) or pause, and max_failure_ratio to tolerate some failures")
	default:
		return out, fmt.Errorf("failure_action %q: want rollback or pause", u.FailureAction)
	}
	if u.MaxFailureRatio != 0 {
		// The file's 0.3 arrives as a float32; reading its shortest
		// decimal form back gives 0.3, not 0.30000001192092896.
		r, _ := strconv.ParseFloat(strconv.FormatFloat(float64(u.MaxFailureRatio), 'g', -1, 32), 64)
		if r < 0 || r > 1 {
			return out, fmt.Errorf("max_failure_ratio %g: want a value from 0 to 1", r)
		}
		out.MaxFailureRatio = &r
	}
	return out, nil
}

// Settings are the x-dswap keys of a service: dswap's own settings, for
// what compose has no key for. They sit above the service's dswap.*
// labels and below DSWAP_* variables and flags.
type Settings struct {
	Drain         *time.Duration // drain (overrides stop_grace_period)
	HealthTimeout *time.Duration // health-timeout
	Settle        *time.Duration // settle
	HealthCmd     *string        // health-cmd
	NoHealthcheck *bool          // no-healthcheck
	Monitor       *time.Duration // monitor (overrides update_config.monitor)
	ProbeInterval *time.Duration // probe-interval
	FlipTimeout   *time.Duration // flip-timeout
}

// settingKeys are the x-dswap keys, as dswap's flags spell them.
var settingKeys = []string{"drain", "health-timeout", "settle", "health-cmd", "no-healthcheck", "monitor", "probe-interval", "flip-timeout"}

func parseSettings(ext map[string]string) (Settings, error) {
	var s Settings
	keys := make([]string, 0, len(ext))
	for k := range ext {
		keys = append(keys, k)
	}
	slices.Sort(keys) // the same key is reported first on every run
	for _, k := range keys {
		v := ext[k]
		var err error
		switch k {
		case "drain":
			s.Drain, err = parseDuration(k, v)
		case "health-timeout":
			s.HealthTimeout, err = parseDuration(k, v)
		case "settle":
			s.Settle, err = parseDuration(k, v)
		case "monitor":
			s.Monitor, err = parseDuration(k, v)
		case "probe-interval":
			s.ProbeInterval, err = parseDuration(k, v)
		case "flip-timeout":
			s.FlipTimeout, err = parseDuration(k, v)
		case "health-cmd":
			if strings.TrimSpace(v) == "" {
				err = fmt.Errorf("health-cmd is empty")
			}
			s.HealthCmd = &v
		case "no-healthcheck":
			b, perr := strconv.ParseBool(v)
			if perr != nil {
				err = fmt.Errorf("no-healthcheck: %q is not true or false", v)
			}
			s.NoHealthcheck = &b
		default:
			err = fmt.Errorf("%q is not a dswap setting; x-dswap takes %s", k, strings.Join(settingKeys, ", "))
		}
		if err != nil {
			return Settings{}, err
		}
	}
	return s, nil
}

// parseDuration requires a unit, as dswap's labels do: a bare 30 could
// mean seconds or nanoseconds.
func parseDuration(key, v string) (*time.Duration, error) {
	d, err := time.ParseDuration(v)
	if err != nil {
		return nil, fmt.Errorf("%s: %q is not a duration such as 30s or 1m30s", key, v)
	}
	if d < 0 {
		return nil, fmt.Errorf("%s: %q is negative", key, v)
	}
	return &d, nil
}
