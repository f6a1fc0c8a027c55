//go:build !linux

package prefault

func populate(uintptr) uintptr { return 0 }

func populateText() uintptr { return 0 }
