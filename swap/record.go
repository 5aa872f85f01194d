package swap

import (
	"errors"
	"time"

	"github.com/dswap-dev/dswap/engine"
	"github.com/dswap-dev/dswap/history"
	"github.com/dswap-dev/dswap/labels"
)

// record appends the swap's outcome to the service's history.
func (s *Swapper) record(p *plan, req Request, res *Result, err error) {
	if s.History == nil || errors.Is(err, ErrBadInput) {
		return
	}
	e := history.Entry{
		ID: p.swapID, Service: p.svc.Name, Started: s.started.UTC(), Duration: time.Since(s.started),
		Result: "swapped", ToImage: req.Image, ToImageID: p.image.ID, FromImage: p.fromImage,
	}
	e.ToDigest = p.image.RepoDigest(req.Image)
	if len(p.old) > 0 {
		e.FromImageID = p.old[len(p.old)-1].ImageID
	}
	if res != nil {
		e.Containers = res.New
		for _, t := range res.Tasks {
			e.Tasks = append(e.Tasks, history.Task{Stage: t.Stage, Command: t.Command, ExitCode: t.ExitCode, Duration: t.Took, Failure: t.Failure, Output: t.Output})
		}
		e.Canary = CanaryHistory(res.Canary)
	}
	var failed *FailedError
	switch {
	case err == nil && p.paused:
		e.Result, e.Reason = "paused", res.Paused
	case errors.As(err, &failed) && (failed.Phase == PhaseMonitor || failed.Phase == PhasePost && p.postErr == nil || errors.Is(err, ErrCanaryFailed)):
		e.Result, e.Reason = "rolled-back", failed.Reason.Error()
	case err != nil && p.postErr != nil:
		// --post-failure report: the new version serves, so it is what a
		// later rollback goes back from.
		e.Reason = "post task failed: " + p.postErr.Error()
	case err != nil:
		e.Result, e.Reason = "failed", err.Error()
	}
	if herr := s.History.Append(p.svc.Key(), e); herr != nil {
		s.log.Warn("could not record the swap in its history", "error", herr)
	}
}

// recordRecovered appends a history entry for a swap that was killed after
// its flip and that repair has just finished: the killed dswap recorded
// nothing, so without it the last entry would name the version that no
// longer serves, and a rollback would not know what ran before. A swap
// undone by repair (killed before its flip) changed nothing that serves
// and is not recorded.
func (s *Swapper) recordRecovered(svc *Service, d Damage) {
	if s.History == nil {
		return
	}
	var to, from *engine.Container
	for _, c := range d.Routed {
		for _, o := range append(append([]*engine.Container(nil), d.Unrouted...), d.Leftovers...) {
			if prev := c.Labels[labels.PreviousContainerLabel]; prev != "" && prev == o.Name {
				to, from = c, o
			}
		}
	}
	if to == nil {
		return
	}
	e := history.Entry{
		ID: to.Labels[labels.SwapIDLabel], Service: svc.Name, Result: "recovered",
		FromImage: from.Image, FromImageID: from.ImageID, ToImage: to.Image, ToImageID: to.ImageID,
		Containers: containerNames(d.Routed),
		Reason:     "interrupted after traffic moved to the new version; finished by the next dswap command",
	}
	if !to.Created.IsZero() {
		e.Started, e.Duration = to.Created.UTC(), time.Since(to.Created)
	}
	if err := s.History.Append(svc.Key(), e); err != nil {
		s.log.Warn("could not record the finished swap in its history", "error", err)
	}
}

// recordUnrecorded appends a history entry for a swap that finished all
// that serves but was killed before it recorded itself: after the old
// containers were removed, nothing is left to repair, so recordRecovered
// never runs (found by the torture run: seed 13, swap 159, dswap SIGKILLed
// 427 ms into removing the old container; the last entry still named the
// version before). The routed containers say which swap made them (their
// swap ID and the image they replaced); it is recorded when the history
// knows no entry of that swap and its last entry names another image than
// the one serving.
func (s *Swapper) recordUnrecorded(svc *Service, routed []*engine.Container) {
	if s.History == nil || len(routed) == 0 {
		return
	}
	to := routed[len(routed)-1]
	id := to.Labels[labels.SwapIDLabel]
	if id == "" || to.Labels[labels.PreviousImageLabel] == "" {
		return // not made by a swap, or by a dswap that did not label it
	}
	entries, err := s.History.Read(svc.Key())
	if err != nil {
		return
	}
	for _, e := range entries {
		if e.ID == id {
			return
		}
	}
	if n := len(entries); n > 0 {
		last := entries[n-1]
		serving, servingID := last.ToImage, last.ToImageID
		if last.Result == "failed" || last.Result == "rolled-back" {
			serving, servingID = last.FromImage, last.FromImageID
		}
		if serving == to.Image || servingID != "" && servingID == to.ImageID {
			return // it agrees with what serves (the swap's entry was trimmed)
		}
	}
	e := history.Entry{
		ID: id, Service: svc.Name, Result: "recovered",
		FromImage: to.Labels[labels.PreviousImageLabel], FromImageID: to.Labels[labels.PreviousImageIDLabel],
		ToImage: to.Image, ToImageID: to.ImageID,
		Containers: containerNames(routed),
		Reason:     "interrupted after the old version was removed, before the swap was recorded; recorded by the next dswap command",
	}
	if !to.Created.IsZero() {
		e.Started, e.Duration = to.Created.UTC(), time.Since(to.Created)
	}
	if err := s.History.Append(svc.Key(), e); err != nil {
		s.log.Warn("could not record the finished swap in its history", "error", err)
	}
}
