package store

import (
	"context"
	"fmt"
	"sync"

	"go.etcd.io/bbolt"
)

// maxGroup caps how many commands share one transaction and fsync.
const maxGroup = 256

// pending is one Apply waiting for its group commit.
type pending struct {
	ctx  context.Context
	cmd  Command
	done chan error
}

// committer groups concurrent commands into fsync'd transactions without a
// fixed delay: a lone command is written at once; commands that arrive
// while a commit is on disk are written together by the next one. Each
// command keeps its own outcome: one whose precondition fails is skipped
// (ApplyTx checks before it writes) and the others commit.
type committer struct {
	db      *bbolt.DB
	queue   chan *pending
	stop    chan struct{}
	exited  chan struct{}
	stopped sync.WaitGroup
}

func newCommitter(db *bbolt.DB) *committer {
	c := &committer{db: db, queue: make(chan *pending, maxGroup), stop: make(chan struct{}), exited: make(chan struct{})}
	c.stopped.Add(1)
	go c.loop()
	return c
}

// submit queues cmd and waits until it is durable or refused.
func (c *committer) submit(ctx context.Context, cmd Command) error {
	p := &pending{ctx: ctx, cmd: cmd, done: make(chan error, 1)}
	select {
	case c.queue <- p:
	case <-c.stop:
		return ErrClosed
	case <-ctx.Done():
		return fmt.Errorf("store: apply: %w", ctx.Err())
	}
	select {
	case err := <-p.done:
		return err
	case <-c.exited:
		// The loop is gone: the command was either answered just before it
		// left or never taken.
		select {
		case err := <-p.done:
			return err
		default:
			return ErrClosed
		}
	}
}

// close stops the loop after the group being written; queued commands get
// ErrClosed.
func (c *committer) close() {
	close(c.stop)
	c.stopped.Wait()
}

func (c *committer) loop() {
	defer c.stopped.Done()
	defer close(c.exited)
	group := make([]*pending, 0, maxGroup)
	for {
		select {
		case <-c.stop:
			c.refuseQueued()
			return
		case p := <-c.queue:
			group = append(group[:0], p)
		}
	more:
		for len(group) < maxGroup {
			select {
			case p := <-c.queue:
				group = append(group, p)
			default:
				break more
			}
		}
		c.commit(group)
	}
}

// commit writes a group in one transaction; if the transaction itself
// fails, each command is retried alone so that one bad command cannot fail
// the others.
func (c *committer) commit(group []*pending) {
	results := make([]error, len(group))
	err := c.db.Update(func(tx *bbolt.Tx) error {
		for i, p := range group {
			if err := p.ctx.Err(); err != nil {
				results[i] = fmt.Errorf("store: apply: %w", err)
				continue
			}
			results[i] = ApplyTx(tx, p.cmd)
		}
		return nil
	})
	if err != nil && len(group) > 1 {
		for _, p := range group {
			c.commit([]*pending{p})
		}
		return
	}
	for i, p := range group {
		if err != nil {
			p.done <- mapClosed(err)
			continue
		}
		p.done <- results[i]
	}
}

func (c *committer) refuseQueued() {
	for {
		select {
		case p := <-c.queue:
			p.done <- ErrClosed
		default:
			return
		}
	}
}
