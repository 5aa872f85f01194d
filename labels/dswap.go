package labels

import (
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/dswap-dev/dswap/settings"
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

// Label keys users put on a service besides its settings, which the
// settings table declares (settings.All).
const enableLabel = "dswap.enable"

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
	Service string // dswap.service
	Enable  *bool  // dswap.enable
	// Overrides are the swap settings the labels set (dswap.drain,
	// dswap.health-timeout, ...), as the settings table declares them.
	settings.Overrides
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
	settingKeys := settings.Keys(settings.LabelKey)
	for _, key := range keys {
		value := containerLabels[key]
		var err error
		switch {
		case key == ServiceLabel:
			if strings.TrimSpace(value) == "" {
				err = fmt.Errorf("label %q is empty: give it a value or remove it", key)
			}
			s.Service = value
		case key == enableLabel:
			b, perr := strconv.ParseBool(value)
			if perr != nil {
				err = fmt.Errorf("label %q: %q is not a boolean: use true or false", key, value)
			}
			s.Enable = &b
		case !slices.Contains(settingKeys, key):
			err = checkUnknown(key, settingKeys)
		}
		if err != nil {
			return Settings{}, err
		}
	}
	over, err := settings.Read(settings.Map("label", containerLabels, settings.LabelKey))
	if err != nil {
		return Settings{}, err
	}
	s.Overrides = over
	return s, nil
}

func checkUnknown(key string, settingKeys []string) error {
	if reservedLabels[key] {
		return nil
	}
	for _, prefix := range reservedPrefixes {
		if strings.HasPrefix(key, prefix) {
			return nil
		}
	}
	known := append([]string{ServiceLabel, enableLabel}, settingKeys...)
	for _, k := range known {
		if strings.EqualFold(key, k) {
			return fmt.Errorf("label %q is not a dswap setting: did you mean %q? (dswap labels are lowercase)", key, k)
		}
	}
	return fmt.Errorf("label %q is not a dswap setting; dswap reads %s", key, strings.Join(known, ", "))
}
