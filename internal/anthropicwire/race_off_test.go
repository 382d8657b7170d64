//go:build !race

package anthropicwire

const raceEnabled = false
