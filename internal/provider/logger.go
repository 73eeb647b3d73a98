package provider

import (
	"context"

	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/onesbuild/terraform-provider-onesbuild/internal/build"
)

// kanikoSubsystem carries the executor's own output, so TF_LOG_PROVIDER_ONESBUILD_KANIKO=INFO
// shows just the build log.
const kanikoSubsystem = "kaniko"

// tflogLogger adapts the engine's Logger to tflog.
type tflogLogger struct{ ctx context.Context }

var _ build.Logger = tflogLogger{}

func (l tflogLogger) Step(msg string, keyvals ...any) {
	fields := map[string]any{}
	for i := 0; i+1 < len(keyvals); i += 2 {
		if k, ok := keyvals[i].(string); ok {
			fields[k] = keyvals[i+1]
		}
	}
	tflog.Info(l.ctx, msg, fields)
}

func (l tflogLogger) Output(line string) {
	tflog.SubsystemInfo(l.ctx, kanikoSubsystem, line)
}
