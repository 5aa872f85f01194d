package torture

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/dswap-dev/dswap/internal/testenv/lab"
	"github.com/dswap-dev/dswap/internal/testenv/loadgen"
)

const (
	// loadQuery makes each request take 20 ms in the app, so that
	// requests are in flight at every moment of a swap.
	loadQuery = "delay=20ms"
	// readyAfter makes a new container take a moment to turn healthy, so
	// that faults can strike while it starts.
	readyAfter = "1s"
)

// image is one version of the service.
type image struct{ Tag, Version string }

// runner is one torture run.
type runner struct {
	opts Options
	// service is the service under torture, named after the lab: dswap
	// finds a service's containers by label on the whole Engine, so two
	// runs at once must not share a name. host is its router's host name.
	service, host string
	lab           *lab.Lab
	dswap         launcher
	side          *sidecar       // the sidecar, when kill-sidecar may be drawn
	engine        *lab.OwnEngine // the lab's own Engine, when restart-docker may be drawn
	forward       string         // 127.0.0.1 URL forwarded to Traefik on that Engine
	keeper        *background    // dswap keep, with Options.Keeper
	images        []image        // v1, v2: the swaps alternate between them
	third         image          // v3: the concurrent dswap up's image
}

// ErrViolation marks a run stopped by a violated invariant.
var ErrViolation = errors.New("invariant violated")

// Run sets up a lab (its own Traefik and network), runs the swaps and
// returns their records. It stops at the first violation with an error
// that names the seed, the swap, the fault and the evidence file.
func Run(ctx context.Context, opts Options) ([]SwapRecord, error) {
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	if opts.Prefix == "" {
		opts.Prefix = "dswap-torture-" + randomHex(3)
	}
	labOpts := lab.Options{Prefix: opts.Prefix, TraefikBin: opts.TraefikBin, RoutesTmpfs: opts.routesTmpfs(), Log: opts.Log}
	var engine *lab.OwnEngine
	if contains(kindNames(opts.Kinds), string(FaultRestartDocker)) {
		eng, closeEngine, err := ownEngine(ctx)
		if err != nil {
			return nil, err
		}
		defer closeEngine()
		engine = eng
		labOpts.DockerHost, labOpts.PublishIP, labOpts.Restart = eng.Socket, eng.NSIP, true
	}
	l, err := lab.New(ctx, labOpts)
	if err != nil {
		return nil, err
	}
	defer func() {
		if cerr := l.Close(ctx); cerr != nil {
			fmt.Fprintln(opts.Log, "torture: closing the lab:", cerr)
		}
	}()
	svc := opts.Prefix + "-svc"
	r := &runner{opts: opts, service: svc, host: svc + ".localhost", lab: l, engine: engine}
	r.dswap = launcher{bin: opts.DswapBin, env: append(os.Environ(),
		"DSWAP_ROUTES_DIR="+l.RoutesDir, "DSWAP_TRAEFIK_API="+l.APIURL, "DSWAP_TRAEFIK_CONTAINER="+l.TraefikName,
		// The harness's own environment must not hand swaps to a sidecar.
		"DSWAP_HOST=")}
	if engine != nil {
		r.dswap.env = append(r.dswap.env, "DOCKER_HOST="+engine.Socket)
		fctx, stop := context.WithCancel(ctx)
		defer stop()
		if err := r.forwardWeb(fctx); err != nil {
			return nil, err
		}
	}
	if opts.UID != 0 {
		home, err := asUser(&r.dswap, opts.UID, l.RoutesDir)
		if err != nil {
			return nil, err
		}
		defer os.RemoveAll(home)
	}
	defer r.stopSidecar()
	if opts.Address != "" {
		r.dswap.env = append(r.dswap.env, "DSWAP_ADDRESS="+opts.Address)
	}
	if err := r.setUp(ctx); err != nil {
		return nil, err
	}
	if opts.Keeper {
		k, err := r.startKeeper(ctx)
		if err != nil {
			return nil, err
		}
		r.keeper = k
		defer k.stop()
	}
	var records []SwapRecord
	var violations []error
	for i := opts.From; i < opts.Swaps; i++ {
		rec, err := r.swap(ctx, i)
		if err != nil && !errors.Is(err, ErrViolation) {
			// The harness could not finish the swap (or was stopped):
			// it has no figures to count.
			return records, errors.Join(append(violations, err)...)
		}
		records = append(records, rec)
		fmt.Fprintln(opts.Out, rec.Line())
		if err == nil {
			continue
		}
		if !opts.KeepGoing {
			return records, err
		}
		fmt.Fprintln(opts.Out, "  ", err)
		violations = append(violations, err)
	}
	return records, errors.Join(violations...)
}

// routeFile is the name of the service's route file (the service name is
// all letters, digits and dashes, so its key is the name itself).
func (r *runner) routeFile() string { return "dswap-" + r.service + ".yml" }

// target is the version a swap from version current goes to: the other of
// v1 and v2 (v1 after the concurrent swap's v3).
func (r *runner) target(current string) image {
	if current == r.images[0].Version {
		return r.images[1]
	}
	return r.images[0]
}

// setUp builds the images and starts the service's first container, of
// v1, and lets dswap adopt it.
func (r *runner) setUp(ctx context.Context) error {
	for _, v := range []string{"v1", "v2", "v3"} {
		img := lab.AppImage{
			Tag: r.opts.Prefix + "-app:" + v, Version: v,
			Env:               map[string]string{"READY_AFTER": readyAfter},
			HealthStartPeriod: 20 * time.Second,
		}
		if err := r.lab.BuildApp(ctx, img); err != nil {
			return err
		}
		if v == "v3" {
			r.third = image{img.Tag, v}
		} else {
			r.images = append(r.images, image{img.Tag, v})
		}
	}
	first := r.images[0]
	id, err := r.lab.RunApp(ctx, lab.App{Name: r.service, Image: first.Tag,
		Env: []string{"ON_SIGTERM=linger:2s"},
		Labels: map[string]string{
			"traefik.enable": "false",
			"traefik.http.routers." + r.service + ".rule":                      "Host(`" + r.host + "`)",
			"traefik.http.routers." + r.service + ".entrypoints":               "web",
			"traefik.http.services." + r.service + ".loadbalancer.server.port": "8080",
			"dswap.service": r.service,
		}})
	if err != nil {
		return err
	}
	if err := r.lab.WaitHealthy(ctx, id, time.Minute); err != nil {
		return err
	}
	for _, name := range r.others() {
		if err := r.startService(ctx, name); err != nil {
			return err
		}
	}
	if contains(kindNames(r.opts.Kinds), string(FaultKillSidecar)) {
		if err := r.startSidecar(ctx); err != nil {
			return err
		}
	}
	p, err := r.dswap.run(ctx, "sync", r.service)
	if err != nil {
		return err
	}
	if p.code != 0 {
		return fmt.Errorf("adopting the service: %s", p.summary(20))
	}
	return nil
}

// upArgs is the dswap up command line of a swap to img.
func (r *runner) upArgs(img image) []string {
	return []string{"up", img.Tag, "--service", r.service,
		"--drain", r.opts.Drain.String(), "--flip-timeout", r.opts.FlipTimeout.String()}
}

// versionOf maps an image tag to the version its app answers.
func (r *runner) versionOf(tag string) string {
	for _, img := range append([]image{r.third}, r.images...) {
		if img.Tag == tag {
			return img.Version
		}
	}
	return ""
}

// swap runs swap index under load with its fault, recovers as a user
// would, and checks the invariants.
func (r *runner) swap(ctx context.Context, index int) (SwapRecord, error) {
	f := Draw(r.opts.Seed, index, r.opts.Kinds)
	if r.opts.Phase != "" && f.Kind != FaultNone {
		f.Phase = r.opts.Phase
	}
	rec := SwapRecord{Index: index, Fault: f}
	before, err := r.lab.ContainersOf(ctx, "dswap.service="+r.service)
	if err != nil {
		return rec, err
	}
	old := ""
	for _, c := range before {
		if c.State == "running" {
			old, rec.From = c.Name, r.versionOf(c.Image)
		}
	}
	to := r.target(rec.From)
	rec.To = to.Version
	ld, err := loadgen.Start(ctx, loadgen.Options{
		URL: r.webURL() + "/", Host: r.host, Clients: r.opts.Clients,
		MaxDuration: 10 * time.Minute, Timeout: 30 * time.Second, Query: loadQuery,
	})
	if err != nil {
		return rec, err
	}
	defer ld.Stop()
	wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	err = ld.WaitVersion(wctx, rec.From)
	cancel()
	if err != nil {
		return rec, fmt.Errorf("swap %d: load never reached %s before the swap: %w", index, rec.From, err)
	}

	swapCtx, cancel := context.WithTimeout(ctx, dswapTimeout)
	defer cancel()
	up := r.dswap
	if f.Kind == FaultKillSidecar {
		up = r.viaSidecar() // the swap is the sidecar's
	}
	p, err := up.start(swapCtx, r.upArgs(to)...)
	if err != nil {
		return rec, err
	}
	inj, injErr := r.inject(swapCtx, f, p, old)
	err = p.wait(swapCtx)
	if inj.undo != nil {
		// Before anything else: a fault must not outlive its swap.
		if uerr := inj.undo(); uerr != nil {
			return rec, fmt.Errorf("swap %d (%s): putting right what the fault changed: %w", index, f, uerr)
		}
	}
	if err != nil {
		return rec, fmt.Errorf("swap %d (%s): %w", index, f, err)
	}
	rec.Injected, rec.Note = !inj.At.IsZero(), inj.Note
	rec.ExitCode, rec.Result = p.code, p.result.Result
	ev := evidence{up: p}
	if inj.Second != nil {
		if err := inj.Second.wait(swapCtx); err != nil {
			return rec, fmt.Errorf("swap %d (%s): the concurrent dswap: %w", index, f, err)
		}
		ev.second = inj.Second
		rec.Note += fmt.Sprintf(" (exit %d, %s)", inj.Second.code, inj.Second.result.Result)
	}
	for _, o := range inj.Others {
		if err := o.wait(swapCtx); err != nil {
			return rec, fmt.Errorf("swap %d (%s): another service's dswap: %w", index, f, err)
		}
	}
	if len(inj.Others) > 0 {
		rec.Note += " (" + procsSummary(inj.Others) + ")"
	}
	if injErr != nil {
		return rec, fmt.Errorf("swap %d: injecting %s: %w", index, f, injErr)
	}

	// The recovery a user does as the README says: the next command; or,
	// with the keeper running, nothing after a daemon restart: the keeper
	// must put the route right itself.
	var violations []string
	if r.keeper != nil && f.Kind == FaultRestartDocker && rec.Injected {
		if err := r.awaitKeeper(ctx); err != nil {
			violations = append(violations, err.Error())
		}
	} else {
		sync, err := r.dswap.run(ctx, "sync", r.service)
		if err != nil {
			return rec, err
		}
		ev.sync = sync
		if sync.code != 0 {
			violations = append(violations, fmt.Sprintf("the recovery, dswap sync, exited %d: %s", sync.code, sync.result.Error))
		}
	}
	if r.opts.FakeViolation == index+1 {
		if err := r.leaveFakeContainer(ctx); err != nil {
			return rec, err
		}
	}
	if f.Kind == FaultRestartDocker && rec.Injected && r.opts.Address == "ip" {
		// A route by IP names, after the restart, whatever container got
		// that IP (Traefik itself, seen answering 404) until the keeper or
		// the sync rewrites it: that is routing by IP, which dswap's
		// default (by name) avoids; the window lasts until then.
		inj.Until = time.Now()
	}
	st, checked := r.check(ctx)
	violations = append(violations, checked...)
	if len(inj.Others) > 0 {
		violations = append(violations, r.checkOthers(ctx, inj.Others)...)
	}
	checkedAt := time.Now()
	allowed := []string{rec.From, rec.To}
	if f.Kind == FaultConcurrentUp {
		allowed = append(allowed, r.third.Version)
	}
	if st.Version != "" && !contains(allowed, st.Version) {
		violations = append(violations, fmt.Sprintf("%s serves after a swap from %s to %s", st.Version, rec.From, rec.To))
	}
	if f.Kind == FaultNone && (p.code != 0 || p.result.Result != "swapped" || st.Version != to.Version) {
		violations = append(violations, fmt.Sprintf("a swap with no fault ended with exit %d, result %q, %s serving", p.code, p.result.Result, st.Version))
	}
	if s, _ := spec(f.Kind); s.Says != "" && rec.Injected && (inj.BeforeFlip || !s.SaysBeforeFlip) {
		if p.code == 0 {
			violations = append(violations, fmt.Sprintf("dswap up exited 0 though %s", inj.Note))
		} else if msg := p.result.Error + p.stderrText(); !strings.Contains(msg, s.Says) {
			violations = append(violations, fmt.Sprintf("dswap up failed (%s) without saying what to do (%q): %s", inj.Note, s.Says, firstLine(p.result.Error+" "+lastLine(p.stderrText()))))
		}
	}
	rec.Served = st.Version
	from := inj.At
	if from.IsZero() {
		from = p.started
	}
	rec.Recovery = checkedAt.Sub(from)

	// Load goes on a little after the checks, then every failed request
	// is counted against the fault's window.
	after := ld.Count()
	wctx, cancel = context.WithTimeout(ctx, 30*time.Second)
	for ld.Count() < after+4*r.opts.Clients && wctx.Err() == nil {
		_ = pause(wctx, 20*time.Millisecond)
	}
	cancel()
	rep := ld.Stop()
	rec.Requests = rep.Total
	spec, _ := spec(f.Kind)
	var avoidable, unavoidable []loadgen.Result
	for _, res := range rep.Results {
		if !res.Failed() {
			continue
		}
		if spec.Unavoidable && inWindow(res, inj.At, inj.Until.Add(spec.Grace)) {
			rec.FailedUnavoidable++
			unavoidable = append(unavoidable, res)
			continue
		}
		rec.FailedAvoidable++
		avoidable = append(avoidable, res)
	}
	if n := len(unavoidable); n > 0 {
		// Where in the window they fell, and why, says whether they
		// were the fault's doing.
		first, last := unavoidable[0], unavoidable[n-1]
		if rec.Note != "" {
			rec.Note += "; "
		}
		rec.Note += fmt.Sprintf("unavoidable failures started %s to %s after the strike (its effect ended at +%s), first: %s",
			first.Start.Sub(inj.At).Round(time.Millisecond), last.Start.Sub(inj.At).Round(time.Millisecond),
			inj.Until.Sub(inj.At).Round(time.Millisecond), firstLine(first.Err))
	}
	if len(avoidable) > 0 {
		violations = append(violations, fmt.Sprintf("%d requests failed outside any unavoidable fault window:%s", len(avoidable), describe(avoidable)))
	}
	rec.Violations = violations
	if len(violations) == 0 {
		return rec, nil
	}
	path := r.writeEvidence(ctx, rec, inj, ev)
	return rec, fmt.Errorf("%w: seed %d, swap %d (%s -> %s), fault %s%s: %s; evidence in %s; replay with -seed %d -from %d",
		ErrViolation, r.opts.Seed, index, rec.From, rec.To, f, noteOf(rec.Note), strings.Join(violations, "; "), path, r.opts.Seed, index)
}

// leaveFakeContainer plants what the checks must catch: a stopped
// container of the service, as a crashed swap could leave one.
func (r *runner) leaveFakeContainer(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	name := r.opts.Prefix + "-fake-leftover"
	out, err := r.dockerCLI(ctx, "create", "--name", name,
		"--label", lab.LabelKey+"="+r.opts.Prefix, "--label", "dswap.service="+r.service,
		"--network", r.lab.Network, r.images[0].Tag).CombinedOutput()
	if err != nil {
		return fmt.Errorf("planting the fake violation: docker create: %w: %s", err, out)
	}
	return nil
}

// evidence is the dswap runs of a swap.
type evidence struct{ up, second, sync *dswapProc }

// writeEvidence writes what a violation needs to be understood: the
// route file, the containers, Traefik's view and dswap's output.
func (r *runner) writeEvidence(ctx context.Context, rec SwapRecord, inj injected, ev evidence) string {
	var b strings.Builder
	fmt.Fprintf(&b, "seed %d, swap %d (%s -> %s), fault %s\n", r.opts.Seed, rec.Index, rec.From, rec.To, rec.Fault)
	if !inj.At.IsZero() {
		fmt.Fprintf(&b, "struck at %s (until %s) %s\n", inj.At.Format(time.RFC3339Nano), inj.Until.Format(time.RFC3339Nano), inj.Note)
	}
	fmt.Fprintf(&b, "\nviolations:\n- %s\n", strings.Join(rec.Violations, "\n- "))
	route, err := os.ReadFile(filepath.Join(r.lab.RoutesDir, r.routeFile()))
	if err != nil {
		route = []byte(err.Error())
	}
	fmt.Fprintf(&b, "\nroute file %s:\n%s\n", r.routeFile(), route)
	out, _ := r.dockerCLI(ctx, "ps", "-a", "--filter", "label=dswap.service="+r.service,
		"--format", "{{.Names}}\t{{.Image}}\t{{.State}}\t{{.Status}}\t{{.Labels}}").CombinedOutput()
	fmt.Fprintf(&b, "\ncontainers:\n%s\n", out)
	fmt.Fprintf(&b, "\nTraefik's view (/api/rawdata):\n%s\n", r.traefikView(ctx))
	for _, p := range []*dswapProc{ev.up, ev.second, ev.sync} {
		if p != nil {
			fmt.Fprintf(&b, "\n%s\n", p.summary(60))
		}
	}
	if r.keeper != nil {
		out, _ := os.ReadFile(r.keeper.path)
		fmt.Fprintf(&b, "\ndswap keep's last log lines:\n%s\n", lastLines(string(out), 40))
	}
	fmt.Fprintf(&b, "\nTraefik's last log lines:\n%s\n", r.lab.TraefikLogs(ctx, 30))
	path := filepath.Join(r.opts.EvidenceDir, fmt.Sprintf("torture-violation-seed%d-swap%d.txt", r.opts.Seed, rec.Index))
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		fmt.Fprintf(r.opts.Log, "torture: writing evidence %s: %v\n%s", path, err, b.String())
		return "(not written: " + err.Error() + ")"
	}
	fmt.Fprint(r.opts.Log, b.String())
	return path
}

func describe(rs []loadgen.Result) string {
	var b strings.Builder
	for i, r := range rs {
		if i == 5 {
			fmt.Fprintf(&b, " ... and %d more", len(rs)-5)
			break
		}
		fmt.Fprintf(&b, " [%s +%s status %d %q]", r.Start.Format("15:04:05.000"), r.End.Sub(r.Start).Round(time.Millisecond), r.Status, r.Err)
	}
	return b.String()
}

func noteOf(note string) string {
	if note == "" {
		return ""
	}
	return " (" + note + ")"
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// inWindow says whether a request was in flight during an unavoidable
// fault's window, from its strike to until. A fault that did not strike
// (at is zero) has no window.
func inWindow(res loadgen.Result, at, until time.Time) bool {
	return !at.IsZero() && !res.End.Before(at) && !res.Start.After(until)
}

func firstLine(s string) string {
	first, _, _ := strings.Cut(s, "\n")
	return first
}
