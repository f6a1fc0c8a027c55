//go:build !linux

package prefault

func populate(uintptr) uintptr { return 0 }
