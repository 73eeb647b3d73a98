// Package dockerfile answers questions about any Dockerfile, whichever
// executor builds it, with BuildKit's parser (the one Kaniko uses): the
// image the final stage starts from (FinalBase), the images Kaniko pulls
// for its stages (Bases), and the path every COPY and ADD source names
// once Kaniko has expanded it (Sources), from which CheckSources refuses
// one that leaves the build context or the stage or image it copies
// from. kaniko.go is a model of Kaniko's variables, read in its source.
// What only the direct executor asks (can it perform every instruction)
// lives in package direct.
package dockerfile
