package dockerfile

import (
	"errors"
	"strings"
	"testing"
)

func TestCheckSources(t *testing.T) {
	amd64 := map[string]string{"TARGETPLATFORM": "linux/amd64", "TARGETOS": "linux", "TARGETARCH": "amd64", "TARGETVARIANT": ""}
	bases := map[string]BaseConfig{
		"env-up":        {Env: []string{"UP=../.docker"}},
		"copy-trigger":  {OnBuild: []string{"COPY ../.docker/config.json /x"}},
		"env-trigger":   {Env: []string{"D=.."}, OnBuild: []string{"COPY $D/.docker/config.json /x"}},
		"split-trigger": {OnBuild: []string{`COPY a \`, "../.docker/config.json /x/"}},
		"safe-trigger":  {OnBuild: []string{"COPY app /app"}},
	}
	for _, tt := range []struct {
		name, dockerfile string
		args             map[string]string
		target           string
		predefined       []map[string]string
		wantLine         int // 0: no error
	}{
		{name: "inside", dockerfile: "FROM b\nCOPY app/ /app/\nCOPY ./a/../b /b\n"},
		{name: "absolute is the context root", dockerfile: "FROM b\nCOPY /conf/*.yaml /etc/\nCOPY /../x /x\n"},
		{name: "the registry credentials", dockerfile: "FROM b\nCOPY ../.docker/config.json /x\n", wantLine: 2},
		{name: "down and up", dockerfile: "FROM b\nWORKDIR /w\nCOPY a/../../b /b\n", wantLine: 3},
		{name: "ADD", dockerfile: "FROM b\nADD ../secret /s\n", wantLine: 2},
		{name: "through a build argument", dockerfile: "FROM b\nARG SRC=app\nCOPY $SRC /app\n", args: map[string]string{"SRC": "../../etc"}, wantLine: 3},
		{name: "through an ARG default", dockerfile: "ARG UP=..\nFROM b\nARG UP\nCOPY ${UP}/x /x\n", wantLine: 4},
		{name: "through ENV", dockerfile: "FROM b\nENV D=..\nCOPY $D/x /x\n", wantLine: 3},
		{name: "an escaped dot", dockerfile: "FROM b\nCOPY \\../x /x\n", wantLine: 2},
		{name: "quoted", dockerfile: "FROM b\nCOPY \"..\"/x /x\n", wantLine: 2},
		{name: "a single-quoted variable is not expanded", dockerfile: "FROM b\nENV D=..\nCOPY '$D'/x /x\n"},
		{name: "an escaped dollar is not expanded", dockerfile: "FROM b\nENV D=..\nCOPY \\$D/x /x\n"},
		{name: "the escape directive does not change expansion", dockerfile: "# escape=`\nFROM b\nCOPY \\../x /x\n", wantLine: 3},
		{name: "a URL", dockerfile: "FROM b\nADD https://example.com/../x /x\n"},
		{name: "not a Dockerfile", dockerfile: "FROM"},

		// Item 1: values expanded where they are declared.
		{name: "chained ENV", dockerfile: "FROM b\nENV A=..\nENV B=$A/.docker/config.json\nCOPY $B /x\n", wantLine: 4},
		{name: "chained ARG", dockerfile: "FROM b\nARG A=..\nARG B=$A/.docker/config.json\nCOPY $B /x\n", wantLine: 4},
		{name: "ARG from ENV", dockerfile: "FROM b\nENV A=..\nARG B=${A}/x\nCOPY $B /x\n", wantLine: 4},
		{name: "ENV shadows ARG", dockerfile: "FROM b\nARG D=..\nENV D=app\nCOPY $D/x /x\n"},
		{name: "ENV of one instruction sees the values before it", dockerfile: "FROM b\nENV A=.. B=$A/x\nCOPY $B /x\n"},
		{name: "ENV of one instruction, the value before it", dockerfile: "FROM b\nENV A=..\nENV A=app B=$A/x\nCOPY $B /x\n", wantLine: 4},
		{name: "an expanded ENV key", dockerfile: "FROM b\nENV K=D\nENV $K=..\nCOPY $D/x /x\n", wantLine: 4},
		{name: "a build argument over a chained default", dockerfile: "FROM b\nARG A=..\nARG B=$A/x\nCOPY $B /x\n", args: map[string]string{"B": "app"}},
		{name: "a build argument feeds a chain", dockerfile: "FROM b\nARG A=app\nARG B=$A/x\nCOPY $B /x\n", args: map[string]string{"A": ".."}, wantLine: 4},
		{name: "nested meta ARGs", dockerfile: "ARG A=..\nARG B=${A}/.docker/config.json\nFROM b\nARG B\nCOPY $B /x\n", wantLine: 5},
		{name: "a meta ARG from a build argument", dockerfile: "ARG A=app\nARG B=${A}/x\nFROM b\nARG B\nCOPY $B /x\n", args: map[string]string{"A": ".."}, wantLine: 5},
		{name: "meta ARG quotes are stripped before expanding", dockerfile: "ARG A=..\nARG B='$A/x'\nFROM b\nARG B\nCOPY $B /x\n", wantLine: 5},
		{name: "a meta ARG not declared in the stage", dockerfile: "ARG D=..\nFROM b\nCOPY $D/x /x\n"},
		{name: "a proxy argument is seen undeclared", dockerfile: "FROM b\nCOPY $HTTP_PROXY/x /x\n", args: map[string]string{"HTTP_PROXY": ".."}, wantLine: 2},
		{name: "a proxy meta ARG is seen undeclared", dockerfile: "ARG no_proxy=..\nFROM b\nCOPY ${no_proxy}/x /x\n", wantLine: 3},
		{name: "an undeclared build argument is not seen", dockerfile: "FROM b\nCOPY $D/x /x\n", args: map[string]string{"D": ".."}},
		{name: "a predefined argument", dockerfile: "FROM b\nARG TARGETOS\nCOPY $TARGETOS/../../x /x\n", predefined: []map[string]string{amd64}, wantLine: 3},
		{name: "a predefined argument not declared", dockerfile: "FROM b\nCOPY $TARGETOS/../../x /x\n", predefined: []map[string]string{amd64}},
		{name: "TARGETSTAGE", dockerfile: "FROM b AS app\nARG TARGETSTAGE\nCOPY $TARGETSTAGE/../../x /x\n", wantLine: 3},
		{name: "a pattern expansion", dockerfile: "FROM b\nARG A=../x.txt\nCOPY ${A%.txt} /x\n", wantLine: 3},
		{name: "a default expansion", dockerfile: "FROM b\nCOPY ${UNSET:-..}/x /x\n", wantLine: 2},

		// Item 2: the environment and ARGs of earlier stages.
		{name: "ENV of the stage built on", dockerfile: "FROM b AS a\nENV X=..\nFROM a\nCOPY $X/.docker/config.json /x\n", wantLine: 4},
		{name: "ENV of a stage two stages down", dockerfile: "FROM b AS a\nENV X=..\nFROM a AS m\nFROM m\nCOPY $X/x /x\n", wantLine: 5},
		{name: "ENV of a stage built on by a target", dockerfile: "FROM b AS a\nENV X=..\nFROM a AS t\nCOPY $X/x /x\nFROM b\n", target: "t", wantLine: 4},
		{name: "ENV of another stage is not inherited", dockerfile: "FROM b AS a\nENV X=..\nFROM b\nCOPY --from=a /y /y\nCOPY $X/x /x\n"},
		{name: "FROM through a meta ARG", dockerfile: "ARG BASE=a\nFROM b AS a\nENV X=..\nFROM ${BASE}\nCOPY $X/x /x\n", wantLine: 5},
		{name: "ARGs carry over to later stages", dockerfile: "FROM b AS one\nARG X=..\nFROM b\nCOPY --from=one /y /y\nCOPY $X/x /x\n", wantLine: 5},
		{name: "ARGs of a stage Kaniko skips", dockerfile: "FROM b AS one\nARG X=..\nFROM b\nCOPY $X/x /x\n", wantLine: 4},
		{name: "a merged base runs after the stages before its child", dockerfile: "FROM b AS a\nCOPY ${X:-app}/x /x\nFROM b AS c\nARG X=..\nFROM a\nCOPY --from=c /y /y\n", wantLine: 2},
		{name: "the base image's environment", dockerfile: "FROM env-up\nCOPY $UP/config.json /x\n", wantLine: 2},

		// Item 3: what only looks like a URL is a path.
		{name: "COPY joins a URL to the context", dockerfile: "FROM b\nCOPY a://b/../../../.docker/config.json /x\n", wantLine: 2},
		{name: "COPY of a URL that stays inside", dockerfile: "FROM b\nCOPY https://example.com/../../x /x\n"},
		{name: "git@ is a path for COPY", dockerfile: "FROM b\nCOPY git@x/../../.docker/config.json /x\n", wantLine: 2},
		{name: "git@ is a path for ADD", dockerfile: "FROM b\nADD git@x/../../.docker/config.json /x\n", wantLine: 2},
		{name: "ADD downloads a URL from a variable", dockerfile: "FROM b\nARG U=https://example.com\nADD $U/../../x /x\n"},
		{name: "a scheme without a host is a path", dockerfile: "FROM b\nADD file:///../../x /x\n", wantLine: 2},
		{name: "a URL without a scheme is a path", dockerfile: "FROM b\nADD //example.com/../../../x /x\n"},

		// Item 4: --from.
		{name: "--from a stage", dockerfile: "FROM b AS s\nFROM b\nCOPY --from=s ../../.docker/config.json /x\n", wantLine: 3},
		{name: "--from an image", dockerfile: "FROM b\nCOPY --from=busybox ../../.docker/config.json /x\n", wantLine: 2},
		{name: "--from a stage by index", dockerfile: "FROM b\nFROM b\nCOPY --from=0 ../x /x\n", wantLine: 3},
		{name: "--from inside", dockerfile: "FROM b AS s\nFROM b\nCOPY --from=s /etc/../x /x\nCOPY --from=s x/../y /y\n"},
		{name: "--from, the whole parent", dockerfile: "FROM b AS s\nFROM b\nCOPY --from=s ../x/.. /y\n", wantLine: 3},
		{name: "--from that climbs itself", dockerfile: "FROM b\nCOPY --from=../.. .docker/config.json /x\n", wantLine: 2},

		// Item 6: ONBUILD triggers.
		{name: "a stage's trigger", dockerfile: "FROM b AS a\nONBUILD COPY ../.docker/config.json /x\nFROM a\n", wantLine: 2},
		{name: "a stage's trigger with its child's ARG", dockerfile: "FROM b AS a\nARG D=..\nONBUILD COPY $D/x /x\nFROM a\n", wantLine: 3},
		{name: "a trigger no stage performs", dockerfile: "FROM b AS a\nONBUILD COPY ../x /x\nFROM b\n"},
		{name: "the base image's trigger", dockerfile: "FROM b AS s\nFROM copy-trigger\n", wantLine: 2},
		{name: "the base image's trigger with its environment", dockerfile: "FROM env-trigger\n", wantLine: 1},
		{name: "a trigger that continues into the next", dockerfile: "FROM split-trigger\n", wantLine: 1},
		{name: "a harmless trigger", dockerfile: "FROM safe-trigger\n"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckSources([]byte(tt.dockerfile), SourceOptions{BuildArgs: tt.args, Target: tt.target, Predefined: tt.predefined,
				Base: func(ref, _ string) (BaseConfig, bool) { c, ok := bases[ref]; return c, ok }})
			var esc *EscapeError
			switch {
			case tt.wantLine == 0 && err != nil:
				t.Fatalf("err = %v", err)
			case tt.wantLine != 0 && (!errors.As(err, &esc) || sourceLine(esc.Source) != tt.wantLine):
				t.Fatalf("err = %v, want an escape on line %d", err, tt.wantLine)
			}
		})
	}
}

func TestEscapeErrorNamesWhatLeaves(t *testing.T) {
	base := map[string]BaseConfig{"evil": {OnBuild: []string{"COPY ../x /x"}}}
	for df, want := range map[string]string{
		"FROM b\nENV D=..\nCOPY $D/c /x\n":                   "COPY on line 3: the source $D/c (../c once expanded) leaves the build context",
		"FROM b AS s\nFROM b\nCOPY --from=s ../c /x\n":       "COPY on line 3: the source ../c leaves the files of --from=s",
		"FROM b AS a\nONBUILD COPY ../c /x\nFROM a\n":        "COPY of the ONBUILD trigger on line 2 (of stage a, performed by the stages built on it): the source ../c leaves",
		"FROM b\nRUN true\nFROM evil\n":                      "COPY of an ONBUILD trigger of the base image evil (FROM on line 3): the source ../x leaves",
		"FROM b\nCOPY a://b/../../../.docker/config.json /x": "the source a://b/../../../.docker/config.json leaves the build context",
	} {
		err := CheckSources([]byte(df), SourceOptions{Base: func(ref, _ string) (BaseConfig, bool) { c, ok := base[ref]; return c, ok }})
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: err = %v, want %q", df, err, want)
		}
	}
}

func TestBases(t *testing.T) {
	df := "ARG V=1\nFROM golang:${V} AS build\nFROM build AS test\nFROM scratch AS empty\nFROM alpine\nCOPY --from=build /x /x\n"
	got := strings.Join(Bases([]byte(df), SourceOptions{BuildArgs: map[string]string{"V": "2"}}), " ")
	if got != "alpine golang:2" {
		t.Errorf("Bases = %q", got)
	}
}

func TestSourcesForLinks(t *testing.T) {
	df := "FROM b AS s\nFROM b\nARG D=conf\nCOPY $D/ /etc/\nCOPY --from=s /x /x\nADD https://example.com/a /a\nADD arch.tar /\n"
	var got []string
	for _, s := range Sources([]byte(df), SourceOptions{}) {
		got = append(got, s.Instruction+" "+s.From+" "+s.Path)
	}
	if strings.Join(got, ",") != "COPY  conf/,COPY s /x,ADD  arch.tar" {
		t.Errorf("Sources = %q", got)
	}
}

func TestHasRun(t *testing.T) {
	for df, want := range map[string]bool{
		"FROM b\nCOPY a /a\n": false,
		"FROM b\nRUN make\n":  true,
		"FROM golang AS build\nRUN go build\nFROM b\nCOPY --from=build /x /x\n": true,
		"FROM": false,
	} {
		if got := HasRun([]byte(df)); got != want {
			t.Errorf("HasRun(%q) = %v, want %v", df, got, want)
		}
	}
}
