package controller

import (
	"context"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/leaderelection"
	"k8s.io/client-go/tools/leaderelection/resourcelock"
)

// runLeaderElection campaigns for the Lease until ctx ends. Only the
// leader writes Ingress status; every replica serves traffic.
func (c *Controller) runLeaderElection(ctx context.Context) {
	lock := &resourcelock.LeaseLock{
		LeaseMeta:  metav1.ObjectMeta{Namespace: c.opts.ElectionNamespace, Name: c.opts.ElectionID},
		Client:     c.client.CoordinationV1(),
		LockConfig: resourcelock.ResourceLockConfig{Identity: c.opts.Identity},
	}
	for ctx.Err() == nil {
		leaderelection.RunOrDie(ctx, leaderelection.LeaderElectionConfig{
			Lock:            lock,
			ReleaseOnCancel: true,
			LeaseDuration:   15 * time.Second,
			RenewDeadline:   10 * time.Second,
			RetryPeriod:     2 * time.Second,
			Callbacks: leaderelection.LeaderCallbacks{
				OnStartedLeading: func(context.Context) {
					c.log.Info("became the leader; publishing Ingress status", "lease", c.opts.ElectionNamespace+"/"+c.opts.ElectionID)
					c.leader.Store(true)
					c.changes.markFull() // a patch would not publish status
					c.queue.Add(syncKey)
				},
				OnStoppedLeading: func() {
					c.log.Info("stopped leading")
					c.leader.Store(false)
				},
			},
		})
	}
}
