package main

import (
	"log/slog"
	"time"

	"github.com/spf13/pflag"
)

// keeperOptions are the settings of a route keeper, the same for the
// sidecar (dswap serve) and the keeper alone (dswap keep).
type keeperOptions struct {
	debounce time.Duration
	resync   time.Duration
	startup  time.Duration
	level    slog.Level
}

// keeperFlags registers the keeper's flags; startupHelp differs because
// only a host service also waits for the Engine at boot.
func keeperFlags(fs *pflag.FlagSet, startupHelp string) {
	fs.Duration("debounce", 500*time.Millisecond, "how long a service's container events must pause before its route is looked at")
	fs.Duration("resync", 5*time.Minute, "look at every service's route this often even without events; 0 turns it off")
	fs.Duration("startup-timeout", time.Minute, startupHelp)
	fs.String("log-level", "info", "log level: debug, info, warn or error")
}

// readKeeperOptions reads the keeper's flags and their DSWAP_* variables.
func readKeeperOptions(fs *pflag.FlagSet) (keeperOptions, error) {
	var o keeperOptions
	for _, d := range []struct {
		name string
		dst  *time.Duration
	}{{"debounce", &o.debounce}, {"resync", &o.resync}, {"startup-timeout", &o.startup}} {
		v, err := layeredDuration(fs, d.name)
		if err != nil {
			return o, err
		}
		if v == nil {
			*d.dst, _ = fs.GetDuration(d.name)
		} else {
			*d.dst = *v
		}
		if *d.dst < 0 {
			return o, usagef("%s %s is negative", source(fs, d.name), *d.dst)
		}
	}
	level, _ := layeredString(fs, "log-level")
	if err := o.level.UnmarshalText([]byte(level)); err != nil {
		return o, usagef("%s %q: want debug, info, warn or error", source(fs, "log-level"), level)
	}
	return o, nil
}
