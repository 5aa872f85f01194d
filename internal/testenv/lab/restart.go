package lab

import (
	"context"
	"fmt"

	"github.com/docker/docker/api/types/container"
)

// RestartTraefik restarts the Traefik container, as an operator or a
// daemon restart would, and waits until its API answers again. Docker may
// give the published ports new host ports, so WebURL and APIURL are read
// again; callers must not keep the old ones.
func (l *Lab) RestartTraefik(ctx context.Context) error {
	timeout := 5
	if err := l.Docker.ContainerRestart(ctx, l.TraefikID, container.StopOptions{Timeout: &timeout}); err != nil {
		return fmt.Errorf("restarting traefik %s: %w", l.TraefikName, err)
	}
	inspect, err := l.Docker.ContainerInspect(ctx, l.TraefikID)
	if err != nil {
		return fmt.Errorf("inspecting traefik %s after restart: %w", l.TraefikName, err)
	}
	if inspect.NetworkSettings == nil {
		return fmt.Errorf("traefik %s has no network settings after restart", l.TraefikName)
	}
	web, err := hostPort(inspect.NetworkSettings.Ports, webPort, l.publishIP)
	if err != nil {
		return err
	}
	api, err := hostPort(inspect.NetworkSettings.Ports, apiPort, l.publishIP)
	if err != nil {
		return err
	}
	l.WebURL, l.APIURL = "http://"+l.publishIP+":"+web, "http://"+l.publishIP+":"+api
	waitCtx, cancel := context.WithTimeout(ctx, traefikReadyTimeout)
	defer cancel()
	if err := l.waitTraefikReady(waitCtx); err != nil {
		return fmt.Errorf("waiting for traefik %s after restart: %w\n%s", l.TraefikName, err, l.TraefikLogs(ctx, traefikLogTail))
	}
	l.logf("traefik %s restarted: web %s, api %s", l.TraefikName, l.WebURL, l.APIURL)
	return nil
}
