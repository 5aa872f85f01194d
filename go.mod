module github.com/dswap-dev/dswap

go 1.25.0

require (
	github.com/docker/docker v28.5.2+incompatible // indirect
	github.com/docker/go-connections v0.6.0 // indirect
	github.com/inconshreveable/mousetrap v1.1.0 // indirect
	github.com/spf13/cobra v1.10.1 // indirect
	github.com/spf13/pflag v1.0.9 // indirect
	github.com/stretchr/testify v1.11.1 // indirect
	github.com/traefik/paerser v0.2.2 // indirect
	gopkg.in/yaml.v3 v3.0.1 // indirect
)
