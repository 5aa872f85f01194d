package compose

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/compose-spec/compose-go/v2/types"
)

// Labels Compose v2 reads to decide whether a container is up to date.
const (
	// ConfigHashLabel is the hash of the service's configuration the
	// container was created from. Compose v2 lists only containers that
	// carry it.
	ConfigHashLabel = "com.docker.compose.config-hash"
	// ImageLabel is, despite its name in compose's source
	// (ImageDigestLabel), the ID of the image the container was created
	// from; Compose v2 recreates a container whose value differs from the
	// local image its file names.
	ImageLabel = "com.docker.compose.image"
	// VersionLabel is the version of the Compose that created the
	// container: 1.x for docker-compose, 2.x for docker compose.
	VersionLabel = "com.docker.compose.version"
	// BaseHashLabel is dswap's: the hash of the service's configuration
	// without what dswap applies itself (image, labels, healthcheck,
	// update and rollback policy). Two definitions with the same base hash
	// make the same container apart from what dswap sets, so dswap may
	// record the newer one's config hash.
	BaseHashLabel = "dswap.compose.base-hash"
)

// ConfigHash is the config hash Compose v2 (2.40.3) puts on the containers
// it creates for this service, and compares with on `up`: ServiceHash in
// compose's pkg/compose/hash.go, SHA-256 of compose-go's JSON of the
// service without its build, pull policy, scale, replicas, dependencies
// and profiles. It must be computed with the compose-go version that
// compose release uses (v2.9.1): the JSON is its types'.
func (s *ServiceSpec) ConfigHash() (string, error) {
	return serviceHash(s.config)
}

// BaseHash is ConfigHash without what dswap applies to a new container
// itself (see BaseHashLabel).
func (s *ServiceSpec) BaseHash() (string, error) {
	c := s.config
	c.Image = ""
	c.Labels = nil
	c.HealthCheck = nil
	if c.Deploy != nil {
		d := *c.Deploy
		d.UpdateConfig, d.RollbackConfig = nil, nil
		c.Deploy = &d
	}
	return serviceHash(c)
}

// serviceHash is compose v2.40.3's ServiceHash, except that it does not
// clear the caller's deploy.replicas through the shared pointer.
func serviceHash(o types.ServiceConfig) (string, error) {
	o.Build = nil
	o.PullPolicy = ""
	o.Scale = nil
	if o.Deploy != nil {
		d := *o.Deploy
		d.Replicas = nil
		o.Deploy = &d
	}
	o.DependsOn = nil
	o.Profiles = nil
	b, err := json.Marshal(o)
	if err != nil {
		return "", fmt.Errorf("hashing the configuration of service %s: %w", o.Name, err)
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:]), nil
}

// Running is what dswap knows of a running container of the service when it
// decides which compose labels a new one gets.
type Running struct {
	// Labels are the container's labels.
	Labels map[string]string
	// Image is the image reference it was created with (Config.Image).
	Image string
}

// HashLabels returns the labels that record, on a new container made from
// like and this definition, which definition it follows — the config hash
// (and dswap's base hash) — so that `docker compose up -d` with these files
// finds it up to date. It returns nil and the reason when dswap cannot
// vouch for that: the files then changed more than dswap applies (say the
// environment or volumes), the new container keeps like's config hash, and
// compose will recreate it to apply the rest.
//
// dswap vouches when like follows the files apart from what dswap applies:
// like's base hash (set by an earlier dswap) equals the files' base hash,
// or like's config hash (set by compose) equals the files' config hash
// with like's image in place of theirs.
func (s *ServiceSpec) HashLabels(like Running) (map[string]string, string, error) {
	hash, err := s.ConfigHash()
	if err != nil {
		return nil, "", err
	}
	base, err := s.BaseHash()
	if err != nil {
		return nil, "", err
	}
	out := map[string]string{ConfigHashLabel: hash, BaseHashLabel: base}
	if len(s.config.VolumesFrom) > 0 || isServiceRef(s.config.NetworkMode) || isServiceRef(s.config.Ipc) || isServiceRef(s.config.Pid) {
		// Compose puts the IDs of other services' containers in place of
		// their names before hashing; dswap does not guess them.
		return nil, "the service shares volumes or namespaces with other services", nil
	}
	if b := like.Labels[BaseHashLabel]; b != "" && b == base {
		return out, "", nil
	}
	old, err := s.WithImage(like.Image).ConfigHash()
	if err != nil {
		return nil, "", err
	}
	if like.Labels[ConfigHashLabel] == old {
		return out, "", nil
	}
	return nil, "the compose file changes more than the image of the running containers (or they were not created from it)", nil
}

func isServiceRef(mode string) bool {
	return strings.HasPrefix(mode, types.ServicePrefix)
}
