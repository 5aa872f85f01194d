package traefik

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestAPIVersion(t *testing.T) {
	tests := []struct {
		name, body, want, wantErr string
		status                    int
	}{
		{name: "v2.11", body: `{"Version":"v2.11.53","Codename":"mimolette","startDate":"2026-07-24T10:00:00Z"}`, want: "v2.11.53"},
		{name: "v3", body: `{"Version":"3.6.10","Codename":"ramequin","startDate":"2026-03-06T10:00:00Z","disableDashboardAd":true}`, want: "3.6.10"},
		{name: "built without a version", body: `{"Version":"dev","Codename":"cheddar"}`, want: "dev"},
		{name: "no version", body: `{}`, wantErr: "answered no version"},
		{name: "not found", status: http.StatusNotFound, body: `404 page not found`, wantErr: "404"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path != "/api/version" {
					http.NotFound(w, r)
					return
				}
				if tc.status != 0 {
					w.WriteHeader(tc.status)
				}
				_, _ = w.Write([]byte(tc.body))
			}))
			defer srv.Close()
			api, err := NewAPI(srv.URL)
			require.NoError(t, err)
			got, err := api.Version(t.Context())
			if tc.wantErr != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tc.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
		})
	}
}
