package labels

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Label keys dswap writes on the containers it creates.
const (
	ServiceLabel           = "dswap.service"
	SwapIDLabel            = "dswap.swap.id"
	NameLabel              = "dswap.name"
	PreviousContainerLabel = "dswap.swap.previous"
	CreatedByLabel         = "dswap.managed-by" // value CreatedByValue
	// CreatedByValue is the value of CreatedByLabel.
	CreatedByValue = "dswap"
	// ImageIDLabel is the ID of the image the container runs, and
	// ImageDigestLabel its repository digest ("repo@sha256:..."), set when
	// the image came from (or went to) a registry.
	ImageIDLabel     = "dswap.image.id"
	ImageDigestLabel = "dswap.image.digest"
	// PreviousImageLabel and PreviousImageIDLabel record the image (as the
	// replaced container named it) and image ID that the swap replaced.
	PreviousImageLabel   = "dswap.previous.image"
	PreviousImageIDLabel = "dswap.previous.image-id"
)

// Label keys of the settings users put on a service.
const (
	enableLabel        = "dswap.enable"
	drainLabel         = "dswap.drain"
	healthTimeoutLabel = "dswap.health-timeout"
	settleLabel        = "dswap.settle"
	healthCmdLabel     = "dswap.health-cmd"
	noHealthcheckLabel = "dswap.no-healthcheck"
)

// settingsPrefix starts every dswap label.
const settingsPrefix = "dswap."

// reservedLabels are dswap.* keys that dswap writes itself (or may write,
// for bookkeeping). A container dswap created carries them, and its labels
// are read back when it is swapped again, so they must not count as typos.
var reservedLabels = map[string]bool{
	NameLabel:              true,
	CreatedByLabel:         true,
	ImageIDLabel:           true,
	ImageDigestLabel:       true,
	PreviousImageLabel:     true,
	PreviousImageIDLabel:   true,
	"dswap.previous-image": true,
	"dswap.image-id":       true,
}

// reservedPrefixes hold groups of keys dswap writes, such as the swap
// bookkeeping under dswap.swap and what it records of a compose file under
// dswap.compose.
var reservedPrefixes = []string{"dswap.swap.", "dswap.compose."}

// Settings are the dswap.* labels of a service; nil/zero means "not set".
type Settings struct {
	Service       string         // dswap.service
	Enable        *bool          // dswap.enable
	Drain         *time.Duration // dswap.drain
	HealthTimeout *time.Duration // dswap.health-timeout
	Settle        *time.Duration // dswap.settle (used with no-healthcheck)
	HealthCmd     string         // dswap.health-cmd
	NoHealthcheck *bool          // dswap.no-healthcheck
}

// DecodeSettings reads the dswap.* labels of a container. Keys are matched
// exactly: Docker labels are case-sensitive and dswap writes lowercase keys.
// A malformed value is an error naming the label and the value. Keys dswap
// reserves for itself are ignored; any other unknown dswap.* key is an
// error, since a misspelt setting would otherwise be silently ignored.
func DecodeSettings(containerLabels map[string]string) (Settings, error) {
	keys := make([]string, 0, len(containerLabels))
	for key := range containerLabels {
		if strings.HasPrefix(key, settingsPrefix) {
			keys = append(keys, key)
		}
	}
	// Sorting makes the reported label the same on every run when several
	// are wrong.
	sort.Strings(keys)

	var s Settings
	for _, key := range keys {
		value := containerLabels[key]
		var err error
		switch key {
		case ServiceLabel:
			s.Service, err = nonEmpty(key, value)
		case enableLabel:
			s.Enable, err = parseBool(key, value)
		case drainLabel:
			s.Drain, err = parseDuration(key, value)
		case healthTimeoutLabel:
			s.HealthTimeout, err = parseDuration(key, value)
		case settleLabel:
			s.Settle, err = parseDuration(key, value)
		case healthCmdLabel:
			s.HealthCmd, err = nonEmpty(key, value)
		case noHealthcheckLabel:
			s.NoHealthcheck, err = parseBool(key, value)
		default:
			err = checkUnknown(key)
		}
		if err != nil {
			return Settings{}, err
		}
	}

	return s, nil
}

var settingLabels = []string{
	ServiceLabel, enableLabel, drainLabel, healthTimeoutLabel, settleLabel, healthCmdLabel, noHealthcheckLabel,
}

func checkUnknown(key string) error {
	if reservedLabels[key] {
		return nil
	}
	for _, prefix := range reservedPrefixes {
		if strings.HasPrefix(key, prefix) {
			return nil
		}
	}
	for _, known := range settingLabels {
		if strings.EqualFold(key, known) {
			return fmt.Errorf("label %q is not a dswap setting: did you mean %q? (dswap labels are lowercase)", key, known)
		}
	}
	return fmt.Errorf("label %q is not a dswap setting; dswap reads %s", key, strings.Join(settingLabels, ", "))
}

func nonEmpty(key, value string) (string, error) {
	if strings.TrimSpace(value) == "" {
		return "", fmt.Errorf("label %q is empty: give it a value or remove it", key)
	}
	return value, nil
}

func parseBool(key, value string) (*bool, error) {
	b, err := strconv.ParseBool(value)
	if err != nil {
		return nil, fmt.Errorf("label %q: %q is not a boolean: use true or false", key, value)
	}
	return &b, nil
}

// parseDuration requires a unit: "30" is ambiguous between seconds (Traefik's
// reading) and nanoseconds (Go's), so dswap asks for "30s".
func parseDuration(key, value string) (*time.Duration, error) {
	d, err := time.ParseDuration(value)
	if err != nil {
		return nil, fmt.Errorf("label %q: %q is not a duration: use a value with a unit such as 30s or 1m30s", key, value)
	}
	if d < 0 {
		return nil, fmt.Errorf("label %q: %q is negative: durations must be zero or more", key, value)
	}
	return &d, nil
}
