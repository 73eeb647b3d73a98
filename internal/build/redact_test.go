package build

import (
	"net/url"
	"strings"
	"testing"
)

func TestURLHasCredentials(t *testing.T) {
	for raw, want := range map[string]bool{
		"https://user:token@git.example.com/app.git":      true,
		"https://token@git.example.com/app.git":           true,
		"https://user:ab#cd@host/ctx.tar.gz":              true, // "#" in the password: no parse finds the user
		"git://user:p/w@host/app.git":                     true, // "/" in the password
		"https://user:%zz@host/x":                         true, // a bad escape
		"https://user:1234/hunter2@host/ctx.tar.gz":       true, // a parser's host:port, the writer's password
		"https://u:p\n@host/x":                            true,
		"HTTPS://user:pass@host/x":                        true,
		"https://host:8443/@scope/pkg.tgz":                false,
		"https://registry.example.com/@scope/pkg.tgz":     false,
		"s3://bucket/ctx@2026.tar.gz":                     false,
		"git://github.com/example/app.git#refs/heads/a@b": false,
		"https://host/ctx.tar.gz?X-Amz-Signature=abc":     false,
	} {
		if got := URLHasCredentials(raw); got != want {
			t.Errorf("URLHasCredentials(%q) = %v, want %v", raw, got, want)
		}
	}
}

func TestRedactURL(t *testing.T) {
	for in, want := range map[string]string{
		"https://user:token@git.example.com/app.git#refs/heads/main":                        "https://git.example.com/app.git",
		"https://bucket.s3.amazonaws.com/ctx.tar.gz?X-Amz-Signature=abc&X-Amz-Credential=k": "https://bucket.s3.amazonaws.com/ctx.tar.gz",
		"git://github.com/example/app.git#main":                                             "git://github.com/example/app.git",
		"s3://bucket/ctx.tar.gz":                                                            "s3://bucket/ctx.tar.gz",
		"git://tok@github.com/x.git":                                                        "git://github.com/x.git",
		"https://host/x.tar.gz#token=s3cr3t":                                                "https://host/x.tar.gz",
		"https://user:ab#cd@host/ctx.tar.gz":                                                "https://host/ctx.tar.gz",
		"git://user:p/w@host/app.git":                                                       "git://host/app.git",
		"https://user:%zz@host/x?sig=1":                                                     "https://host/x",
		"not a url user:pw@host?sig=1":                                                      "host",
		"https://user:1234/hunter2@host/ctx.tar.gz":                                         "https://host/ctx.tar.gz",
	} {
		if got := RedactURL(in); got != want {
			t.Errorf("RedactURL(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestURLRedactor(t *testing.T) {
	raw := "https://bucket.example.com/ctx.tar.gz?X-Amz-Signature=deadbeef&X-Amz-Credential=AKIA"
	redact := URLRedactor(raw)
	for _, line := range []string{
		"error building image: getting context: GET " + raw + ": 403 Forbidden",
		`Get "https://bucket.example.com/ctx.tar.gz?X-Amz-Signature=deadbeef&X-Amz-Credential=AKIA": EOF`,
		"signature X-Amz-Signature=deadbeef&X-Amz-Credential=AKIA was refused",
		// Reordered, alone, or the whole URL escaped into another's query.
		"downloading https://bucket.example.com/ctx.tar.gz?X-Amz-Credential=AKIA&X-Amz-Signature=deadbeef",
		"X-Amz-Signature=deadbeef",
		"url: " + url.QueryEscape(raw),
	} {
		if got := redact(line); strings.Contains(got, "deadbeef") || strings.Contains(got, "AKIA") {
			t.Errorf("redacted line still holds the secret: %s", got)
		}
	}
	if got := redact("unrelated line"); got != "unrelated line" {
		t.Errorf("an unrelated line changed: %s", got)
	}
}
