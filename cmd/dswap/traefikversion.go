package main

import (
	"context"
	"log/slog"

	"github.com/dswap-dev/dswap/labels"
)

// versionReader is the part of traefik.API that reports Traefik's release.
type versionReader interface {
	Version(ctx context.Context) (string, error)
}

// traefikVersion decides which Traefik release labels are checked against.
// An explicit --traefik-version (DSWAP_TRAEFIK_VERSION) wins: it is the way
// to name the release of a Traefik that has no API or reports none (a build
// from source says "dev"). Otherwise the API's /api/version answers. With
// neither, the zero version stands for the newest release dswap knows
// (v3.6), and the log says so, because a v2 Traefik would then reject
// v3-only fields that dswap let through.
func traefikVersion(ctx context.Context, given given, api versionReader, log *slog.Logger) (labels.TraefikVersion, error) {
	if given.set {
		v, err := labels.ParseTraefikVersion(given.text)
		if err != nil {
			return labels.TraefikVersion{}, usagef("%s: %v", given.source, err)
		}
		if api != nil {
			if reported, err := api.Version(ctx); err == nil {
				if r, err := labels.ParseTraefikVersion(reported); err == nil && (r.Major != v.Major || r.Minor != v.Minor) {
					log.Warn("Traefik reports another version than the one given; labels are checked for the one given", "given", v.String(), "reported", reported)
				}
			}
		}
		return v, nil
	}
	if api == nil {
		log.Info("no Traefik API to read its version from: labels are checked for the newest Traefik dswap knows; pass --traefik-version (DSWAP_TRAEFIK_VERSION) for another")
		return labels.TraefikVersion{}, nil
	}
	reported, err := api.Version(ctx)
	if err != nil {
		log.Warn("could not read Traefik's version: labels are checked for the newest Traefik dswap knows; pass --traefik-version (DSWAP_TRAEFIK_VERSION) for another", "error", err)
		return labels.TraefikVersion{}, nil
	}
	v, err := labels.ParseTraefikVersion(reported)
	if err != nil {
		log.Warn("Traefik reports no release version (a build from source says dev): labels are checked for the newest Traefik dswap knows; pass --traefik-version (DSWAP_TRAEFIK_VERSION) for another", "reported", reported)
		return labels.TraefikVersion{}, nil
	}
	log.Debug("Traefik version", "version", v.String())
	return v, nil
}
