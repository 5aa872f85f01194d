package loadgen

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestWithDefaults(t *testing.T) {
	got, target, err := Options{URL: "http://127.0.0.1:8080/", MaxDuration: time.Second}.withDefaults()
	require.NoError(t, err)
	assert.Equal(t, "http://127.0.0.1:8080/", target)
	assert.Equal(t, DefaultClients, got.Clients)
	assert.Equal(t, DefaultMaxRequests, got.MaxRequests)
	assert.Equal(t, DefaultTimeout, got.Timeout)
	assert.Equal(t, DefaultHung, got.Hung)

	got, _, err = Options{URL: "http://localhost/", MaxDuration: time.Second, Clients: 3, MaxRequests: 7, Timeout: time.Second, Hung: time.Millisecond}.withDefaults()
	require.NoError(t, err)
	assert.Equal(t, Options{URL: "http://localhost/", MaxDuration: time.Second, Clients: 3, MaxRequests: 7, Timeout: time.Second, Hung: time.Millisecond}, got)
}

func TestWithDefaultsRejects(t *testing.T) {
	ok := Options{URL: "http://127.0.0.1:1/", MaxDuration: time.Second}
	tests := []struct {
		name    string
		mutate  func(*Options)
		wantErr string
	}{
		{name: "no duration bound", mutate: func(o *Options) { o.MaxDuration = 0 }, wantErr: "MaxDuration"},
		{name: "negative clients", mutate: func(o *Options) { o.Clients = -1 }, wantErr: "Clients"},
		{name: "too many clients", mutate: func(o *Options) { o.Clients = 5000 }, wantErr: "Clients"},
		{name: "negative max requests", mutate: func(o *Options) { o.MaxRequests = -1 }, wantErr: "MaxRequests"},
		{name: "negative timeout", mutate: func(o *Options) { o.Timeout = -time.Second }, wantErr: "Timeout"},
		{name: "negative hung", mutate: func(o *Options) { o.Hung = -time.Second }, wantErr: "Hung"},
		{name: "remote host", mutate: func(o *Options) { o.URL = "http://example.com/" }, wantErr: "host must be 127.0.0.1 or localhost"},
		{name: "private address", mutate: func(o *Options) { o.URL = "http://10.0.0.1/" }, wantErr: "host must be"},
		{name: "other loopback spelling", mutate: func(o *Options) { o.URL = "http://127.0.0.2/" }, wantErr: "host must be"},
		{name: "other scheme", mutate: func(o *Options) { o.URL = "ftp://127.0.0.1/" }, wantErr: "scheme"},
		{name: "unparsable", mutate: func(o *Options) { o.URL = "http://[::1" }, wantErr: "parsing URL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := ok
			tt.mutate(&o)
			_, _, err := o.withDefaults()
			require.ErrorContains(t, err, tt.wantErr)
		})
	}
}

func TestTargetURLQuery(t *testing.T) {
	tests := []struct {
		url, query, want string
	}{
		{url: "http://127.0.0.1:80/", query: "", want: "http://127.0.0.1:80/"},
		{url: "http://127.0.0.1:80/", query: "delay=3s", want: "http://127.0.0.1:80/?delay=3s"},
		{url: "http://127.0.0.1:80/", query: "?delay=3s", want: "http://127.0.0.1:80/?delay=3s"},
		{url: "http://localhost/x?a=1", query: "delay=3s", want: "http://localhost/x?a=1&delay=3s"},
	}
	for _, tt := range tests {
		got, err := targetURL(tt.url, tt.query)
		require.NoError(t, err)
		assert.Equal(t, tt.want, got)
	}
}
