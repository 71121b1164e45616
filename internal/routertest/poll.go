package routertest

import "github.com/edgeproxy/edgeproxy/internal/poll"

// The harness's polling helpers are package poll's (tests that need no
// router import poll itself).
var (
	Eventually      = poll.Eventually
	EventuallyEvery = poll.EventuallyEvery
	Poll            = poll.Poll
	PollEvery       = poll.PollEvery
)

// PollInterval is how often Eventually retries.
const PollInterval = poll.Interval
