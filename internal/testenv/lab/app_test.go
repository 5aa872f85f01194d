package lab

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestBuildAppValidates checks the errors BuildApp returns before it
// touches the Engine or the go command; image builds themselves are
// covered by TestAppsOnEngine.
func TestBuildAppValidates(t *testing.T) {
	l := &Lab{Prefix: "p"}
	tests := []struct {
		name    string
		img     AppImage
		wantErr string
	}{
		{name: "no tag", img: AppImage{Version: "v1"}, wantErr: "AppImage.Tag is required"},
		{name: "no version", img: AppImage{Tag: "p-app:v1"}, wantErr: "AppImage.Version is required"},
		{name: "bad env", img: AppImage{Tag: "p-app:v1", Version: "v1", Env: map[string]string{"1X": "y"}}, wantErr: "not a valid variable name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.ErrorContains(t, l.BuildApp(context.Background(), tt.img), tt.wantErr)
		})
	}
}
