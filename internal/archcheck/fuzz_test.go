package archcheck

import (
	"bytes"
	"errors"
	"testing"
)

// FuzzIdentify checks that Identify never panics, that it reads no more
// than the first 64 bytes of a file without an executable's magic, and
// that what it returns can be described and checked. The seeds are the
// handmade headers of TestIdentify.
func FuzzIdentify(f *testing.F) {
	for _, c := range identifyCases() {
		f.Add(c.file)
	}
	f.Fuzz(func(t *testing.T, file []byte) {
		r := &countingReader{r: bytes.NewReader(file)}
		b, err := Identify(r, int64(len(file)))
		if err != nil {
			// A bytes.Reader of the stated size never fails a read.
			if b != nil || !errors.Is(err, ErrMalformed) {
				t.Fatalf("Identify = %v, %v; want nil and ErrMalformed", b, err)
			}
			return
		}
		if !hasMagic(file) && r.end > headSize {
			t.Fatalf("read up to byte %d of a file with no executable's magic", r.end)
		}
		if b == nil {
			return
		}
		checkBinary(t, b, false)
		_, _ = b.String(), b.Platform()
		for _, p := range []string{"linux/amd64", "linux/arm/v6", "darwin/arm64", "windows/amd64"} {
			if err := Check(b, p); err != nil {
				var m *MismatchError
				if !errors.As(err, &m) {
					t.Fatalf("Check(%s) = %v, want nil or a *MismatchError", p, err)
				}
				_, _ = m.Error(), m.Fix()
			}
		}
	})
}

func hasMagic(file []byte) bool {
	return bytes.HasPrefix(file, []byte("\x7fELF")) || bytes.HasPrefix(file, []byte("MZ")) || len(file) >= 4 && isMachO(file)
}

// checkBinary checks that b's fields hold values the package documents.
func checkBinary(t *testing.T, b *Binary, slice bool) {
	t.Helper()
	switch {
	case b.Format != FormatELF && b.Format != FormatMachO && b.Format != FormatPE:
		t.Fatalf("Format %q", b.Format)
	case len(b.Slices) > 0:
		if slice || b.Format != FormatMachO || b.Arch != "" || b.Class != 0 {
			t.Fatalf("a universal file %+v", b)
		}
		for _, s := range b.Slices {
			checkBinary(t, s, true)
		}
	case b.Class != 32 && b.Class != 64, b.ByteOrder != LittleEndian && b.ByteOrder != BigEndian:
		t.Fatalf("Class %d, ByteOrder %q", b.Class, b.ByteOrder)
	case b.Variant != "" && b.Arch != "arm" && b.Arch != "armbe":
		t.Fatalf("Variant %q of %q", b.Variant, b.Arch)
	}
}
