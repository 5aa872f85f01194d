package swap

import (
	"context"
	"time"

	"github.com/dswap-dev/dswap/engine"
	"github.com/dswap-dev/dswap/history"
	"github.com/dswap-dev/dswap/lock"
	"github.com/dswap-dev/dswap/traefik"
)

// Docker is what a swap needs from the Engine.
type Docker interface {
	List(ctx context.Context, f engine.ListFilter) ([]*engine.Container, error)
	Inspect(ctx context.Context, id string) (*engine.Container, error)
	Create(ctx context.Context, spec *engine.Spec) (string, error)
	Start(ctx context.Context, id string) error
	Stop(ctx context.Context, id string, timeout time.Duration) error
	Remove(ctx context.Context, id string) error
	Events(ctx context.Context, f engine.EventFilter) (<-chan engine.Event, <-chan error)
	Logs(ctx context.Context, id string, tail int) (string, error)
	Exec(ctx context.Context, id string, cmd []string) (engine.ExecResult, error)
}

// Images gets an image ready to run and inspects images.
type Images interface {
	// Ensure makes ref available locally, pulled or built as src says
	// (and as the getter was configured where src leaves a choice
	// unset), and returns it.
	Ensure(ctx context.Context, ref string, src engine.Source) (*engine.Image, error)
	InspectImage(ctx context.Context, ref string) (*engine.Image, error)
}

// Routes stores route files in Traefik's file-provider directory.
type Routes interface {
	Read(service string) ([]byte, bool, error)
	Write(service string, content []byte) error
	Remove(service string) error
	FileFor(service string) string
	LastChange() time.Time
	// Others returns the other route files of the directory by name.
	Others(service string) (map[string][]byte, error)
}

// Traefik confirms what Traefik runs.
type Traefik interface {
	WaitApplied(ctx context.Context, exp traefik.Expectation, timeout time.Duration) (time.Duration, error)
	Runtime(ctx context.Context) (*traefik.Runtime, error)
	// ConfirmedBy says how WaitApplied knows a change was applied, for the
	// output: the user must be able to tell a confirmation from a wait.
	ConfirmedBy() string
}

// Locker serialises swaps of one service across processes.
type Locker interface {
	// Lock takes the service's lock; release gives it back. While another
	// process holds it, Lock waits as w says, and as the locker was
	// configured where w leaves a choice unset.
	Lock(ctx context.Context, key string, w lock.Wait) (release func(), err error)
}

// History records the outcome of each swap.
type History interface {
	Append(service string, e history.Entry) error
	Read(service string) ([]history.Entry, error)
}
