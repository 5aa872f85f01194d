package lab

import (
	"os"
	"slices"
)

// Traefik2BinEnv names the environment variable that points at a static
// Traefik v2.11 binary (scripts/tools.sh builds it from tools/traefik2).
const Traefik2BinEnv = "DSWAP_TRAEFIK2_BIN"

// Traefik2BinFromEnv returns $DSWAP_TRAEFIK2_BIN, or "" when it is unset.
// Callers decide whether a missing binary means skip or error.
func Traefik2BinFromEnv() string {
	return os.Getenv(Traefik2BinEnv)
}

// v3OnlyStaticFlags are flags of the lab's command line that Traefik v2's
// static configuration does not have; v2 refuses to start with them ("field
// not found, node: noColor"). v2 logs without colours when its output is not
// a terminal, which a container's is not.
var v3OnlyStaticFlags = []string{"--log.noColor=true"}

// traefikV2Args removes the flags Traefik v2 does not know from args.
func traefikV2Args(args []string) []string {
	return slices.DeleteFunc(slices.Clone(args), func(a string) bool {
		return slices.Contains(v3OnlyStaticFlags, a)
	})
}
