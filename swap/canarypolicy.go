package swap

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/dswap-dev/dswap/settings"
	"github.com/dswap-dev/dswap/traefik"
)

// CanaryPolicy is how a canary moves traffic and judges each step.
type CanaryPolicy struct {
	// Weights are the new version's shares of the traffic, in percent, one
	// per step, ascending; none means no canary.
	Weights []int
	// Step is how long each step lasts before it is judged.
	Step time.Duration
	// MaxErrorRate is the highest share of the canary's requests answered
	// 5xx; 0 means not judged.
	MaxErrorRate float64
	// MaxP99 is an absolute p99 limit; MaxP99Relative, when above zero,
	// the canary's p99 limit as a multiple of the stable child's over the
	// same window (1.5 for +50%).
	MaxP99         time.Duration
	MaxP99Relative float64
	// MinRequests is what the canary must get in a step to be judged.
	MinRequests int
	// WarnTooFew passes a step still short of MinRequests after its
	// extensions, with a warning; by default it fails.
	WarnTooFew bool
	// Replicas is how many new containers the canary child runs.
	Replicas int
	// Pause stops at the last weight: dswap exits with the route split,
	// and promote or abort finish (see pause.go).
	Pause bool
	// Sticky pins a client to the version it first reached.
	Sticky bool
}

// Enabled says whether the swap runs canary steps.
func (c CanaryPolicy) Enabled() bool { return len(c.Weights) > 0 }

// Judged says whether the steps are judged on metrics; without limits the
// steps only hold each weight for their length.
func (c CanaryPolicy) Judged() bool {
	return c.MaxErrorRate > 0 || c.MaxP99 > 0 || c.MaxP99Relative > 0
}

// maxExtension is how far a step short of requests is extended: up to
// this many times its length in all.
const maxExtension = 3

// canaryPolicyOf parses the canary settings.
func canaryPolicyOf(o settings.Overrides) (CanaryPolicy, error) {
	pol := CanaryPolicy{Step: value(o.Step), MinRequests: value(o.MinRequests), Pause: value(o.Pause), Sticky: value(o.Sticky),
		WarnTooFew: value(o.TooFewRequests) == "warn", Replicas: value(o.CanaryReplicas)}
	if o.CanaryReplicas == nil {
		pol.Replicas = 1
	}
	if pol.Replicas < 1 {
		return pol, badInput("--canary-replicas %d: the canary needs at least one new container", pol.Replicas)
	}
	var err error
	if pol.Weights, err = parseWeights(value(o.Canary)); err != nil {
		return pol, err
	}
	if v := strings.TrimSpace(value(o.MaxErrorRate)); v != "" {
		r, ok := parseShare(v)
		if !ok || r <= 0 || r >= 1 {
			return pol, badInput("--max-error-rate %q: want a share above 0 and below 100%%, such as 1%% or 0.01", v)
		}
		pol.MaxErrorRate = r
	}
	if v := strings.TrimSpace(value(o.MaxP99)); v != "" {
		if rel, ok := strings.CutPrefix(v, "+"); ok {
			r, ok := parseShare(rel)
			if !ok || r <= 0 || !strings.HasSuffix(rel, "%") {
				return pol, badInput("--max-p99 %q: want a latency such as 500ms, or an increase over the old version such as +50%%", v)
			}
			pol.MaxP99Relative = 1 + r
		} else {
			d, err := time.ParseDuration(v)
			if err != nil || d <= 0 {
				return pol, badInput("--max-p99 %q: want a latency such as 500ms, or an increase over the old version such as +50%%", v)
			}
			pol.MaxP99 = d
		}
	}
	if pol.Pause && !pol.Enabled() {
		return pol, badInput("--pause stops a canary at its last weight, and no --canary weights were given: add --canary 10%% (say)")
	}
	if pol.Enabled() && pol.Step <= 0 {
		return pol, badInput("--step %s: a canary step must last more than zero", pol.Step)
	}
	if pol.MinRequests < 1 && pol.Judged() {
		return pol, badInput("--min-requests %d: a step needs at least one request to be judged", pol.MinRequests)
	}
	return pol, nil
}

// parseWeights reads "5%,50%" (the % is optional).
func parseWeights(v string) ([]int, error) {
	v = strings.TrimSpace(v)
	if v == "" {
		return nil, nil
	}
	var out []int
	for _, part := range strings.Split(v, ",") {
		part = strings.TrimSpace(part)
		n, err := strconv.Atoi(strings.TrimSuffix(part, "%"))
		if err != nil || n < 1 || n > 99 {
			return nil, badInput("--canary %q: %q is not a share from 1%% to 99%% (after the last step the new version takes all the traffic)", v, part)
		}
		if len(out) > 0 && n <= out[len(out)-1] {
			return nil, badInput("--canary %q: the steps must grow, and %d%% does not", v, n)
		}
		out = append(out, n)
	}
	return out, nil
}

// parseShare reads 1% or 0.01.
func parseShare(v string) (float64, bool) {
	pct := strings.HasSuffix(v, "%")
	f, err := strconv.ParseFloat(strings.TrimSuffix(v, "%"), 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, false
	}
	if pct {
		f /= 100
	}
	return f, true
}

// Verdict is a step's judgement.
type Verdict int

const (
	VerdictPass  Verdict = iota
	VerdictFail          // over a limit
	VerdictShort         // too few requests to judge yet
)

// CanaryStep is one step of a canary, as judged.
type CanaryStep struct {
	Weight int           `json:"weight"`
	Took   time.Duration `json:"-"`
	// Requests and Errors are the canary's over the step's window.
	Requests  int    `json:"requests"`
	Errors    int    `json:"errors"`
	P99       string `json:"p99,omitempty"`
	StableP99 string `json:"stable_p99,omitempty"`
	Verdict   string `json:"verdict"`
	// Reason says, with the figures, why it failed or what it passed.
	Reason string `json:"reason"`
	// Warning is set on a step passed without being judged: too few
	// requests, with --too-few-requests warn.
	Warning string `json:"warning,omitempty"`
}

// judge decides a step from the counters of its window. It is pure so that
// the decisions are table-tested.
func (c CanaryPolicy) judge(weight int, canary, stable traefik.ServiceStats) (Verdict, string) {
	n, errs := canary.Requests, canary.Errors
	if n < float64(c.MinRequests) {
		return VerdictShort, fmt.Sprintf("only %.0f request(s) reached the new version at %d%%, fewer than --min-requests %d", n, weight, c.MinRequests)
	}
	rate := errs / n
	figures := fmt.Sprintf("error rate %s (%.0f of %.0f)", pct(rate), errs, n)
	if c.MaxErrorRate > 0 && rate > c.MaxErrorRate {
		return VerdictFail, fmt.Sprintf("%s > %s at %d%%", figures, pct(c.MaxErrorRate), weight)
	}
	p99, ok := canary.Quantile(0.99)
	if ok {
		figures += fmt.Sprintf(", p99 %s", round(p99))
	}
	if c.MaxP99 > 0 && ok && p99 > c.MaxP99 {
		return VerdictFail, fmt.Sprintf("p99 %s > %s at %d%% (%s)", round(p99), c.MaxP99, weight, figures)
	}
	if c.MaxP99Relative > 0 && ok {
		if base, ok := stable.Quantile(0.99); ok && base > 0 {
			limit := time.Duration(float64(base) * c.MaxP99Relative)
			if p99 > limit {
				return VerdictFail, fmt.Sprintf("p99 %s > %s (the old version's %s +%.0f%%) at %d%% (%s)", round(p99), round(limit), round(base), (c.MaxP99Relative-1)*100, weight, figures)
			}
		}
	}
	return VerdictPass, figures + fmt.Sprintf(" at %d%%", weight)
}

// pct prints a share as a percentage with one decimal where it matters.
func pct(r float64) string {
	s := strconv.FormatFloat(r*100, 'f', 1, 64)
	return strings.TrimSuffix(s, ".0") + "%"
}
