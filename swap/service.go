package swap

import (
	"fmt"
	"regexp"
	"sort"
	"strings"

	"github.com/distribution/reference"

	"github.com/dswap-dev/dswap/compose"
	"github.com/dswap-dev/dswap/engine"
	"github.com/dswap-dev/dswap/labels"
)

// Service is a set of containers dswap swaps together.
type Service struct {
	Name string
	// Compose is set for a compose service; its project makes the key unique.
	Compose *compose.Identity
	// Running are the service's running containers, oldest first.
	Running []*engine.Container
	// Stopped are its other containers, newest last; one can serve as the
	// template when nothing runs.
	Stopped []*engine.Container
	// Conflicting are running containers that claim the service but whose
	// Traefik labels differ from its current routing (see members.go):
	// neither routed nor touched. Set by admit.
	Conflicting []*engine.Container
	// RoutingSource is the container whose labels give the service's
	// routing, once admit has run.
	RoutingSource *engine.Container
	// Tasks are one-off containers of the service's release tasks, found
	// by their dswap.task.service label. A swap removes its own; any seen
	// under the service's lock were left by a dswap killed mid-task.
	Tasks []*engine.Container
}

// SwarmTaskLabel is on every container Swarm runs for a task.
const SwarmTaskLabel = "com.docker.swarm.task.id"

// Key names the service's route file, lock and history: a file name as it
// is, and one to one, so that two services never share a route file or a
// lock (earlier, "shop-api/web" and "shop/api-web" both gave shop-api-web,
// and "café" and "caf_" both caf_).
//
// Letters, digits and '-' stand for themselves; every other byte is '.'
// and two lowercase hex digits (so '_' is ".5f" and '.' is ".2e"). A
// compose service is its project, a '_' and its name, each escaped that
// way, so a '_' appears in a key only as that separator. Names made of
// letters, digits and dashes, the common case outside compose, keep the
// file names earlier versions gave them ("my-app" stays my-app); a compose
// service's key changes once ("shop/web": shop-web before, shop_web now),
// and LegacyKey is its earlier name, for migrating.
func (s *Service) Key() string {
	if s.Compose != nil {
		return escapeKey(s.Compose.Project) + "_" + escapeKey(s.Name)
	}
	return escapeKey(s.Name)
}

// LegacyKey is the key earlier versions of dswap used, which is not one to
// one; only for finding files they wrote.
func (s *Service) LegacyKey() string {
	var key string
	if s.Compose != nil {
		key = s.Compose.Project + "-" + s.Name
	} else {
		key = s.Name
	}
	return legacyUnsafe.ReplaceAllString(key, "_")
}

var legacyUnsafe = regexp.MustCompile(`[^A-Za-z0-9_.-]`)

func escapeKey(name string) string {
	var b strings.Builder
	for i := range len(name) {
		c := name[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '-':
			b.WriteByte(c)
		default:
			fmt.Fprintf(&b, ".%02x", c)
		}
	}
	return b.String()
}

// Ref is how FindService finds this service again.
func (s *Service) Ref() string {
	if s.Compose != nil {
		return s.Compose.Project + "/" + s.Name
	}
	return s.Name
}

// Template is the container whose settings a new one copies: the newest
// running one, else the newest stopped one, else nil.
func (s *Service) Template() *engine.Container {
	if n := len(s.Running); n > 0 {
		return s.Running[n-1]
	}
	if n := len(s.Stopped); n > 0 {
		return s.Stopped[n-1]
	}
	return nil
}

// ServiceName is the service a container belongs to: its dswap.service
// label, else its compose service, else its image's repository.
func ServiceName(c *engine.Container) string {
	if s := c.Labels[labels.ServiceLabel]; s != "" {
		return s
	}
	if id, ok := compose.FromLabels(c.Labels); ok {
		return id.Service
	}
	return Repository(c.Image)
}

// Repository returns the repository of an image reference in the short
// form users write ("myapp", "ghcr.io/acme/app"), or the reference itself
// if it does not parse.
func Repository(ref string) string {
	named, err := reference.ParseNormalizedNamed(ref)
	if err != nil {
		return ref
	}
	return reference.FamiliarName(named)
}

// FindService picks the service to swap among all containers (running and
// stopped). With name set it is the service of that name ("web", or
// "project/web" for a compose service); otherwise the service whose
// containers run the image's repository or are named after it.
func FindService(all []*engine.Container, name, image string) (*Service, error) {
	groups := map[string]*Service{}
	var order []string
	match := func(c *engine.Container) bool {
		svcName := ServiceName(c)
		if name != "" {
			if project, service, ok := strings.Cut(name, "/"); ok {
				id, isCompose := compose.FromLabels(c.Labels)
				return isCompose && id.Project == project && svcName == service
			}
			return svcName == name
		}
		repo := Repository(image)
		return svcName == repo || Repository(c.Image) == repo
	}
	var tasks []*engine.Container
	for _, c := range all {
		if c.Labels[TaskServiceLabel] != "" {
			// A release task's one-off runs the new image but is no
			// member of any service.
			tasks = append(tasks, c)
			continue
		}
		if c.Labels[compose.OneoffLabel] == "True" || c.Labels[SwarmTaskLabel] != "" || !match(c) {
			// A Swarm task's container is Swarm's: cloned as a plain
			// container it would serve outside its service. Swarm
			// services are swapped as services (swap/swarm).
			continue
		}
		svc := &Service{Name: ServiceName(c)}
		if id, ok := compose.FromLabels(c.Labels); ok {
			svc.Compose = &id
		}
		key := svc.Key()
		if g, ok := groups[key]; ok {
			svc = g
		} else {
			groups[key] = svc
			order = append(order, key)
		}
		if c.State.Running {
			svc.Running = append(svc.Running, c)
		} else {
			svc.Stopped = append(svc.Stopped, c)
		}
	}
	// A service with running containers wins over leftovers of another.
	var running []string
	for _, k := range order {
		if len(groups[k].Running) > 0 {
			running = append(running, k)
		}
	}
	candidates := order
	if len(running) > 0 {
		candidates = running
	}
	switch {
	case len(candidates) == 1:
		svc := groups[candidates[0]]
		sort.SliceStable(svc.Running, func(i, j int) bool { return svc.Running[i].Created.Before(svc.Running[j].Created) })
		sort.SliceStable(svc.Stopped, func(i, j int) bool { return svc.Stopped[i].Created.Before(svc.Stopped[j].Created) })
		svc.Tasks = tasksOf(tasks, svc)
		return svc, nil
	case len(candidates) == 0 && name != "" && !strings.Contains(name, "/"):
		// A named service with no containers yet is started from the
		// image alone.
		svc := &Service{Name: name}
		svc.Tasks = tasksOf(tasks, svc)
		return svc, nil
	case len(candidates) == 0:
		return nil, notFoundError(all, name, image)
	default:
		var lines []string
		for _, k := range candidates {
			lines = append(lines, describeGroup(groups[k]))
		}
		return nil, badInput("%s matches several services:\n%s\nsay which with --service NAME (or project/NAME for a compose service)", what(name, image), strings.Join(lines, "\n"))
	}
}

// tasksOf picks the release tasks' one-offs of svc among tasks.
func tasksOf(tasks []*engine.Container, svc *Service) []*engine.Container {
	var out []*engine.Container
	for _, c := range tasks {
		if c.Labels[TaskServiceLabel] == svc.Ref() {
			out = append(out, c)
		}
	}
	return out
}

func what(name, image string) string {
	if name != "" {
		return fmt.Sprintf("service %q", name)
	}
	return fmt.Sprintf("image %s (repository %q)", image, Repository(image))
}

func describeGroup(s *Service) string {
	var names []string
	for _, c := range append(append([]*engine.Container{}, s.Running...), s.Stopped...) {
		names = append(names, fmt.Sprintf("%s (%s, %s)", c.Name, c.Image, c.State.Status))
	}
	return fmt.Sprintf("  %s: %s", s.Ref(), strings.Join(names, ", "))
}

func notFoundError(all []*engine.Container, name, image string) error {
	var seen []string
	for _, c := range all {
		if c.State.Running {
			seen = append(seen, fmt.Sprintf("%s (service %s, %s)", c.Name, ServiceName(c), c.Image))
		}
	}
	hint := "none"
	if len(seen) > 0 {
		hint = strings.Join(seen, ", ")
	}
	how := "pass --service NAME to start a new service from the image, or label the service's containers with dswap.service=NAME"
	if project, service, ok := strings.Cut(name, "/"); ok {
		// dswap does not create a compose service's first container: it
		// would lack what compose sets up around it.
		how = fmt.Sprintf("start the compose service first (docker compose -p %s up -d %s), then swap it", project, service)
	}
	return badInput("no container belongs to %s; running containers: %s; %s", what(name, image), hint, how)
}

// migrateLegacyRoute moves a route file an earlier dswap wrote under the
// service's legacy key to its key (see Key), so that the service keeps
// one route file and its names do not clash with themselves. A file there
// is the service's only if it records no owner and its header names the
// service; anything else is left alone. The caller holds the service's lock.
func (s *Swapper) migrateLegacyRoute(svc *Service) error {
	legacy := svc.LegacyKey()
	if legacy == svc.Key() || s.Routes.FileFor(legacy) == s.Routes.FileFor(svc.Key()) {
		return nil
	}
	content, ok, err := s.Routes.Read(legacy)
	if err != nil || !ok {
		return err
	}
	if name, ok := labels.LegacyFileService(content); !ok || name != svc.Name {
		return nil
	}
	if _, exists, err := s.Routes.Read(svc.Key()); err != nil {
		return err
	} else if !exists {
		if err := s.Routes.Write(svc.Key(), content); err != nil {
			return fmt.Errorf("moving route file %s to %s: %w", s.Routes.FileFor(legacy), s.Routes.FileFor(svc.Key()), err)
		}
	}
	if err := s.Routes.Remove(legacy); err != nil {
		return fmt.Errorf("moving route file %s to %s: %w", s.Routes.FileFor(legacy), s.Routes.FileFor(svc.Key()), err)
	}
	s.log.Info("route file renamed: service names now map one to one to files", "service", svc.Ref(), "from", s.Routes.FileFor(legacy), "to", s.Routes.FileFor(svc.Key()))
	return nil
}
