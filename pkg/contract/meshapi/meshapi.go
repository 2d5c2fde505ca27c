// Package meshapi is the admin API of the local demo's stand-in mesh, which
// the burster's localmesh router drives: GET WeightsPath answers the current
// split.Split as JSON, PUT WeightsPath with a split.Split sets it and answers
// the split now in force. A split that is not whole percentages summing to
// 100 is refused with 400.
package meshapi

// WeightsPath is where the weights are read and set.
const WeightsPath = "/weights"
