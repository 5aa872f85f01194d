package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"syscall"

	"github.com/dswap-dev/dswap/internal/testenv/lab"
)

func main() {
	n, _ := strconv.Atoi(os.Args[1])
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	s, err := lab.StartSwarm(ctx, lab.SwarmOptions{Nodes: n, TraefikBin: lab.TraefikBinFromEnv(), SwarmProvider: len(os.Args) > 2, Log: os.Stderr})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	defer s.Close()
	for _, v := range []string{"v1", "v2"} {
		if err := s.BuildApp(ctx, lab.AppImage{Tag: "shopapp:" + v, Version: v}); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return
		}
	}
	fmt.Printf("MGR=%s NET=%s API=%s ENTRY=%s ROUTES=%s\n", s.Manager.Socket, s.Network, s.TraefikAPI, s.Entry, s.RoutesDir)
	<-ctx.Done()
}
