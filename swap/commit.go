package swap

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/dswap-dev/dswap/labels"
	"github.com/dswap-dev/dswap/traefik"
)

// A route file is committed the way a database commits a transaction:
// acknowledged only once it is durable (written, synced and renamed in by
// Routes.Write) and visible (Traefik's API shows this very write, by its
// generation). A write Traefik does not confirm is undone: the file it
// replaced goes back, because Traefik rejects a whole directory update
// when one file fails to load, so a refused file left in place would hold
// back every other service's routes, and the keeper, finding the file
// "unchanged", would never look at it again.

// routeWrite is one committed (or undone) write of a route file.
type routeWrite struct {
	// previous is the file it replaced; hadPrevious is false if there was
	// none. written says whether the new file is in the directory now: it
	// is false again once a write that was not confirmed has been undone.
	previous    []byte
	hadPrevious bool
	written     bool
	// reached says the new file was in the directory, however briefly:
	// Traefik may have read it, and may apply it even after it was undone
	// (a change waits in Traefik's reload throttle), so the containers it
	// routes may get requests until Traefik shows a route without them.
	reached bool
	// shown says Traefik showed the file the directory holds now: this
	// write, or the one put back in its place.
	shown bool
	took  time.Duration
}

// commitRoute writes content as the route file of the service with this
// key, stamped with a generation greater than the replaced file's, and
// waits until Traefik shows exp for this write. When Traefik does not, the
// replaced file is put back (or the new one removed if there was none) and
// the error says so.
func (s *Swapper) commitRoute(ctx context.Context, key string, content []byte, exp traefik.Expectation) (routeWrite, error) {
	var w routeWrite
	var err error
	if w.previous, w.hadPrevious, err = s.Routes.Read(key); err != nil {
		return w, err
	}
	gen := labels.NextGeneration(labels.GenerationOf(w.previous), time.Now())
	stamped, err := labels.Stamp(content, key, gen)
	if err != nil {
		return w, err
	}
	if err := s.Routes.Write(key, stamped); err != nil {
		return w, asBadInput(err)
	}
	w.written, w.reached = true, true
	exp.Marker, exp.Generation = labels.GenerationMarker(key), int64(gen)
	w.took, err = s.Traefik.WaitApplied(ctx, exp, s.cfg.FlipTimeout)
	if err == nil {
		w.shown = true
		return w, nil
	}
	cause := fmt.Errorf("route file %s (generation %d): %w", s.Routes.FileFor(key), gen, err)
	s.log.Warn("Traefik did not confirm the route file; putting back the file it replaced", "phase", s.phase.String(), "file", s.Routes.FileFor(key), "generation", gen.String(), "reason", err)
	undone, restored, putErr := s.putBack(ctx, key, w, gen, content)
	// Once the replaced file is back in the directory, confirmed or not,
	// there is nothing left for a rollback to restore.
	w.written = !restored
	w.shown = restored && putErr == nil
	if putErr != nil {
		return w, fmt.Errorf("%w; %w", cause, putErr)
	}
	return w, fmt.Errorf("%w; %s", cause, undone)
}

// putBack undoes a write Traefik did not confirm: the file it replaced is
// written again (with a newer generation, so that its own confirmation is
// exact) or, if there was none, the new file is removed. It runs even when
// ctx was cancelled. It returns what it did and whether the directory
// holds the replaced file again, or an error saying what it holds now.
func (s *Swapper) putBack(ctx context.Context, key string, w routeWrite, failed labels.Generation, content []byte) (done string, restored bool, err error) {
	ctx = context.WithoutCancel(ctx)
	file := s.Routes.FileFor(key)
	marker := labels.GenerationMarker(key)
	if !w.hadPrevious {
		if err := s.Routes.Remove(key); err != nil {
			return "", false, fmt.Errorf("removing it failed too, so the unconfirmed file is still in place: %w; remove %s by hand", err, file)
		}
		var absent []string
		if rf, err := labels.ReadRouteFile(content); err == nil {
			absent = rf.Services
		}
		if _, err := s.Traefik.WaitApplied(ctx, traefik.Expectation{Absent: absent, Marker: marker}, s.cfg.FlipTimeout); err != nil {
			return "", true, fmt.Errorf("the file was removed (there was none before), but Traefik did not show that either: %w", err)
		}
		return "the file was removed (there was none before) and Traefik shows it gone", true, nil
	}
	rf, readErr := labels.ReadRouteFile(w.previous)
	restamped, stampErr := labels.Stamp(w.previous, key, labels.NextGeneration(failed, time.Now()))
	if readErr != nil || stampErr != nil {
		// Not a file dswap can read: put it back byte for byte; there is
		// nothing to ask Traefik about.
		if err := s.Routes.Write(key, w.previous); err != nil {
			return "", false, fmt.Errorf("putting back the file it replaced failed, so the unconfirmed file is still in place: %w", err)
		}
		return "the file it replaced was put back as it was (dswap cannot read it, so Traefik was not asked whether it shows it)", true, nil
	}
	if err := s.Routes.Write(key, restamped); err != nil {
		return "", false, fmt.Errorf("putting back the file it replaced failed, so the unconfirmed file is still in place: %w", err)
	}
	exp := traefik.Expectation{Servers: rf.Servers, Marker: marker, Generation: int64(labels.GenerationOf(restamped))}
	if _, err := s.Traefik.WaitApplied(ctx, exp, s.cfg.FlipTimeout); err != nil {
		return "", true, fmt.Errorf("the file it replaced was put back, but Traefik did not show it either: %w", err)
	}
	return "the file it replaced was put back and Traefik shows it", true, nil
}

// removeRoute removes the service's route file and waits until Traefik no
// longer shows it (its services and its generation marker gone). If
// Traefik does not confirm, the file is written back.
func (s *Swapper) removeRoute(ctx context.Context, key string, services []string) error {
	current, ok, err := s.Routes.Read(key)
	if err != nil {
		return err
	}
	if err := s.Routes.Remove(key); err != nil {
		return err
	}
	_, err = s.Traefik.WaitApplied(ctx, traefik.Expectation{Absent: services, Marker: labels.GenerationMarker(key)}, s.cfg.FlipTimeout)
	if err == nil || !ok {
		return err
	}
	cause := fmt.Errorf("removing route file %s: %w", s.Routes.FileFor(key), err)
	restamped, stampErr := labels.Stamp(current, key, labels.NextGeneration(labels.GenerationOf(current), time.Now()))
	if stampErr != nil {
		restamped = current
	}
	if werr := s.Routes.Write(key, restamped); werr != nil {
		return errors.Join(cause, fmt.Errorf("writing it back failed too: %w", werr))
	}
	return fmt.Errorf("%w; the file was written back", cause)
}
