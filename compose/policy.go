package compose

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/compose-spec/compose-go/v2/types"

	"github.com/dswap-dev/dswap/settings"
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
	if u.FailureAction == "continue" {
		return out, fmt.Errorf("failure_action continue is not offered by dswap: an update that goes on past failed containers cannot be trusted in CI; use rollback (dswap's default) or pause, and max_failure_ratio to tolerate some failures")
	}
	// The enumerations and the ratio are read by the settings' own
	// parsers. The file's 0.3 arrives as a float32; its shortest decimal
	// form reads back as 0.3, not 0.30000001192092896.
	var ratio string
	if u.MaxFailureRatio != 0 {
		ratio = strconv.FormatFloat(float64(u.MaxFailureRatio), 'g', -1, 32)
	}
	keys := map[string]string{"order": u.Order, "failure-action": u.FailureAction, "max-failure-ratio": ratio}
	composeKeys := map[string]string{"order": "order", "failure-action": "failure_action", "max-failure-ratio": "max_failure_ratio"}
	read, err := settings.Read(settings.Source{
		Key: func(s *settings.Setting) string { return composeKeys[s.Name] },
		Lookup: func(s *settings.Setting, key string) (string, bool) {
			v := keys[s.Name]
			return v, v != ""
		},
	})
	if err != nil {
		return out, err
	}
	out.Order, out.FailureAction, out.MaxFailureRatio = read.Order, read.FailureAction, read.MaxFailureRatio
	return out, nil
}

// parseSettings reads the x-dswap keys of a service: dswap's own
// settings, for what compose has no key for, as the settings table names
// them. They sit above the service's dswap.* labels and below DSWAP_*
// variables and flags.
func parseSettings(ext map[string]string) (settings.Overrides, error) {
	keys := make([]string, 0, len(ext))
	for k := range ext {
		keys = append(keys, k)
	}
	slices.Sort(keys) // the same key is reported first on every run
	known := settings.Keys(settings.ComposeKey)
	for _, k := range keys {
		if !slices.Contains(known, k) {
			return settings.Overrides{}, fmt.Errorf("%q is not a dswap setting; x-dswap takes %s", k, strings.Join(known, ", "))
		}
	}
	return settings.Read(settings.Map(extensionKey, ext, settings.ComposeKey))
}

// Overrides are the settings the service's compose keys give:
// stop_grace_period, deploy.replicas (or scale:) and deploy.update_config.
func (s *ServiceSpec) Overrides() settings.Overrides {
	u := s.Update
	return settings.Overrides{
		Drain:           s.StopGracePeriod,
		Replicas:        s.Replicas,
		Parallelism:     u.Parallelism,
		Delay:           u.Delay,
		Order:           u.Order,
		FailureAction:   u.FailureAction,
		MaxFailureRatio: u.MaxFailureRatio,
		Monitor:         u.Monitor,
	}
}
