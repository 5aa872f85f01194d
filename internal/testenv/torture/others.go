package torture

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/dswap-dev/dswap/internal/testenv/lab"
	"github.com/dswap-dev/dswap/labels"
)

// otherServices is how many services beside the one under load the
// several-services fault swaps at once.
const otherServices = 2

// others are the names of the services the several-services fault swaps
// beside the one under load; none unless the fault may be drawn.
func (r *runner) others() []string {
	if !contains(kindNames(r.opts.Kinds), string(FaultSeveralServices)) {
		return nil
	}
	var out []string
	for i := range otherServices {
		out = append(out, fmt.Sprintf("%s-%c", r.service, 'b'+i))
	}
	return out
}

func kindNames(kinds []FaultKind) []string {
	out := make([]string, 0, len(kinds))
	for _, k := range kinds {
		out = append(out, string(k))
	}
	return out
}

// startService runs the first container of a service, of v1, and lets
// dswap adopt it.
func (r *runner) startService(ctx context.Context, name string) error {
	id, err := r.lab.RunApp(ctx, lab.App{Name: name, Image: r.images[0].Tag,
		Env: []string{"ON_SIGTERM=linger:2s"},
		Labels: map[string]string{
			"traefik.enable":                                              "false",
			"traefik.http.routers." + name + ".rule":                      "Host(`" + name + ".localhost`)",
			"traefik.http.routers." + name + ".entrypoints":               "web",
			"traefik.http.services." + name + ".loadbalancer.server.port": "8080",
			"dswap.service":                                               name,
		}})
	if err != nil {
		return err
	}
	if err := r.lab.WaitHealthy(ctx, id, time.Minute); err != nil {
		return err
	}
	p, err := r.dswap.run(ctx, "sync", name)
	if err != nil {
		return err
	}
	if p.code != 0 {
		return fmt.Errorf("adopting service %s: %s", name, p.summary(20))
	}
	return nil
}

// swapOthers starts, at once, a dswap up of each other service to the
// version it does not run: their flips fall within one reload throttle
// window of Traefik (2 s), with the swap under load's.
func (r *runner) swapOthers(ctx context.Context) ([]*dswapProc, error) {
	var procs []*dswapProc
	for _, name := range r.others() {
		from, err := r.runningVersion(ctx, name)
		if err != nil {
			return procs, err
		}
		to := r.target(from)
		p, err := r.dswap.start(ctx, "up", to.Tag, "--service", name,
			"--drain", r.opts.Drain.String(), "--flip-timeout", r.opts.FlipTimeout.String())
		if err != nil {
			return procs, err
		}
		procs = append(procs, p)
	}
	return procs, nil
}

// runningVersion is the version of a service's running container.
func (r *runner) runningVersion(ctx context.Context, name string) (string, error) {
	cs, err := r.lab.ContainersOf(ctx, "dswap.service="+name)
	if err != nil {
		return "", err
	}
	for _, c := range cs {
		if c.State == "running" {
			return r.versionOf(c.Image), nil
		}
	}
	return "", fmt.Errorf("service %s has no running container", name)
}

// checkOthers verifies the other services after their swaps: each swap
// succeeded (nothing failed them), exactly one container of each runs,
// its route file names it, Traefik shows that route and answers with its
// version.
func (r *runner) checkOthers(ctx context.Context, procs []*dswapProc) []string {
	var v []string
	for i, name := range r.others() {
		if i < len(procs) && (procs[i].code != 0 || procs[i].result.Result != "swapped") {
			v = append(v, fmt.Sprintf("the swap of %s, at once with the others, ended with exit %d, result %q: %s", name, procs[i].code, procs[i].result.Result, procs[i].result.Error))
		}
		cs, err := r.lab.ContainersOf(ctx, "dswap.service="+name)
		if err != nil {
			return append(v, err.Error())
		}
		var running []lab.Container
		for _, c := range cs {
			if c.State != "running" {
				v = append(v, fmt.Sprintf("container %s of %s is left behind in state %s", c.Name, name, c.State))
				continue
			}
			running = append(running, c)
		}
		if len(running) != 1 {
			v = append(v, fmt.Sprintf("%d containers of %s run, want 1", len(running), name))
			continue
		}
		b, err := os.ReadFile(filepath.Join(r.lab.RoutesDir, "dswap-"+name+".yml"))
		if err != nil {
			v = append(v, fmt.Sprintf("route file of %s: %v", name, err))
			continue
		}
		rf, err := labels.ReadRouteFile(b)
		if err != nil || len(rf.Hosts()) != 1 || rf.Hosts()[0] != running[0].Name {
			v = append(v, fmt.Sprintf("the route file of %s names %v (%v), not its running container %s", name, rf.Hosts(), err, running[0].Name))
			continue
		}
		servers, err := r.traefikServersOf(ctx, name)
		if err != nil || !equal(servers, []string{running[0].Name}) {
			v = append(v, fmt.Sprintf("Traefik routes %s to %v (%v), not %s", name, servers, err, running[0].Name))
		}
		want := r.versionOf(running[0].Image)
		if got, err := lab.ProbeVersion(ctx, r.webURL()+"/", name+".localhost"); err != nil || got != want {
			v = append(v, fmt.Sprintf("%s answers %q (%v) through Traefik, want %s", name, got, err, want))
		}
	}
	return v
}

// otherRouteFile says whether a file of the routes directory is another
// service's route file.
func (r *runner) otherRouteFile(rel string) bool {
	for _, name := range r.others() {
		if rel == "dswap-"+name+".yml" {
			return true
		}
	}
	return false
}

func procsSummary(procs []*dswapProc) string {
	var parts []string
	for _, p := range procs {
		parts = append(parts, fmt.Sprintf("exit %d %s", p.code, p.result.Result))
	}
	return strings.Join(parts, ", ")
}
