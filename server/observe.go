package server

import (
	"context"

	"github.com/dswap-dev/dswap/notify"
	"github.com/dswap-dev/dswap/swap"
)

// Observer is told what the sidecar did, for metrics and notifications.
// Its methods must return quickly: they run on the swap's and keeper's
// own goroutines.
type Observer interface {
	SwapEnded(end SwapEnd)
	RouteRepaired(got swap.Reconciled)
	HookDelivered(source, outcome string)
}

// SwapEnd is a finished swap or rollback, with what the swap returned.
type SwapEnd struct {
	ID      string
	Kind    string // swap, rollback, promote or abort
	Trigger string // api, registry, github, poll
	Result  *swap.Result
	Err     error
	Outcome Outcome
}

// observers fan one call out to several observers.
type observers []Observer

func (os observers) SwapEnded(end SwapEnd) {
	for _, o := range os {
		o.SwapEnded(end)
	}
}

func (os observers) RouteRepaired(got swap.Reconciled) {
	for _, o := range os {
		o.RouteRepaired(got)
	}
}

func (os observers) HookDelivered(source, outcome string) {
	for _, o := range os {
		o.HookDelivered(source, outcome)
	}
}

// repaired says whether the keeper changed something worth telling:
// it wrote a route, or finished or undid an interrupted swap.
func repaired(got swap.Reconciled) bool {
	return got.Upkeep == swap.UpkeepRouted || len(got.Repaired) > 0
}

// Notifications is the Observer that sends a message when a swap ends
// and when the keeper repairs a route.
type Notifications struct {
	Notifier *notify.Notifier
	// Context is what notifications are sent under (they outlive the
	// swap's own context).
	Context context.Context
}

func (n Notifications) SwapEnded(end SwapEnd) {
	ev, ok := notify.SwapEvent(end.Kind, end.Trigger, end.Result, end.Err)
	if !ok {
		return
	}
	ev.SwapID = end.ID
	if ev.To == "" {
		ev.To = end.Outcome.To
	}
	n.Notifier.Notify(n.Context, ev)
}

func (n Notifications) RouteRepaired(got swap.Reconciled) {
	n.Notifier.Notify(n.Context, notify.RepairEvent(got))
}

func (Notifications) HookDelivered(string, string) {}

// Observers combines observers into one.
func Observers(os []Observer) Observer { return observers(os) }
