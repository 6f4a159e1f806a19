package jobs_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cairn-registry/cairn/internal/testenv"
	"github.com/cairn-registry/cairn/jobs"
)

func TestMain(m *testing.M) { testenv.Main(m) }

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// Two workers (two replicas) share a queue: every job runs exactly once and
// never twice at the same time.
func TestJobsRunOnceAcrossWorkers(t *testing.T) {
	t.Parallel()
	pool := testenv.Pool(t)
	var runs atomic.Int32
	handler := func(ctx context.Context, j jobs.Job) (any, error) {
		runs.Add(1)
		time.Sleep(20 * time.Millisecond)
		return map[string]int64{"id": j.ID}, nil
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	queues := []*jobs.Queue{jobs.New(pool), jobs.New(pool)}
	for _, q := range queues {
		q.PollInterval = 20 * time.Millisecond
		q.Handle("test", handler)
	}
	var ids []int64
	for range 10 {
		j, err := queues[0].Enqueue(ctx, jobs.EnqueueInput{Kind: "test", Args: map[string]string{}, RequestedBy: "test"})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, j.ID)
	}
	for _, q := range queues {
		wg.Add(1)
		go func() { defer wg.Done(); q.Run(ctx, quiet) }()
	}
	for _, id := range ids {
		wctx, wcancel := context.WithTimeout(ctx, 30*time.Second)
		j, err := queues[1].Wait(wctx, id)
		wcancel()
		if err != nil || j.State != jobs.Succeeded || j.Attempts != 1 {
			t.Fatalf("job %d = %+v, %v", id, j, err)
		}
	}
	cancel()
	wg.Wait()
	if runs.Load() != 10 {
		t.Fatalf("%d runs for 10 jobs", runs.Load())
	}
}

// Failures are retried up to the attempt limit; permanent ones are not; a
// lease that expires (the worker died) makes the job runnable again.
func TestJobsRetryAndLease(t *testing.T) {
	t.Parallel()
	pool := testenv.Pool(t)
	q := jobs.New(pool)
	q.Lease = 300 * time.Millisecond
	var calls atomic.Int32
	q.Handle("flaky", func(ctx context.Context, j jobs.Job) (any, error) {
		calls.Add(1)
		return nil, errors.New("network trouble")
	})
	q.Handle("bad", func(ctx context.Context, j jobs.Job) (any, error) {
		return nil, jobs.Permanent(errors.New("tag not found"))
	})
	ctx := context.Background()
	bad, _ := q.Enqueue(ctx, jobs.EnqueueInput{Kind: "bad", RequestedBy: "t"})
	if ran, err := q.RunOne(ctx, quiet); !ran || err != nil {
		t.Fatal(ran, err)
	}
	if j, _ := q.Get(ctx, bad.ID); j.State != jobs.Failed || j.Error != "tag not found" || j.Attempts != 1 {
		t.Fatalf("permanent failure: %+v", j)
	}
	flaky, _ := q.Enqueue(ctx, jobs.EnqueueInput{Kind: "flaky", RequestedBy: "t", MaxAttempts: 2})
	q.RunOne(ctx, quiet)
	if j, _ := q.Get(ctx, flaky.ID); j.State != jobs.Queued || j.Attempts != 1 {
		t.Fatalf("after one failure: %+v", j)
	}
	if _, err := pool.Exec(ctx, "UPDATE jobs SET run_after = now() WHERE id = $1", flaky.ID); err != nil {
		t.Fatal(err)
	}
	q.RunOne(ctx, quiet)
	if j, _ := q.Get(ctx, flaky.ID); j.State != jobs.Failed || j.Attempts != 2 {
		t.Fatalf("after the last attempt: %+v", j)
	}

	// A worker that dies holding a job: the job stays claimed until the
	// lease expires, then runs again.
	var slowCalls atomic.Int32
	q.Handle("slow", func(ctx context.Context, j jobs.Job) (any, error) {
		if slowCalls.Add(1) == 1 {
			<-ctx.Done() // "dies": never finishes
			return nil, ctx.Err()
		}
		return "done", nil
	})
	slow, _ := q.Enqueue(ctx, jobs.EnqueueInput{Kind: "slow", RequestedBy: "t"})
	// Simulate the dead claim directly: running with an expired lease.
	if _, err := pool.Exec(ctx, "UPDATE jobs SET state = 'running', attempts = 1, lease_token = 'dead', lease_until = now() - interval '1 second' WHERE id = $1", slow.ID); err != nil {
		t.Fatal(err)
	}
	slowCalls.Store(1)
	if ran, err := q.RunOne(ctx, quiet); !ran || err != nil {
		t.Fatal(ran, err)
	}
	if j, _ := q.Get(ctx, slow.ID); j.State != jobs.Succeeded || j.Attempts != 2 {
		t.Fatalf("job of a dead worker: %+v", j)
	}
}
