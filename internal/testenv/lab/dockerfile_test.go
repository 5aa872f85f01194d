package lab

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestDockerfileQuote(t *testing.T) {
	tests := []struct{ in, want string }{
		{in: "v1", want: `"v1"`},
		{in: "", want: `""`},
		{in: `a "b"`, want: `"a \"b\""`},
		{in: `$HOME\x`, want: `"\$HOME\\x"`},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, dockerfileQuote(tt.in), tt.in)
	}
}

func TestRenderAppDockerfile(t *testing.T) {
	tests := []struct {
		name string
		img  AppImage
		want string
	}{
		{
			name: "defaults",
			img:  AppImage{Tag: "p-app:v1", Version: "v1"},
			want: `FROM scratch
COPY testapp /testapp
ENV VERSION="v1"
EXPOSE 8080
HEALTHCHECK --interval=1s --timeout=2s --retries=3 CMD ["/testapp","health"]
LABEL "dswaplab"="p"
ENTRYPOINT ["/testapp"]
`,
		},
		{
			name: "everything",
			img: AppImage{
				Tag: "p-app:v2", Version: "v2",
				Env:               map[string]string{"READY_AFTER": "2s", "NEVER_HEALTHY": "1"},
				HealthInterval:    500 * time.Millisecond,
				HealthStartPeriod: 5 * time.Second,
				HealthRetries:     5,
				StopSignal:        "SIGINT",
				Labels:            map[string]string{"dswap.service": "web", "a": "b c"},
			},
			want: `FROM scratch
COPY testapp /testapp
ENV VERSION="v2"
ENV NEVER_HEALTHY="1"
ENV READY_AFTER="2s"
EXPOSE 8080
HEALTHCHECK --interval=500ms --timeout=2s --start-period=5s --retries=5 CMD ["/testapp","health"]
STOPSIGNAL SIGINT
LABEL "a"="b c"
LABEL "dswap.service"="web"
LABEL "dswaplab"="p"
ENTRYPOINT ["/testapp"]
`,
		},
		{
			name: "shell",
			img:  AppImage{Tag: "p-app:sh", Version: "v2", Shell: true},
			want: `FROM scratch
COPY testapp /testapp
COPY testapp /bin/sh
ENV VERSION="v2"
EXPOSE 8080
HEALTHCHECK --interval=1s --timeout=2s --retries=3 CMD ["/testapp","health"]
LABEL "dswaplab"="p"
CMD ["/testapp"]
`,
		},
		{
			name: "no healthcheck",
			img:  AppImage{Tag: "p-app:v3", Version: "v3", NoHealthcheck: true, HealthInterval: time.Minute},
			want: `FROM scratch
COPY testapp /testapp
ENV VERSION="v3"
EXPOSE 8080
LABEL "dswaplab"="p"
ENTRYPOINT ["/testapp"]
`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := renderAppDockerfile(tt.img, "p")
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestRenderAppDockerfileRejects(t *testing.T) {
	tests := []struct {
		name    string
		img     AppImage
		wantErr string
	}{
		{name: "bad env name", img: AppImage{Version: "v1", Env: map[string]string{"A-B": "1"}}, wantErr: "not a valid variable name"},
		{name: "VERSION in env", img: AppImage{Version: "v1", Env: map[string]string{"VERSION": "v2"}}, wantErr: "AppImage.Version"},
		{name: "multi-line env", img: AppImage{Version: "v1", Env: map[string]string{"A": "1\n2"}}, wantErr: "one line"},
		{name: "multi-line version", img: AppImage{Version: "v1\nv2"}, wantErr: "one line"},
		{name: "bad stop signal", img: AppImage{Version: "v1", StopSignal: "SIG INT"}, wantErr: "StopSignal"},
		{name: "lab label", img: AppImage{Version: "v1", Labels: map[string]string{LabelKey: "x"}}, wantErr: "set by the lab"},
		{name: "empty label name", img: AppImage{Version: "v1", Labels: map[string]string{"": "x"}}, wantErr: "label name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := renderAppDockerfile(tt.img, "p")
			require.ErrorContains(t, err, tt.wantErr)
		})
	}
}

func TestRenderTraefikDockerfile(t *testing.T) {
	got := renderTraefikDockerfile("abc123")
	assert.Contains(t, got, "FROM scratch\nCOPY traefik /traefik\n")
	assert.Contains(t, got, `LABEL "dswaplab.traefik-sha256"="abc123"`)
	assert.Contains(t, got, `ENTRYPOINT ["/traefik"]`)
	assert.NotContains(t, got, `"dswaplab"=`, "the shared traefik image must not carry a lab label")
}
