package swap

import (
	"errors"
	"time"

	"github.com/dswap-dev/dswap/history"
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
