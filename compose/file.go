package compose

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/compose-spec/compose-go/v2/consts"
	"github.com/compose-spec/compose-go/v2/types"

	"github.com/dswap-dev/dswap/settings"
)

// ErrNoFile means no compose file was named (-f, COMPOSE_FILE) and none of
// the default names exists in the working directory or its parents.
var ErrNoFile = errors.New("no compose file found")

// LoadOptions say which compose files to read, the way docker compose's
// flags and variables do.
type LoadOptions struct {
	// Files are the -f paths. Empty means COMPOSE_FILE, else the first of
	// compose.yaml, compose.yml, docker-compose.yml, docker-compose.yaml
	// (and its override file) found in the working directory or a parent.
	Files []string
	// ProjectName is --project-name. Empty means COMPOSE_PROJECT_NAME,
	// else the files' top-level name:, else the project directory's name.
	ProjectName string
	// ProjectDir is --project-directory; empty means the first file's
	// directory.
	ProjectDir string
	// Env is the environment used for interpolation, KEY=VALUE; nil means
	// this process's environment. The project's .env file is read on top,
	// as compose does.
	Env []string
}

// File is a loaded compose project.
type File struct {
	// Project is the project name the containers are labelled with.
	Project string
	// Paths are the compose files read, in order.
	Paths []string
	// Dir is the project directory: relative paths in the files are
	// resolved against it, and it is where compose reads .env.
	Dir string
	// Explicit is set when the files were named (-f or COMPOSE_FILE)
	// rather than found by their default names.
	Explicit bool
	// Env is the environment the files were interpolated with, after .env.
	Env map[string]string

	project *types.Project
}

// Load reads a compose project as `docker compose up` (v2.40.3, with
// compose-go v2.9.1) reads it: the same option order, interpolation from the
// environment and .env, paths resolved against the project directory, each
// service's environment resolved from its env_file. ServiceSpec.ConfigHash
// depends on every step being the same.
func Load(ctx context.Context, opts LoadOptions) (*File, error) {
	env := opts.Env
	if env == nil {
		env = os.Environ()
	}
	fns := []cli.ProjectOptionsFn{
		cli.WithResolvedPaths(true),
		cli.WithoutEnvironmentResolution,
		cli.WithWorkingDirectory(opts.ProjectDir),
		cli.WithEnv(env),
	}
	if !slices.ContainsFunc(env, func(kv string) bool { return strings.HasPrefix(kv, "PWD=") }) {
		pwd, err := os.Getwd()
		if err != nil {
			return nil, err
		}
		fns = append(fns, cli.WithEnv([]string{"PWD=" + pwd}))
	}
	fns = append(fns,
		cli.WithEnvFiles(),
		cli.WithDotEnv,
		cli.WithConfigFileEnv,
		cli.WithDefaultConfigPath,
		cli.WithEnvFiles(),
		cli.WithDotEnv,
		cli.WithDefaultProfiles(),
		cli.WithName(opts.ProjectName),
	)
	po, err := cli.NewProjectOptions(opts.Files, fns...)
	if err != nil {
		return nil, fmt.Errorf("reading compose options: %w", err)
	}
	if len(po.ConfigPaths) == 0 {
		return nil, ErrNoFile
	}
	_, fromEnv := po.Environment[consts.ComposeFilePath]
	f := &File{Paths: po.ConfigPaths, Explicit: len(opts.Files) > 0 || fromEnv, Env: po.Environment}
	project, err := po.LoadProject(ctx)
	if err != nil {
		return nil, fmt.Errorf("loading compose file %s: %w", strings.Join(po.ConfigPaths, ", "), err)
	}
	if project.Name == "" {
		return nil, fmt.Errorf("loading compose file %s: the project has no name; pass --project-name", strings.Join(po.ConfigPaths, ", "))
	}
	f.Project, f.Dir, f.Paths, f.project = project.Name, project.WorkingDir, project.ComposeFiles, project
	return f, nil
}

// Services lists the services the files define, including those whose
// profile is not active.
func (f *File) Services() []string {
	names := append(f.project.ServiceNames(), f.project.DisabledServiceNames()...)
	slices.Sort(names)
	return names
}

// Has says whether the files define a service of that name.
func (f *File) Has(name string) bool {
	_, enabled := f.project.Services[name]
	_, disabled := f.project.DisabledServices[name]
	return enabled || disabled
}

// Service returns what the files say about one service. A service whose
// profile is not active is enabled, as `docker compose up SERVICE` does.
func (f *File) Service(name string) (*ServiceSpec, error) {
	if !f.Has(name) {
		return nil, fmt.Errorf("compose file %s has no service %q; its services are %s", strings.Join(f.Paths, ", "), name, strings.Join(f.Services(), ", "))
	}
	p, err := f.project.WithServicesEnabled(name)
	if err != nil {
		return nil, fmt.Errorf("enabling service %s: %w", name, err)
	}
	if p, err = p.WithServicesEnvironmentResolved(true); err != nil {
		return nil, fmt.Errorf("reading the env_file of service %s: %w", name, err)
	}
	svc, err := p.GetService(name)
	if err != nil {
		return nil, err
	}
	applyDefaultPlatform(&svc, p.Environment["DOCKER_DEFAULT_PLATFORM"])
	return newServiceSpec(f, svc)
}

// applyDefaultPlatform does what compose's `up` does to a service it may
// build before hashing it: DOCKER_DEFAULT_PLATFORM becomes its platform.
func applyDefaultPlatform(svc *types.ServiceConfig, platform string) {
	if svc.Build != nil && platform != "" && svc.Platform == "" {
		svc.Platform = platform
	}
}

// ServiceSpec is one service as the compose files define it, in dswap's
// terms.
type ServiceSpec struct {
	Project string
	Service string
	// Image is the image: key, or "" when the service is only built.
	Image string
	// Build is the build: section, if any.
	Build *Build
	// PullPolicy is pull_policy ("build" means always build).
	PullPolicy string
	// Labels are the service's labels: (not compose's own).
	Labels map[string]string
	// Healthcheck is the healthcheck: section, if any.
	Healthcheck *Healthcheck
	// StopGracePeriod is stop_grace_period, if set.
	StopGracePeriod *time.Duration
	// Replicas is deploy.replicas (or scale:), if set.
	Replicas *int
	// Update is deploy.update_config.
	Update UpdateConfig
	// Extensions are the x-dswap keys, as strings; Settings is what they
	// say.
	Extensions map[string]string
	Settings   settings.Overrides
	// Files are the compose files, for messages.
	Files []string

	config types.ServiceConfig
	// fileImage is the image the files name, before WithImage.
	fileImage string
}

// Build is a service's build: section.
type Build struct {
	// Context is the build context directory, absolute.
	Context string
	// Dockerfile is the Dockerfile's path, absolute.
	Dockerfile string
	// Args are build args; a nil value takes the variable from the
	// environment, as compose does for `args: [KEY]`.
	Args   map[string]*string
	Target string
}

// Healthcheck is a service's healthcheck: section, as compose hands it to
// the Engine.
type Healthcheck struct {
	// Test is the command; ["NONE"] when disable: true; empty when the
	// file sets only timings (the image's test applies).
	Test          []string
	Interval      time.Duration
	Timeout       time.Duration
	StartPeriod   time.Duration
	StartInterval time.Duration
	Retries       int
}

// DefaultImage is the image name compose v2 gives a service that has a
// build section and no image: PROJECT-SERVICE.
func (s *ServiceSpec) DefaultImage() string {
	if s.Image != "" {
		return s.Image
	}
	return s.Project + "-" + s.Service
}

// WithImage returns the spec with its image replaced (dswap up SERVICE
// --image REF): what the files would say if their image: were REF.
func (s *ServiceSpec) WithImage(ref string) *ServiceSpec {
	out := *s
	out.Image = ref
	out.config.Image = ref
	return &out
}

func newServiceSpec(f *File, svc types.ServiceConfig) (*ServiceSpec, error) {
	s := &ServiceSpec{
		Project:    f.Project,
		Service:    svc.Name,
		Image:      svc.Image,
		PullPolicy: svc.PullPolicy,
		Labels:     map[string]string{},
		Files:      f.Paths,
		config:     svc,
		fileImage:  svc.Image,
	}
	for k, v := range svc.Labels {
		s.Labels[k] = v
	}
	if b := svc.Build; b != nil {
		if b.DockerfileInline != "" {
			return nil, fmt.Errorf("service %s: build.dockerfile_inline is not supported by dswap; put the Dockerfile in a file", svc.Name)
		}
		if st, err := os.Stat(b.Context); err != nil || !st.IsDir() {
			return nil, fmt.Errorf("service %s: build context %q is not a local directory (dswap builds from local directories only)", svc.Name, b.Context)
		}
		dockerfile := b.Dockerfile
		if dockerfile == "" {
			dockerfile = "Dockerfile"
		}
		if !filepath.IsAbs(dockerfile) {
			dockerfile = filepath.Join(b.Context, dockerfile)
		}
		s.Build = &Build{Context: b.Context, Dockerfile: dockerfile, Target: b.Target}
		if len(b.Args) > 0 {
			s.Build.Args = map[string]*string{}
			for k, v := range b.Args {
				s.Build.Args[k] = v
			}
		}
	}
	if h := svc.HealthCheck; h != nil {
		s.Healthcheck = convertHealthcheck(h)
	}
	if svc.StopGracePeriod != nil {
		d := time.Duration(*svc.StopGracePeriod)
		s.StopGracePeriod = &d
	}
	if svc.Deploy != nil {
		if svc.Deploy.Replicas != nil {
			n := *svc.Deploy.Replicas
			s.Replicas = &n
		}
		u, err := parseUpdateConfig(svc.Deploy.UpdateConfig)
		if err != nil {
			return nil, fmt.Errorf("service %s: deploy.update_config: %w", svc.Name, err)
		}
		s.Update = u
	}
	if s.Replicas == nil && svc.Scale != nil {
		n := *svc.Scale
		s.Replicas = &n
	}
	ext, err := extensionSettings(svc)
	if err != nil {
		return nil, err
	}
	s.Extensions = ext
	if s.Settings, err = parseSettings(ext); err != nil {
		return nil, fmt.Errorf("service %s: %s: %w", svc.Name, extensionKey, err)
	}
	return s, nil
}

// convertHealthcheck is compose's ToMobyHealthCheck: unset timings are
// zero (the image's), disable: true is the NONE test.
func convertHealthcheck(h *types.HealthCheckConfig) *Healthcheck {
	out := &Healthcheck{Test: append([]string(nil), h.Test...)}
	if h.Disable {
		out.Test = []string{"NONE"}
	}
	for _, d := range []struct {
		src *types.Duration
		dst *time.Duration
	}{{h.Interval, &out.Interval}, {h.Timeout, &out.Timeout}, {h.StartPeriod, &out.StartPeriod}, {h.StartInterval, &out.StartInterval}} {
		if d.src != nil {
			*d.dst = time.Duration(*d.src)
		}
	}
	if h.Retries != nil {
		out.Retries = int(*h.Retries)
	}
	return out
}

// extensionKey is the service-level extension dswap reads.
const extensionKey = "x-dswap"

// extensionSettings returns x-dswap's keys with their values as strings.
func extensionSettings(svc types.ServiceConfig) (map[string]string, error) {
	raw, ok := svc.Extensions[extensionKey]
	if !ok || raw == nil {
		return nil, nil
	}
	m, ok := raw.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("service %s: %s must be a mapping of settings such as drain: 30s, got %T", svc.Name, extensionKey, raw)
	}
	out := map[string]string{}
	for k, v := range m {
		switch v := v.(type) {
		case string:
			out[k] = v
		case bool, int, int64, uint64, float64:
			out[k] = fmt.Sprint(v)
		case []any:
			// A list of commands (pre:, post:), one a line as the
			// setting's parser reads them: a string is a shell command, a
			// list of strings the exec form.
			lines, err := commandLines(v)
			if err != nil {
				return nil, fmt.Errorf("service %s: %s.%s: %w", svc.Name, extensionKey, k, err)
			}
			out[k] = lines
		default:
			return nil, fmt.Errorf("service %s: %s.%s must be a single value, got %T", svc.Name, extensionKey, k, v)
		}
	}
	return out, nil
}

// commandLines writes a YAML list of commands one a line: a string as it
// is, a list of strings as the JSON array of the exec form.
func commandLines(items []any) (string, error) {
	var lines []string
	for i, it := range items {
		switch it := it.(type) {
		case string:
			if strings.Contains(it, "\n") {
				return "", fmt.Errorf("item %d spans several lines; give each command as one item", i+1)
			}
			lines = append(lines, it)
		case []any:
			args := make([]string, 0, len(it))
			for _, a := range it {
				s, ok := a.(string)
				if !ok {
					return "", fmt.Errorf("item %d: the exec form is a list of strings, got %T", i+1, a)
				}
				args = append(args, s)
			}
			b, _ := json.Marshal(args)
			lines = append(lines, string(b))
		default:
			return "", fmt.Errorf("item %d: want a command (a string) or the exec form (a list of strings), got %T", i+1, it)
		}
	}
	return strings.Join(lines, "\n"), nil
}
