package engine

import (
	"fmt"
	"strings"
	"time"

	"github.com/docker/go-units"
)

// pullMessage is one message of the Engine's pull progress stream.
type pullMessage struct {
	Status   string `json:"status"`
	ID       string `json:"id"`
	Progress *struct {
		Current int64 `json:"current"`
		Total   int64 `json:"total"`
	} `json:"progressDetail"`
	Error       string `json:"error"`
	ErrorDetail *struct {
		Message string `json:"message"`
	} `json:"errorDetail"`
}

// err returns the error the message carries, or "".
func (m pullMessage) err() string {
	if m.ErrorDetail != nil && m.ErrorDetail.Message != "" {
		return m.ErrorDetail.Message
	}
	return m.Error
}

// progressLine is one line for the log.
type progressLine struct {
	msg   string
	attrs []any
}

// progressEvery is how often a terminal gets a progress line while bytes
// move.
const progressEvery = time.Second

// pullProgress turns the Engine's pull stream into a bounded number of log
// lines. The stream sends an update for every chunk of every layer; a log
// gets only what a reader needs:
//
//   - not on a terminal (CI logs), one line per change of a layer's state
//     ("Pulling fs layer", "Downloading", "Download complete", "Pull
//     complete"...), never one per byte update;
//   - on a terminal, at most one summary line per second while the pull
//     moves (layers done, bytes downloaded).
//
// Lines not about a layer ("Pulling from app", "Digest: ...", "Status:
// ...") pass through in both cases.
type pullProgress struct {
	terminal bool
	layers   map[string]*layerProgress
	order    []string
	// lastReport is when the last summary line went out; changed says
	// the layers moved since.
	lastReport time.Time
	changed    bool
	// last is the last summary line, so an unchanged one is not repeated.
	last string
}

type layerProgress struct {
	status         string
	current, total int64 // downloaded bytes
	extracted      int64
	done           bool
}

func newPullProgress(terminal bool) *pullProgress {
	return &pullProgress{terminal: terminal, layers: map[string]*layerProgress{}}
}

// feed takes one stream message and returns the lines to log now.
func (p *pullProgress) feed(m pullMessage, now time.Time) []progressLine {
	if m.Status == "" || m.err() != "" {
		return nil
	}
	if m.ID == "" || strings.HasPrefix(m.Status, "Pulling from ") {
		return []progressLine{{msg: m.Status}}
	}
	l, ok := p.layers[m.ID]
	if !ok {
		l = &layerProgress{}
		p.layers[m.ID] = l
		p.order = append(p.order, m.ID)
	}
	changed := l.status != m.Status
	l.status = m.Status
	switch m.Status {
	case "Downloading":
		if m.Progress != nil {
			l.current, l.total = m.Progress.Current, m.Progress.Total
		}
	case "Extracting":
		if m.Progress != nil {
			l.extracted = m.Progress.Current
		}
	case "Download complete", "Verifying Checksum":
		if l.total > 0 {
			l.current = l.total
		}
	case "Pull complete", "Already exists":
		l.done = true
		if l.total > 0 {
			l.current = l.total
		}
	}
	if p.terminal {
		p.changed = true
		return p.summaryIfDue(now)
	}
	if !changed {
		return nil
	}
	attrs := []any{"layer", m.ID}
	if m.Status == "Downloading" && l.total > 0 {
		attrs = append(attrs, "size", units.HumanSizeWithPrecision(float64(l.total), 3))
	}
	return []progressLine{{msg: m.Status, attrs: attrs}}
}

// summaryIfDue returns the terminal's summary line when one is due.
func (p *pullProgress) summaryIfDue(now time.Time) []progressLine {
	if !p.changed || now.Sub(p.lastReport) < progressEvery {
		return nil
	}
	p.lastReport, p.changed = now, false
	return p.summaryIfNew()
}

// summaryIfNew returns the summary line unless it says what the last one
// said.
func (p *pullProgress) summaryIfNew() []progressLine {
	l := p.summary()
	key := fmt.Sprint(l.attrs...)
	if key == p.last {
		return nil
	}
	p.last = key
	return []progressLine{l}
}

// summary describes all layers: how many are done, bytes so far.
func (p *pullProgress) summary() progressLine {
	var done int
	var current, total, extracted int64
	for _, id := range p.order {
		l := p.layers[id]
		if l.done {
			done++
		}
		current += l.current
		total += l.total
		if !l.done {
			extracted += l.extracted
		}
	}
	size := func(n int64) string { return units.HumanSizeWithPrecision(float64(n), 3) }
	attrs := []any{"layers", fmt.Sprintf("%d/%d", done, len(p.order))}
	if total > 0 {
		attrs = append(attrs, "downloaded", size(current)+" of "+size(total))
	}
	if extracted > 0 {
		attrs = append(attrs, "extracting", size(extracted))
	}
	return progressLine{msg: "pulling", attrs: attrs}
}

// finish returns the terminal's last summary line if the layers moved
// since the last one, so the final state is always shown.
func (p *pullProgress) finish() []progressLine {
	if !p.terminal || !p.changed {
		return nil
	}
	p.changed = false
	return p.summaryIfNew()
}
