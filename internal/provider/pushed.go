package provider

import "sync"

// pushedImages records what this provider process pushed, which
// Terraform uses for one whole apply: the tags pushed with each
// repository@digest, and the history keys of builds with retention. A
// resource destroyed in the same apply (the old instance of a
// create_before_destroy replacement) tells from it what its replacement
// now uses.
type pushedImages struct {
	mu   sync.Mutex
	tags map[string][]string // repository@digest to the tags pushed with it
	keys map[string]bool     // repository and history key, see historyRef
}

// add records that digest was pushed to repository with tags.
func (p *pushedImages) add(repository, digest string, tags []string) {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.tags == nil {
		p.tags = map[string][]string{}
	}
	ref := repository + "@" + digest
	p.tags[ref] = append(p.tags[ref], tags...)
}

// tagsOf returns the tags pushed with repository@digest by this
// process; ok is false when it pushed no such image.
func (p *pushedImages) tagsOf(repository, digest string) (tags []string, ok bool) {
	if p == nil {
		return nil, false
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	tags, ok = p.tags[repository+"@"+digest]
	return append([]string(nil), tags...), ok
}

// addHistory records that a build with retention pushed a history tag
// of key to repository.
func (p *pushedImages) addHistory(repository, key string) {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.keys == nil {
		p.keys = map[string]bool{}
	}
	p.keys[historyRef(repository, key)] = true
}

// hasHistory reports whether a build of this process pushed a history
// tag of key to repository.
func (p *pushedImages) hasHistory(repository, key string) bool {
	if p == nil {
		return false
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.keys[historyRef(repository, key)]
}

func historyRef(repository, key string) string { return repository + "\n" + key }
