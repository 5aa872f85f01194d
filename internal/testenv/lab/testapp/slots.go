package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
)

// Healthy slots make "the second new container fails" a property of the
// containers themselves rather than of a test killing one: with
// HEALTHY_SLOTS=N and HEALTHY_SLOTS_DIR naming a directory the containers
// share (a volume), each container claims a slot file at start, and one
// that finds all N taken never turns healthy. A rolling update to such an
// image then fails in batch N+1.

// claimHealthySlot reads HEALTHY_SLOTS and HEALTHY_SLOTS_DIR. It returns
// whether this container may become healthy, and which slot it holds
// (-1 without slots).
func claimHealthySlot(getenv func(string) string, owner string) (slot int, healthy bool, err error) {
	v := getenv("HEALTHY_SLOTS")
	if v == "" {
		return -1, true, nil
	}
	n, err := strconv.Atoi(v)
	dir := getenv("HEALTHY_SLOTS_DIR")
	switch {
	case err != nil || n < 0:
		return -1, false, fmt.Errorf("HEALTHY_SLOTS=%q: want a number of containers, 0 or more", v)
	case dir == "":
		return -1, false, errors.New("HEALTHY_SLOTS needs HEALTHY_SLOTS_DIR, a directory the containers share")
	}
	for i := range n {
		f, err := os.OpenFile(filepath.Join(dir, "slot-"+strconv.Itoa(i)), os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
		if errors.Is(err, fs.ErrExist) {
			continue
		}
		if err != nil {
			return -1, false, fmt.Errorf("claiming a healthy slot in %s: %w", dir, err)
		}
		_, werr := f.WriteString(owner + "\n")
		if cerr := f.Close(); werr == nil {
			werr = cerr
		}
		return i, true, werr
	}
	return -1, false, nil
}
