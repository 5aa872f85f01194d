// Package settings declares every setting of a swap once: its name, kind,
// default and help, and the key it has in each layer that can set it (a
// flag, a DSWAP_* variable, a dswap.* label, an x-dswap key of a compose
// service, a field of the sidecar's API). Flags, the environment, labels,
// compose files and the API all read the settings through this table, so
// that a setting cannot be known to one layer and forgotten by another.
package settings

//go:generate go test -run TestREADMESettingsTable -update .

import (
	"fmt"
	"time"
)

// Kind is how a setting's value is written and parsed.
type Kind int

const (
	// Duration is a Go duration with a unit, such as 30s or 1m30s.
	Duration Kind = iota
	// Int is a whole number, zero or more.
	Int
	// Ratio is a number from 0 to 1.
	Ratio
	// Bool is true or false.
	Bool
	// String is free text.
	String
	// Enum is one of the setting's Values.
	Enum
	// List is a repeatable flag; it has no variable.
	List
	// Commands are commands to run, one a line (a repeatable flag gives
	// one each time): a shell command, or a JSON array of strings for the
	// exec form, as --health-cmd takes them.
	Commands
)

func (k Kind) String() string {
	return [...]string{"duration", "int", "ratio", "bool", "string", "enum", "list", "commands"}[k]
}

// Remote says what becomes of a setting when `dswap up` hands its swap to
// a sidecar (DSWAP_HOST).
type Remote int

const (
	// Sent settings travel in the swap request: the sidecar runs the swap
	// with them, as a local swap would.
	Sent Remote = iota
	// Caller settings are for the caller itself, such as its output.
	Caller
	// SidecarOwn settings say where Traefik is on the caller's machine;
	// the sidecar has its own. The flag is refused; the variable, which an
	// environment set up for local swaps exports anyway, is ignored with
	// a warning.
	SidecarOwn
	// Refused settings only make sense on the caller's machine (a build
	// context, a login file): the flag and the variable are refused.
	Refused
)

// Group is which commands take a setting's flag.
type Group int

const (
	// GroupSwap settings shape a swap: `up` and `rollback` take them.
	GroupSwap Group = iota
	// GroupUp settings are `up`'s alone: which service, how to get the
	// image, compose.
	GroupUp
	// GroupConnection settings say how to reach Traefik and what to
	// print: every command takes them.
	GroupConnection
)

// Setting is one setting, declared once.
type Setting struct {
	// Name is the setting's name, which is also its flag's.
	Name string
	// Short is the flag's one-letter form, if any.
	Short string
	Kind  Kind
	// Values are the choices of an Enum.
	Values []string
	// Default is the value when no layer sets one, as a flag would take
	// it; "" is the zero value.
	Default string
	// DefaultDoc describes a default that is not a plain value ("from
	// HEALTHCHECK"); it replaces Default in help and README.
	DefaultDoc string
	Help       string
	// Env is the DSWAP_* variable; "" for a flag-only setting.
	Env string
	// Label is the dswap.* label on a service; "" for none.
	Label string
	// Compose is the x-dswap key of a compose service; ComposeKeys are the
	// compose keys that also set it (documentation: compose reads them).
	Compose     string
	ComposeKeys string
	// JSON is the field of the sidecar's swap request; "" for a setting
	// that does not travel.
	JSON   string
	Group  Group
	Remote Remote
	// field is where the value lands in Overrides; nil for settings the
	// commands read themselves.
	field func(*Overrides) any
	// apply, for a setting without a field, is what its value does to
	// the settings read with it (--atomic sets parallelism).
	apply func(o *Overrides, v any, where string) error
}

// DefaultText is the default as help and README show it.
func (s *Setting) DefaultText() string {
	if s.DefaultDoc != "" {
		return s.DefaultDoc
	}
	return s.Default
}

// Overrides are the swap settings a layer (or the layers above the
// service's running containers) set; nil means not set, so that a lower
// layer decides.
type Overrides struct {
	Drain         *time.Duration
	HealthTimeout *time.Duration
	HealthCmd     *string
	NoHealthcheck *bool
	Settle        *time.Duration
	FlipTimeout   *time.Duration
	ProbeInterval *time.Duration
	Monitor       *time.Duration
	// KeepConnections is how long an old container may linger, unrouted,
	// while it holds open connections.
	KeepConnections *time.Duration
	// Canary steps and the limits that judge them.
	Canary       *string
	Step         *time.Duration
	MaxErrorRate *string
	MaxP99       *string
	MinRequests  *int
	// TooFewRequests is what a step still short of MinRequests after its
	// extensions does: fail or warn (pass with a warning).
	TooFewRequests *string
	// CanaryReplicas is how many new containers the canary child runs.
	CanaryReplicas *int
	// Pause stops a canary at its last weight; Sticky pins a client to
	// one version during it.
	Pause  *bool
	Sticky *bool
	// Update policy of a service with several replicas.
	Parallelism     *int
	Delay           *time.Duration
	Order           *string
	FailureAction   *string
	MaxFailureRatio *float64
	Replicas        *int
	// Pull, LockWait and Force are how the swap gets its image and its
	// lock, and whether it swaps to what already runs.
	Pull     *string
	LockWait *time.Duration
	Force    *bool
	// Release tasks: commands run in a one-off container of the new
	// image before it serves (Pre) and after the flip (Post).
	Pre         *[]string
	Post        *[]string
	TaskTimeout *time.Duration
	PostFailure *string
}

// Get returns the setting called name; it panics on a name the table
// does not declare, which is a bug in dswap.
func Get(name string) *Setting {
	if s := Find(name); s != nil {
		return s
	}
	panic(fmt.Sprintf("settings: no setting %q", name))
}

// Find returns the setting called name, or nil.
func Find(name string) *Setting {
	for _, s := range All {
		if s.Name == name {
			return s
		}
	}
	return nil
}
