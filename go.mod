module github.com/onesbuild/terraform-provider-onesbuild

go 1.26.0

require github.com/moby/patternmatcher v0.6.1 // indirect
