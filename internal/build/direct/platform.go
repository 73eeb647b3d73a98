package direct

import (
	"context"
	"fmt"
	"strings"

	"github.com/onesbuild/terraform-provider-onesbuild/internal/build"
)

// platformArgs are the predefined build arguments Kaniko derives from the
// target platform (TARGET*) and from the platform it runs on (BUILD*).
var platformArgs = map[string]bool{
	"TARGETPLATFORM": true, "TARGETOS": true, "TARGETARCH": true, "TARGETVARIANT": true, "TARGETOSVERSION": true,
	"BUILDPLATFORM": true, "BUILDOS": true, "BUILDARCH": true, "BUILDVARIANT": true, "BUILDOSVERSION": true,
}

// platforms is what a direct build knows of the platforms Kaniko would
// use: the target (--custom-platform, else the node the pod lands on)
// and the platform Kaniko runs on. An empty field is unknown, and
// unknown says why.
type platforms struct {
	target, build string
	unknown       string
}

// platformsFor decides the platforms as Kaniko would: the spec's
// platform is the target; the nodes a build pod of the spec could be
// scheduled on give the build platform, and the target too when the spec
// names none, as long as they all agree. Never the platform of the
// machine running this code.
func (e *Executor) platformsFor(ctx context.Context, spec build.Spec) platforms {
	p := platforms{target: spec.Platform}
	var nodes []string
	var err error
	if e.Nodes == nil {
		err = fmt.Errorf("no cluster is configured to read them from")
	} else {
		nodes, err = e.Nodes.Platforms(ctx, spec.Pod.NodeSelector, spec.Pod.Tolerations)
	}
	switch {
	case err != nil:
		p.unknown = "the platform of the nodes the build pod could run on is unknown: " + err.Error()
	case len(nodes) == 0:
		p.unknown = "no node matches the build pod's node selector and tolerations"
	case len(nodes) > 1:
		p.unknown = "the nodes the build pod could run on have different platforms (" + strings.Join(nodes, ", ") + ")"
	default:
		p.build = nodes[0]
		if p.target == "" {
			p.target = nodes[0]
		}
	}
	if p.build == "" && p.target != "" && p.unknown == "" {
		p.build = p.target
	}
	return p
}

// platformFailure is a build that cannot know its platform: direct
// builds ask for platform, auto builds go to Kaniko, whose pod has one.
func platformFailure(why, need string) error {
	return &build.Failure{Reason: build.ReasonPlatform,
		Message: need + ", and " + why + "; set the build's platform (for example linux/amd64), or build with Kaniko, which uses the platform of the node it runs on"}
}

// requirePlatforms fails when the Dockerfile reads a predefined platform
// argument Kaniko would set from a platform this build cannot know.
func (p platforms) require(plan *Plan) error {
	for _, name := range plan.platformArgs {
		if strings.HasPrefix(name, "TARGET") && p.target == "" || strings.HasPrefix(name, "BUILD") && p.build == "" {
			return platformFailure(p.unknown, "the Dockerfile declares ARG "+name)
		}
	}
	return nil
}

// predefinedArgs are Kaniko's values for the platform arguments.
func (p platforms) predefinedArgs() map[string]string { return build.PlatformArgs(p.target, p.build) }
