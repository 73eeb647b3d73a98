package dockerfile

import "testing"

func TestFinalBase(t *testing.T) {
	for _, tt := range []struct {
		name, dockerfile, target string
		args                     map[string]string
		want                     string
		ok                       bool
	}{
		{name: "one stage", dockerfile: "FROM alpine:3.20\nRUN true\n", want: "alpine:3.20", ok: true},
		{name: "the last stage's base", dockerfile: "FROM golang AS build\nFROM debian:12\n", want: "debian:12", ok: true},
		{name: "a stage built on a stage", dockerfile: "FROM node:20 AS base\nFROM base AS app\nCOPY . /\n", want: "node:20", ok: true},
		{name: "a target", dockerfile: "FROM golang AS build\nFROM debian:12\n", target: "build", want: "golang", ok: true},
		{name: "an unknown target", dockerfile: "FROM golang AS build\n", target: "nope"},
		{name: "build arguments", dockerfile: "ARG TAG=1\nFROM app:${TAG}\n", args: map[string]string{"TAG": "2"}, want: "app:2", ok: true},
		{name: "a default build argument", dockerfile: "ARG TAG=1\nFROM app:${TAG}\n", want: "app:1", ok: true},
		{name: "scratch", dockerfile: "FROM scratch\nCOPY a /\n"},
		{name: "not a Dockerfile", dockerfile: "FROM"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := FinalBase([]byte(tt.dockerfile), tt.args, tt.target)
			if got != tt.want || ok != tt.ok {
				t.Errorf("FinalBase = %q, %v; want %q, %v", got, ok, tt.want, tt.ok)
			}
		})
	}
}
