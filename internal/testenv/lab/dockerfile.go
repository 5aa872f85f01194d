package lab

import (
	"fmt"
	"regexp"
	"sort"
	"strings"
	"time"
)

// Defaults for an app image's HEALTHCHECK. A one-second interval keeps e2e
// tests fast; three retries is Docker's own default.
const (
	defaultHealthInterval = time.Second
	defaultHealthRetries  = 3
	healthTimeout         = 2 * time.Second
)

// envKeyPattern is what a POSIX shell accepts as a variable name; anything
// else would be ambiguous in an ENV instruction.
var envKeyPattern = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// stopSignalPattern accepts signal names (SIGINT, SIGRTMIN+3) and numbers.
var stopSignalPattern = regexp.MustCompile(`^[A-Za-z0-9+]+$`)

// dockerfileQuote quotes s for the right-hand side of ENV or either side of
// LABEL: inside double quotes the Dockerfile parser treats backslash, double
// quote and dollar specially, so those are escaped. Newlines cannot be
// expressed and are rejected by the callers.
func dockerfileQuote(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, `$`, `\$`)
	return `"` + r.Replace(s) + `"`
}

// renderAppDockerfile renders the Dockerfile of a testapp image.
func renderAppDockerfile(img AppImage, prefix string) (string, error) {
	if strings.ContainsAny(img.Version, "\r\n") {
		return "", fmt.Errorf("app image %s: Version must be one line", img.Tag)
	}
	var b strings.Builder
	b.WriteString("FROM scratch\n")
	b.WriteString("COPY testapp /testapp\n")
	if img.Shell {
		b.WriteString("COPY testapp /bin/sh\n")
	}
	fmt.Fprintf(&b, "ENV VERSION=%s\n", dockerfileQuote(img.Version))
	for _, k := range sortedKeys(img.Env) {
		v := img.Env[k]
		switch {
		case !envKeyPattern.MatchString(k):
			return "", fmt.Errorf("app image %s: env name %q is not a valid variable name", img.Tag, k)
		case k == "VERSION":
			return "", fmt.Errorf("app image %s: set the version with AppImage.Version, not Env[\"VERSION\"]", img.Tag)
		case strings.ContainsAny(v, "\r\n"):
			return "", fmt.Errorf("app image %s: env %s must be one line", img.Tag, k)
		}
		fmt.Fprintf(&b, "ENV %s=%s\n", k, dockerfileQuote(v))
	}
	b.WriteString("EXPOSE 8080\n")
	if !img.NoHealthcheck {
		interval := img.HealthInterval
		if interval <= 0 {
			interval = defaultHealthInterval
		}
		retries := img.HealthRetries
		if retries <= 0 {
			retries = defaultHealthRetries
		}
		fmt.Fprintf(&b, "HEALTHCHECK --interval=%s --timeout=%s", interval, healthTimeout)
		// A zero start period is Docker's default; older Engines reject an
		// explicit 0 with some spellings, so it is left out.
		if img.HealthStartPeriod > 0 {
			fmt.Fprintf(&b, " --start-period=%s", img.HealthStartPeriod)
		}
		fmt.Fprintf(&b, " --retries=%d CMD [\"/testapp\",\"health\"]\n", retries)
	}
	if img.StopSignal != "" {
		if !stopSignalPattern.MatchString(img.StopSignal) {
			return "", fmt.Errorf("app image %s: StopSignal %q is not a signal name or number", img.Tag, img.StopSignal)
		}
		fmt.Fprintf(&b, "STOPSIGNAL %s\n", img.StopSignal)
	}
	for _, k := range sortedKeys(img.Labels) {
		v := img.Labels[k]
		switch {
		case k == "" || strings.ContainsAny(k, "\r\n"):
			return "", fmt.Errorf("app image %s: label name %q is empty or not one line", img.Tag, k)
		case k == LabelKey:
			return "", fmt.Errorf("app image %s: label %s is set by the lab itself", img.Tag, LabelKey)
		case strings.ContainsAny(v, "\r\n"):
			return "", fmt.Errorf("app image %s: label %s must be one line", img.Tag, k)
		}
		fmt.Fprintf(&b, "LABEL %s=%s\n", dockerfileQuote(k), dockerfileQuote(v))
	}
	fmt.Fprintf(&b, "LABEL %s=%s\n", dockerfileQuote(LabelKey), dockerfileQuote(prefix))
	if img.Shell {
		// No entrypoint: /bin/sh -c SCRIPT runs as given, as in an image
		// FROM a distribution.
		b.WriteString("CMD [\"/testapp\"]\n")
	} else {
		b.WriteString("ENTRYPOINT [\"/testapp\"]\n")
	}
	return b.String(), nil
}

// renderTraefikDockerfile renders the Dockerfile of the traefik image. It
// carries no lab label because the image is shared by all labs and kept.
func renderTraefikDockerfile(sha256hex string) string {
	return "FROM scratch\n" +
		"COPY traefik /traefik\n" +
		fmt.Sprintf("LABEL %s=%s\n", dockerfileQuote(traefikHashLabel), dockerfileQuote(sha256hex)) +
		"EXPOSE 80 8080\n" +
		"ENTRYPOINT [\"/traefik\"]\n"
}

// sortedKeys returns m's keys in order so that rendered Dockerfiles are
// deterministic and the builder cache can be reused.
func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
