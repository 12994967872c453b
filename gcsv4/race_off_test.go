//go:build !race

package gcsv4

const raceEnabled = false
