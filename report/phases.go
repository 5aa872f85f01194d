package report

import (
	"errors"
	"io"

	"github.com/dswap-dev/dswap/swap"
	"github.com/dswap-dev/dswap/timeline"
)

// WritePhases draws a finished swap's phases alone, from its own record:
// the picture the sidecar keeps for the swaps it ran. It has no request
// rate (that needs Traefik's metrics sampled during the swap, which only
// dswap up --report does).
func WritePhases(w io.Writer, res *swap.Result) error {
	if res == nil || len(res.Steps) == 0 {
		return errors.New("drawing the swap's phases: the swap recorded none")
	}
	start, end := res.Steps[0].At, res.Steps[len(res.Steps)-1].At
	tl := reportTimeline(res, nil, nil, nil, start, end)
	tl.Note = "Phases from dswap's own record, kept by the sidecar for the swaps it ran. No request rate here: dswap up --report draws one from Traefik's metrics."
	return timeline.Render(w, tl)
}
