package main

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/dswap-dev/dswap/swap"
)

func newStatusCommand(stdout, stderr io.Writer) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "status [SERVICE]",
		Short: "Show dswap-managed services, what Traefik routes to, and interrupted swaps",
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) > 1 {
				return usagef("dswap status takes at most one SERVICE, got %d", len(args))
			}
			service := ""
			if len(args) == 1 {
				service = args[0]
			}
			return runStatus(cmd, service, stdout, stderr)
		},
	}
	connectionFlags(cmd.Flags())
	return cmd
}

// statusJSON is one service in `dswap status --output json`.
type statusJSON struct {
	Service     string            `json:"service"`
	RouteFile   string            `json:"route_file"`
	Routed      []string          `json:"routed"`
	Containers  []containerStatus `json:"containers"`
	Interrupted string            `json:"interrupted,omitempty"`
}

type containerStatus struct {
	Name    string `json:"name"`
	Image   string `json:"image"`
	ImageID string `json:"image_id"`
	State   string `json:"state"`
	Health  string `json:"health,omitempty"`
	Routed  bool   `json:"routed"`
}

func runStatus(cmd *cobra.Command, service string, stdout, stderr io.Writer) error {
	fs := cmd.Flags()
	format, _ := layeredString(fs, "output")
	log, err := newLogger(format, stderr, time.Now())
	if err != nil {
		return err
	}
	env, err := setup(cmd.Context(), fs, log)
	if err != nil {
		return err
	}
	defer env.close()
	statuses, err := swap.New(env.deps).StatusOf(cmd.Context(), service)
	if err != nil {
		return err
	}
	var out []statusJSON
	for _, st := range statuses {
		sj := statusJSON{Service: st.Service, RouteFile: st.RouteFile, Routed: st.Routed}
		routed := map[string]bool{}
		for _, c := range st.Damage.Routed {
			routed[c.ID] = true
		}
		for _, c := range st.Containers {
			sj.Containers = append(sj.Containers, containerStatus{Name: c.Name, Image: c.Image, ImageID: shortID(c.ImageID), State: c.State.Status, Health: c.State.Health, Routed: routed[c.ID]})
		}
		if st.Damage.Interrupted() {
			sj.Interrupted = st.Damage.String() + "; the next dswap up or sync of this service finishes it"
		} else if st.Damage.NoRoute {
			sj.Interrupted = "not routed by dswap yet; run dswap sync " + st.Service
		}
		out = append(out, sj)
	}
	if format == "json" {
		return json.NewEncoder(stdout).Encode(out)
	}
	if len(out) == 0 {
		fmt.Fprintln(stdout, "no dswap-managed services (label containers with dswap.enable=true or dswap.service=NAME)")
		return nil
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SERVICE\tCONTAINER\tIMAGE\tSTATE\tHEALTH\tROUTED")
	for _, s := range out {
		slices.SortFunc(s.Containers, func(a, b containerStatus) int { return strings.Compare(a.Name, b.Name) })
		for _, c := range s.Containers {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", s.Service, c.Name, c.Image, c.State, dash(c.Health), yesNo(c.Routed))
		}
		if s.Interrupted != "" {
			fmt.Fprintf(tw, "%s\t! %s\t\t\t\t\n", s.Service, s.Interrupted)
		}
	}
	return tw.Flush()
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}
