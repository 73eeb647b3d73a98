// Command terraform-provider-onesbuild serves the onesbuild Terraform
// provider over the plugin protocol.
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"os"
	"runtime/debug"
	"runtime/pprof"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework/providerserver"

	"github.com/onesbuild/terraform-provider-onesbuild/internal/provider"
)

// version is set by the release build with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	var debugMode bool
	flag.BoolVar(&debugMode, "debug", false, "run the provider with support for debuggers like delve")
	flag.Parse()

	if !debugMode {
		for name, value := range silencedLogs(os.Environ()) {
			_ = os.Setenv(name, value)
		}
	}
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(planGCPercent)
	}

	if err := serve(debugMode); err != nil {
		log.Fatal(err)
	}
}

func serve(debugMode bool) error {
	if path := os.Getenv("ONESBUILD_CPU_PROFILE"); path != "" {
		stop := startCPUProfile(path)
		defer stop()
	}
	return providerserver.Serve(context.Background(), provider.New(version), providerserver.ServeOpts{
		Address: "registry.terraform.io/onesbuild/onesbuild",
		Debug:   debugMode,
	})
}

// startCPUProfile profiles this process into path.<pid> (Terraform starts
// the provider several times per command) until the returned function
// runs. It is how the benchmark's plan times were taken apart.
func startCPUProfile(path string) (stop func()) {
	f, err := os.Create(fmt.Sprintf("%s.%d", path, os.Getpid()))
	if err != nil {
		log.Printf("ONESBUILD_CPU_PROFILE: %v", err)
		return func() {}
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		log.Printf("ONESBUILD_CPU_PROFILE: %v", err)
		_ = f.Close()
		return func() {}
	}
	return func() {
		pprof.StopCPUProfile()
		_ = f.Close()
	}
}

// sdkLogLevels are the variables that set the plugin SDK's and the
// framework's log levels, and the provider's own (named after its type,
// with its Kaniko subsystem's).
var sdkLogLevels = []string{"TF_LOG_SDK", "TF_LOG_SDK_PROTO", "TF_LOG_SDK_FRAMEWORK", "TF_LOG_PROVIDER",
	"TF_LOG_PROVIDER_ONESBUILD", "TF_LOG_PROVIDER_ONESBUILD_KANIKO"}

// silencedLogs is the environment that turns the plugin's logs off when
// the CLI would throw them away. Unless told otherwise the SDK logs every
// request at trace level and the CLI filters them by TF_LOG: encoding
// lines nobody reads was a third of the provider's CPU in a plan of a
// hundred images (the benchmark's monorepo). Any TF_LOG variable means
// someone reads them, and nothing changes; on Windows, where names are
// not case-sensitive, in any case.
func silencedLogs(environ []string) map[string]string {
	for _, kv := range environ {
		name, value, _ := strings.Cut(kv, "=")
		name = strings.ToUpper(name)
		if strings.HasPrefix(name, "TF_LOG") && name != "TF_LOG_PATH" && value != "" {
			return nil
		}
	}
	off := make(map[string]string, len(sdkLogLevels))
	for _, name := range sdkLogLevels {
		off[name] = "off"
	}
	return off
}

// planGCPercent trades memory for CPU: a plan allocates a great deal of
// short-lived garbage per resource in the framework's schema walks and
// little that lives, so collecting at five times the live heap instead of
// twice cut a hundred-image plan's time by a fifth (the benchmark's
// monorepo). GOGC set by the user wins.
const planGCPercent = 400
