package dockerfile

import "testing"

func TestFinalCopies(t *testing.T) {
	df := "FROM golang AS build\nCOPY src /src\nFROM b\nARG TARGETARCH\nARG DIR=opt\nENV SUB=app\nCOPY bin/${TARGETARCH}/main /usr/local/bin/\nCOPY /$DIR/$SUB/*.so /lib/\nCOPY --from=build /x /x\nADD https://example.com/x /x\nCOPY . /all\n"
	copies := FinalCopies([]byte(df), nil, map[string]string{"TARGETARCH": "arm64"}, "")
	if len(copies) != 3 {
		t.Fatalf("copies = %+v", copies)
	}
	if got := copies[0].Sources[0]; got != "bin/arm64/main" || copies[0].Line != 7 {
		t.Errorf("first copy %+v", copies[0])
	}
	if got := copies[1].Sources[0]; got != "opt/app/*.so" {
		t.Errorf("second copy sources %v", copies[1].Sources)
	}
	for p, want := range map[string]bool{"bin/arm64/main": true, "bin/amd64/main": false, "opt/app/x.so": true, "opt/app/sub/x.so": false, "opt/app/lib.so/inner": true, "src/main.go": false} {
		got := copies[0].Copies(p) || copies[1].Copies(p)
		if got != want {
			t.Errorf("copied(%s) = %v, want %v", p, got, want)
		}
	}
	if !copies[2].Copies("anything/at/all") {
		t.Error("COPY . copies everything")
	}
	if build := FinalCopies([]byte(df), map[string]string{"DIR": "srv"}, nil, "build"); len(build) != 1 || build[0].Sources[0] != "src" {
		t.Errorf("target build: %+v", build)
	}
}
