package attest

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"sort"
	"strings"
	"time"

	cdx "github.com/CycloneDX/cyclonedx-go"
	spdxjson "github.com/spdx/tools-golang/json"
	"github.com/spdx/tools-golang/spdx/v2/common"
	spdx "github.com/spdx/tools-golang/spdx/v2/v2_3"
)

// SBOM formats, as the resource's sbom block names them.
const (
	FormatSPDX      = "spdx-json"
	FormatCycloneDX = "cyclonedx-json"
)

// Media types of the SBOM documents, which are also their artifact types.
const (
	MediaTypeSPDX      = "application/spdx+json"
	MediaTypeCycloneDX = "application/vnd.cyclonedx+json"
)

// Image names the image an SBOM or a provenance is about.
type Image struct {
	Repository string
	// Digest is the manifest's (the index's, for several platforms).
	Digest string
	// Created is the image's creation time from its config, the only
	// time the documents carry: a reproducible build's is fixed.
	Created time.Time
}

// Base is the image a build started from.
type Base struct {
	// Ref is the base as the Dockerfile's final stage names it.
	Ref    string
	Digest string
	// SBOM is the base's own SPDX document, when one is attached to it.
	SBOM *Document
}

// Document is an attached document the SBOM refers to.
type Document struct {
	// Namespace is an SPDX document's documentNamespace.
	Namespace string
	// SHA1 is the hex SHA-1 of its bytes, as SPDX references ask.
	SHA1 string
}

// SBOMInput is everything an SBOM says.
type SBOMInput struct {
	Image Image
	Base  *Base
	// Platforms holds one Contents per image: one for a single-platform
	// image, one per platform of an index.
	Platforms []Contents
	// Tool is the provider's name and version, the document's creator.
	Tool string
}

// SBOM writes the document of the format; the bytes are the same for the
// same input.
func SBOM(format string, in SBOMInput) ([]byte, string, error) {
	switch format {
	case FormatSPDX, "":
		raw, err := SPDX(in)
		return raw, MediaTypeSPDX, err
	case FormatCycloneDX:
		raw, err := CycloneDX(in)
		return raw, MediaTypeCycloneDX, err
	}
	return nil, "", fmt.Errorf("unknown SBOM format %q (want %s or %s)", format, FormatSPDX, FormatCycloneDX)
}

func noAssertion() string { return "NOASSERTION" }

// spdxID makes an SPDX element id, which allows letters, digits, '.' and
// '-', from a stable key.
func spdxID(kind, key string) common.ElementID {
	sum := sha256.Sum256([]byte(key))
	return common.ElementID(kind + "-" + hex.EncodeToString(sum[:8]))
}

// SPDX writes an SPDX 2.3 JSON document.
func SPDX(in SBOMInput) ([]byte, error) {
	ref := in.Image.Repository + "@" + in.Image.Digest
	doc := &spdx.Document{
		SPDXVersion:       spdx.Version,
		DataLicense:       spdx.DataLicense,
		SPDXIdentifier:    "DOCUMENT",
		DocumentName:      ref,
		DocumentNamespace: "https://onesbuild.invalid/spdx/" + ref,
		CreationInfo: &spdx.CreationInfo{
			Creators: []common.Creator{{CreatorType: "Tool", Creator: in.Tool}},
			Created:  in.Image.Created.UTC().Format(time.RFC3339),
		},
	}
	for _, c := range in.Platforms {
		if c.BaseUnknown {
			doc.DocumentComment = "The base image was not known or not readable when this was written: the files listed are every file of the image, not only those the build added."
		}
	}
	rel := func(a common.ElementID, kind string, b common.DocElementID) {
		doc.Relationships = append(doc.Relationships, &spdx.Relationship{RefA: common.MakeDocElementID("", string(a)), RefB: b, Relationship: kind})
	}
	local := func(id common.ElementID) common.DocElementID { return common.MakeDocElementID("", string(id)) }
	imageID := common.ElementID("Image")
	doc.Packages = append(doc.Packages, &spdx.Package{
		PackageName: in.Image.Repository, PackageSPDXIdentifier: imageID, PackageVersion: in.Image.Digest,
		PackageDownloadLocation: noAssertion(), PrimaryPackagePurpose: "CONTAINER",
		PackageChecksums:          []common.Checksum{{Algorithm: common.SHA256, Value: strings.TrimPrefix(in.Image.Digest, "sha256:")}},
		PackageExternalReferences: []*spdx.PackageExternalReference{{Category: "PACKAGE-MANAGER", RefType: "purl", Locator: ociPURL(in.Image.Repository, in.Image.Digest)}},
	})
	rel("DOCUMENT", "DESCRIBES", local(imageID))
	if b := in.Base; b != nil {
		baseID := common.ElementID("Base")
		doc.Packages = append(doc.Packages, &spdx.Package{
			PackageName: b.Ref, PackageSPDXIdentifier: baseID, PackageVersion: b.Digest,
			PackageDownloadLocation: noAssertion(), PrimaryPackagePurpose: "CONTAINER",
			PackageChecksums:          []common.Checksum{{Algorithm: common.SHA256, Value: strings.TrimPrefix(b.Digest, "sha256:")}},
			PackageExternalReferences: []*spdx.PackageExternalReference{{Category: "PACKAGE-MANAGER", RefType: "purl", Locator: ociPURL(repositoryOf(b.Ref), b.Digest)}},
		})
		rel(imageID, "DESCENDANT_OF", local(baseID))
		if b.SBOM != nil {
			doc.ExternalDocumentReferences = append(doc.ExternalDocumentReferences, spdx.ExternalDocumentRef{
				DocumentRefID: "Base", URI: b.SBOM.Namespace, Checksum: common.Checksum{Algorithm: common.SHA1, Value: b.SBOM.SHA1}})
			rel(baseID, "DESCRIBED_BY", common.MakeDocElementID("Base", "DOCUMENT"))
		}
	}
	seen := map[common.ElementID]bool{}
	addPackage := func(p *spdx.Package) common.ElementID {
		if !seen[p.PackageSPDXIdentifier] {
			seen[p.PackageSPDXIdentifier] = true
			doc.Packages = append(doc.Packages, p)
		}
		return p.PackageSPDXIdentifier
	}
	for _, c := range in.Platforms {
		owner := imageID
		if len(in.Platforms) > 1 {
			owner = spdxID("Platform", c.Platform)
			addPackage(&spdx.Package{PackageName: in.Image.Repository + " " + c.Platform, PackageSPDXIdentifier: owner,
				PackageDownloadLocation: noAssertion(), PrimaryPackagePurpose: "CONTAINER", PackageComment: "the image for " + c.Platform})
			rel(imageID, "CONTAINS", local(owner))
		}
		for _, f := range c.Files {
			id := spdxID("File", c.Platform+f.Path)
			file := &spdx.File{
				FileName: "." + f.Path, FileSPDXIdentifier: id,
				Checksums:         []common.Checksum{{Algorithm: common.SHA1, Value: f.SHA1}, {Algorithm: common.SHA256, Value: f.SHA256}},
				LicenseConcluded:  noAssertion(),
				FileCopyrightText: noAssertion(),
				FileComment:       fmt.Sprintf("mode %04o", f.Mode&0o7777),
			}
			if f.LinkTarget != "" {
				file.FileComment += ", symbolic link to " + f.LinkTarget
			}
			if f.Go != nil {
				file.FileTypes = []string{"BINARY"}
			}
			doc.Files = append(doc.Files, file)
			rel(owner, "CONTAINS", local(id))
			if f.Go != nil {
				for _, m := range append([]Module{f.Go.Main}, f.Go.Deps...) {
					if m.Path == "" {
						continue
					}
					purl := goPURL(m)
					mid := addPackage(&spdx.Package{PackageName: m.Path, PackageSPDXIdentifier: spdxID("Go", purl), PackageVersion: m.Version,
						PackageDownloadLocation: noAssertion(), PrimaryPackagePurpose: "LIBRARY",
						PackageExternalReferences: []*spdx.PackageExternalReference{{Category: "PACKAGE-MANAGER", RefType: "purl", Locator: purl}}})
					rel(id, "STATIC_LINK", local(mid))
				}
			}
		}
		for _, p := range c.Packages {
			purl := osPURL(p, distroOf(p.Type))
			pid := addPackage(&spdx.Package{PackageName: p.Name, PackageSPDXIdentifier: spdxID("Package", purl), PackageVersion: p.Version,
				PackageDownloadLocation: noAssertion(), PrimaryPackagePurpose: "OPERATING-SYSTEM",
				PackageExternalReferences: []*spdx.PackageExternalReference{{Category: "PACKAGE-MANAGER", RefType: "purl", Locator: purl}}})
			rel(owner, "CONTAINS", local(pid))
		}
	}
	sort.SliceStable(doc.Relationships, func(i, j int) bool {
		a, b := doc.Relationships[i], doc.Relationships[j]
		ka := common.RenderDocElementID(a.RefA) + " " + a.Relationship + " " + common.RenderDocElementID(a.RefB)
		kb := common.RenderDocElementID(b.RefA) + " " + b.Relationship + " " + common.RenderDocElementID(b.RefB)
		return ka < kb
	})
	var buf bytes.Buffer
	if err := spdxjson.Write(doc, &buf); err != nil {
		return nil, fmt.Errorf("writing the SPDX document: %w", err)
	}
	return buf.Bytes(), nil
}

// repositoryOf is a reference without its tag or digest.
func repositoryOf(ref string) string {
	if i := strings.Index(ref, "@"); i >= 0 {
		ref = ref[:i]
	}
	if i := strings.LastIndex(ref, ":"); i > strings.LastIndex(ref, "/") {
		ref = ref[:i]
	}
	return ref
}

// CycloneDX writes a CycloneDX 1.6 JSON document.
func CycloneDX(in SBOMInput) ([]byte, error) {
	ref := in.Image.Repository + "@" + in.Image.Digest
	bom := cdx.NewBOM()
	bom.SpecVersion = cdx.SpecVersion1_6
	sum := sha256.Sum256([]byte(ref))
	// A serial number from the image, not a random one: the same image
	// gets the same document.
	h := hex.EncodeToString(sum[:16])
	bom.SerialNumber = "urn:uuid:" + h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
	name, version, _ := strings.Cut(in.Tool, " ")
	bom.Metadata = &cdx.Metadata{
		Timestamp: in.Image.Created.UTC().Format(time.RFC3339),
		Tools:     &cdx.ToolsChoice{Components: &[]cdx.Component{{Type: cdx.ComponentTypeApplication, Name: name, Version: version}}},
		Component: &cdx.Component{BOMRef: "image", Type: cdx.ComponentTypeContainer, Name: in.Image.Repository, Version: in.Image.Digest,
			PackageURL: ociPURL(in.Image.Repository, in.Image.Digest),
			Hashes:     &[]cdx.Hash{{Algorithm: cdx.HashAlgoSHA256, Value: strings.TrimPrefix(in.Image.Digest, "sha256:")}}},
	}
	var comps []cdx.Component
	deps := map[string][]string{}
	seen := map[string]bool{}
	add := func(c cdx.Component) string {
		if !seen[c.BOMRef] {
			seen[c.BOMRef] = true
			comps = append(comps, c)
		}
		return c.BOMRef
	}
	if b := in.Base; b != nil {
		purl := ociPURL(repositoryOf(b.Ref), b.Digest)
		c := cdx.Component{BOMRef: "base", Type: cdx.ComponentTypeContainer, Name: b.Ref, Version: b.Digest, PackageURL: purl,
			Hashes:     &[]cdx.Hash{{Algorithm: cdx.HashAlgoSHA256, Value: strings.TrimPrefix(b.Digest, "sha256:")}},
			Properties: &[]cdx.Property{{Name: "onesbuild:relationship", Value: "base image"}}}
		if b.SBOM != nil {
			c.ExternalReferences = &[]cdx.ExternalReference{{Type: cdx.ERTypeBOM, URL: b.SBOM.Namespace,
				Hashes: &[]cdx.Hash{{Algorithm: cdx.HashAlgoSHA1, Value: b.SBOM.SHA1}}}}
		}
		deps["image"] = append(deps["image"], add(c))
	}
	for _, p := range in.Platforms {
		owner := "image"
		if len(in.Platforms) > 1 {
			owner = add(cdx.Component{BOMRef: "platform:" + p.Platform, Type: cdx.ComponentTypeContainer, Name: in.Image.Repository + " " + p.Platform,
				Properties: &[]cdx.Property{{Name: "onesbuild:platform", Value: p.Platform}}})
			deps["image"] = append(deps["image"], owner)
		}
		if p.BaseUnknown {
			bom.Metadata.Properties = &[]cdx.Property{{Name: "onesbuild:files", Value: "every file of the image: the base was not known or not readable"}}
		}
		for _, f := range p.Files {
			props := []cdx.Property{{Name: "onesbuild:mode", Value: fmt.Sprintf("%04o", f.Mode&0o7777)}}
			if f.LinkTarget != "" {
				props = append(props, cdx.Property{Name: "onesbuild:symlink-target", Value: f.LinkTarget})
			}
			if len(in.Platforms) > 1 {
				props = append(props, cdx.Property{Name: "onesbuild:platform", Value: p.Platform})
			}
			fref := "file:" + p.Platform + ":" + f.Path
			deps[owner] = append(deps[owner], add(cdx.Component{BOMRef: fref, Type: cdx.ComponentTypeFile, Name: f.Path,
				Hashes:     &[]cdx.Hash{{Algorithm: cdx.HashAlgoSHA1, Value: f.SHA1}, {Algorithm: cdx.HashAlgoSHA256, Value: f.SHA256}},
				Properties: &props}))
			if f.Go != nil {
				for _, m := range append([]Module{f.Go.Main}, f.Go.Deps...) {
					if m.Path == "" {
						continue
					}
					purl := goPURL(m)
					deps[fref] = append(deps[fref], add(cdx.Component{BOMRef: purl, Type: cdx.ComponentTypeLibrary, Name: m.Path, Version: m.Version, PackageURL: purl}))
				}
			}
		}
		for _, pkg := range p.Packages {
			purl := osPURL(pkg, distroOf(pkg.Type))
			deps[owner] = append(deps[owner], add(cdx.Component{BOMRef: purl, Type: cdx.ComponentTypeLibrary, Name: pkg.Name, Version: pkg.Version, PackageURL: purl}))
		}
	}
	bom.Components = &comps
	var refs []string
	for r := range deps {
		refs = append(refs, r)
	}
	sort.Strings(refs)
	var dependencies []cdx.Dependency
	for _, r := range refs {
		// The schema wants each dependency once: a package both in
		// status and status.d, two modules replaced by one.
		var on []string
		seen := map[string]bool{}
		for _, d := range deps[r] {
			if !seen[d] {
				seen[d] = true
				on = append(on, d)
			}
		}
		dependencies = append(dependencies, cdx.Dependency{Ref: r, Dependencies: &on})
	}
	bom.Dependencies = &dependencies
	var buf bytes.Buffer
	enc := cdx.NewBOMEncoder(&buf, cdx.BOMFileFormatJSON)
	if err := enc.EncodeVersion(bom, cdx.SpecVersion1_6); err != nil {
		return nil, fmt.Errorf("writing the CycloneDX document: %w", err)
	}
	return buf.Bytes(), nil
}
