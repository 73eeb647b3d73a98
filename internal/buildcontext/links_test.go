package buildcontext

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// linkContext is a context directory with the links a check must tell
// apart: out of the context (absolute, relative, through another link),
// inside it, dangling, looping, and excluded by the ignore file.
func linkContext(t *testing.T) string {
	t.Helper()
	root := writeTree(t, map[string]string{
		"Dockerfile":       "FROM scratch\n",
		".dockerignore":    "ignored-creds\n",
		"conf/app.yaml":    "a",
		"venv/lib/site.py": "s",
		"data/file":        "d",
	})
	for link, target := range map[string]string{
		"creds":           "/kaniko/.docker",
		"up":              "../.docker",
		"deep/up":         "../../x",
		"via":             "creds",
		"conf-link":       "conf",
		"dotdot":          "conf/../conf",
		"venv/bin/python": "/usr/bin/python3",
		"venv/lib64":      "lib",
		"dangling":        "nothing/here",
		"loop":            "loop",
		"ignored-creds":   "/kaniko/.docker",
		"self":            ".",
		"file-as-dir":     "data/file/x",
	} {
		full := filepath.Join(root, filepath.FromSlash(link))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(target, full); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

func TestCheckSourceThroughLinks(t *testing.T) {
	root := linkContext(t)
	src := Source{Dir: root}
	snap, err := src.Snapshot(context.Background(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer snap.Remove()
	planTree, err := src.Tree()
	if err != nil {
		t.Fatal(err)
	}
	snapTree, err := snap.Tree()
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		src        string
		followLast bool   // ADD
		link       string // "": no error
		target     string
	}{
		{src: "creds/config.json", link: "creds", target: "/kaniko/.docker"},
		{src: "/creds/config.json", link: "creds", target: "/kaniko/.docker"},
		{src: "creds/", link: "creds", target: "/kaniko/.docker"},
		{src: "creds"},
		{src: "creds", followLast: true, link: "creds", target: "/kaniko/.docker"},
		{src: "up/config.json", link: "up", target: "../.docker"},
		{src: "deep/up/y", link: "deep/up", target: "../../x"},
		{src: "via/config.json", link: "creds", target: "/kaniko/.docker"},
		{src: "cr*/config.json", link: "creds", target: "/kaniko/.docker"},
		{src: "*/*.json", link: "creds", target: "/kaniko/.docker"},
		{src: "c?eds/", link: "creds", target: "/kaniko/.docker"},
		{src: "conf-link/app.yaml"},
		{src: "dotdot/app.yaml"},
		{src: "self/self/conf/app.yaml"},
		{src: "self/creds/x", link: "creds", target: "/kaniko/.docker"},
		{src: "venv/"},
		{src: "venv/bin/python"},
		{src: "venv/bin/*"},
		{src: "venv/lib64/site.py"},
		{src: "venv/bin/python/x", link: "venv/bin/python", target: "/usr/bin/python3"},
		{src: "dangling/x"},
		{src: "loop/x"},
		{src: "file-as-dir/y"},
		{src: "missing/x"},
		{src: "ignored-creds/config.json"},
		{src: "."},
		{src: "*"},
		{src: "conf/app.yaml", followLast: true},
	} {
		for name, tree := range map[string]*Tree{"plan": planTree, "snapshot": snapTree} {
			err := tree.CheckSource(tt.src, tt.followLast)
			var out *OutsideLinkError
			switch {
			case tt.link == "" && err != nil:
				t.Errorf("%s: %s: err = %v", name, tt.src, err)
			case tt.link != "" && (!errors.As(err, &out) || out.Link != tt.link || out.Target != tt.target || out.Source != tt.src):
				t.Errorf("%s: %s: err = %v, want the link %s -> %s", name, tt.src, err, tt.link, tt.target)
			}
		}
	}
}

func TestTreeOfContextFiles(t *testing.T) {
	tree, err := Source{Files: map[string]string{"Dockerfile": "FROM b", "a/b": "x"}}.Tree()
	if err != nil {
		t.Fatal(err)
	}
	for _, src := range []string{"a/b", "a/", "*/*", "missing/x"} {
		if err := tree.CheckSource(src, true); err != nil {
			t.Errorf("%s: %v", src, err)
		}
	}
}
