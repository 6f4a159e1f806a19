// Package jobs is Cairn's durable background job queue, kept in PostgreSQL
// so that any replica can run any job. A worker claims one runnable job at
// a time with SELECT ... FOR UPDATE SKIP LOCKED and holds a lease on it,
// renewed while the job runs: a replica that dies mid-job leaves a lease
// that expires, and the job is claimed again (up to its attempt limit). A
// claim carries a random lease token; only the claim holding it may renew
// or finish the job, so a job is never run by two workers at once (a worker
// that loses its lease has its run cancelled).
package jobs

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/cairn-registry/cairn/errs"
	"github.com/cairn-registry/cairn/queries"
)

// Job states.
const (
	Queued    = "queued"
	Running   = "running"
	Succeeded = "succeeded"
	Failed    = "failed"
)

// Job is one unit of background work.
type Job struct {
	ID          int64
	Kind        string
	ModuleID    *int64
	Args        json.RawMessage
	State       string
	Attempts    int
	MaxAttempts int
	// Result is what the handler returned (JSON), once succeeded.
	Result json.RawMessage
	// Error is why the last attempt failed (empty when none did).
	Error       string
	RequestedBy string
	CreatedAt   time.Time
	StartedAt   *time.Time
	FinishedAt  *time.Time
}

// Done reports whether the job has finished, either way.
func (j Job) Done() bool { return j.State == Succeeded || j.State == Failed }

func jobOf(r queries.Job) Job {
	return Job{ID: r.ID, Kind: r.Kind, ModuleID: r.ModuleID, Args: r.Args, State: r.State, Attempts: int(r.Attempts),
		MaxAttempts: int(r.MaxAttempts), Result: r.Result, Error: r.Error, RequestedBy: r.RequestedBy,
		CreatedAt: r.CreatedAt, StartedAt: r.StartedAt, FinishedAt: r.FinishedAt}
}

// Handler runs one job. Its result is stored as JSON. An error wrapped with
// Permanent fails the job at once; any other error is retried (with
// backoff) until the job's attempts are used up. ctx is cancelled when the
// worker stops or loses the job's lease.
type Handler func(ctx context.Context, job Job) (result any, err error)

type permanent struct{ err error }

func (p permanent) Error() string { return p.err.Error() }
func (p permanent) Unwrap() error { return p.err }

// Permanent marks err as not worth retrying.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return permanent{err}
}

// IsPermanent reports whether err was marked with Permanent.
func IsPermanent(err error) bool {
	var p permanent
	return errors.As(err, &p)
}

// Queue enqueues, reads and runs jobs.
type Queue struct {
	db *pgxpool.Pool
	// wake tells this replica's workers that a job was just enqueued.
	wake chan struct{}
	// Lease is how long a claim holds a job without renewal; it is renewed
	// every Lease/3. PollInterval is how often an idle worker looks for
	// work enqueued on another replica.
	Lease        time.Duration
	PollInterval time.Duration

	mu       sync.Mutex
	handlers map[string]Handler
}

// New returns a queue on db.
func New(db *pgxpool.Pool) *Queue {
	return &Queue{db: db, wake: make(chan struct{}, 1), Lease: 30 * time.Second, PollInterval: time.Second,
		handlers: map[string]Handler{}}
}

// Handle registers the handler of a kind of job; call it before Run.
func (q *Queue) Handle(kind string, h Handler) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.handlers[kind] = h
}

// EnqueueInput describes a new job.
type EnqueueInput struct {
	Kind     string
	ModuleID *int64
	Args     any
	// RequestedBy names who asked (audit, the job's state).
	RequestedBy string
	// MaxAttempts bounds how often the job is tried (default 3).
	MaxAttempts int
}

// Enqueue stores a new job; a worker on any replica will run it.
func (q *Queue) Enqueue(ctx context.Context, in EnqueueInput) (Job, error) {
	j, err := q.EnqueueTx(ctx, q.db, in)
	if err == nil {
		q.Wake()
	}
	return j, err
}

// Wake tells this replica's worker to look for work now (after a job was
// enqueued in a transaction, once it is committed).
func (q *Queue) Wake() {
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

// EnqueueTx stores a new job in db (a transaction: the job exists once it
// commits); call Wake after the commit.
func (q *Queue) EnqueueTx(ctx context.Context, db queries.DBTX, in EnqueueInput) (Job, error) {
	args, err := json.Marshal(in.Args)
	if err != nil {
		return Job{}, err
	}
	if in.MaxAttempts <= 0 {
		in.MaxAttempts = 3
	}
	row, err := queries.New(db).EnqueueJob(ctx, queries.EnqueueJobParams{Kind: in.Kind, ModuleID: in.ModuleID, Args: args,
		RequestedBy: in.RequestedBy, MaxAttempts: int32(in.MaxAttempts)})
	if err != nil {
		return Job{}, err
	}
	return jobOf(row), nil
}

// Get returns job id.
func (q *Queue) Get(ctx context.Context, id int64) (Job, error) {
	row, err := queries.New(q.db).GetJob(ctx, id)
	if errors.Is(err, pgx.ErrNoRows) {
		return Job{}, errs.Field(errs.NotFound, "job", "Job does not exist")
	} else if err != nil {
		return Job{}, err
	}
	return jobOf(row), nil
}

// ListForModule returns a module's most recent jobs, newest first.
func (q *Queue) ListForModule(ctx context.Context, moduleID int64, limit int) ([]Job, error) {
	rows, err := queries.New(q.db).ListModuleJobs(ctx, queries.ListModuleJobsParams{ModuleID: &moduleID, MaxRows: int32(limit)})
	if err != nil {
		return nil, err
	}
	out := make([]Job, len(rows))
	for i, r := range rows {
		out[i] = jobOf(r)
	}
	return out, nil
}

// Wait returns job id once it has finished, or its current state when ctx
// ends first (with ctx's error).
func (q *Queue) Wait(ctx context.Context, id int64) (Job, error) {
	delay := 50 * time.Millisecond
	for {
		j, err := q.Get(ctx, id)
		if err != nil || j.Done() {
			return j, err
		}
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return j, ctx.Err()
		case <-t.C:
		}
		delay = min(delay*2, 500*time.Millisecond)
	}
}

// Run claims and runs jobs until ctx ends, one at a time; every replica
// runs one. It returns once the job in hand (if any) has stopped.
func (q *Queue) Run(ctx context.Context, log *slog.Logger) {
	for ctx.Err() == nil {
		ran, err := q.RunOne(ctx, log)
		if err != nil && ctx.Err() == nil {
			log.Warn("claiming a job failed", "error", err)
		}
		if ran {
			continue
		}
		t := time.NewTimer(q.PollInterval)
		select {
		case <-ctx.Done():
			t.Stop()
		case <-q.wake:
			t.Stop()
		case <-t.C:
		}
	}
}

func (q *Queue) kinds() []string {
	q.mu.Lock()
	defer q.mu.Unlock()
	out := make([]string, 0, len(q.handlers))
	for k := range q.handlers {
		out = append(out, k)
	}
	return out
}

func (q *Queue) handler(kind string) Handler {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.handlers[kind]
}

// RunOne claims one runnable job and runs it; false when there was none.
func (q *Queue) RunOne(ctx context.Context, log *slog.Logger) (bool, error) {
	kinds := q.kinds()
	if len(kinds) == 0 {
		return false, nil
	}
	token := newToken()
	row, err := queries.New(q.db).ClaimJob(ctx, queries.ClaimJobParams{LeaseToken: &token,
		LeaseSeconds: q.Lease.Seconds(), Kinds: kinds})
	if errors.Is(err, pgx.ErrNoRows) {
		return false, nil
	} else if err != nil {
		return false, err
	}
	job := jobOf(row)
	log = log.With("job", job.ID, "kind", job.Kind, "attempt", job.Attempts)
	// Finishing must not depend on ctx: a stopping replica still records
	// what its run came to (or lets the lease expire when it cannot).
	fctx := context.WithoutCancel(ctx)
	if job.Attempts > job.MaxAttempts {
		// The previous claims all died (their leases expired).
		msg := job.Error
		if msg == "" {
			msg = "the job was interrupted"
		}
		q.finish(fctx, log, job.ID, token, Failed, nil, fmt.Sprintf("gave up after %d attempts: %s", job.MaxAttempts, msg))
		return true, nil
	}
	h := q.handler(job.Kind)
	runCtx, cancel := context.WithCancelCause(ctx)
	var lost bool
	hbDone := make(chan struct{})
	go func() {
		defer close(hbDone)
		t := time.NewTicker(q.Lease / 3)
		defer t.Stop()
		for {
			select {
			case <-runCtx.Done():
				return
			case <-t.C:
				n, err := queries.New(q.db).RenewJobLease(runCtx, queries.RenewJobLeaseParams{LeaseSeconds: q.Lease.Seconds(),
					ID: job.ID, LeaseToken: &token})
				if err == nil && n == 0 {
					lost = true
					cancel(errors.New("the job's lease was lost"))
					return
				}
			}
		}
	}()
	log.Info("running job")
	result, err := runHandler(runCtx, h, job)
	cancel(nil)
	<-hbDone
	if lost {
		log.Warn("lost the job's lease; another run may take it over")
		return true, nil
	}
	if ctx.Err() != nil && err != nil {
		// Stopping: leave the job to the lease (another replica, or this
		// one after a restart, runs it again).
		log.Info("stopped during a job; it will be retried", "error", err)
		q.retry(fctx, log, job, token, "interrupted: "+err.Error(), 0)
		return true, nil
	}
	if err == nil {
		res, merr := json.Marshal(result)
		if merr != nil {
			res = nil
		}
		q.finish(fctx, log, job.ID, token, Succeeded, res, "")
		log.Info("job succeeded")
		return true, nil
	}
	if IsPermanent(err) || job.Attempts >= job.MaxAttempts {
		q.finish(fctx, log, job.ID, token, Failed, nil, err.Error())
		log.Info("job failed", "error", err)
		return true, nil
	}
	q.retry(fctx, log, job, token, err.Error(), backoff(job.Attempts))
	log.Info("job will be retried", "error", err)
	return true, nil
}

func runHandler(ctx context.Context, h Handler, job Job) (result any, err error) {
	if h == nil {
		return nil, Permanent(fmt.Errorf("no handler for jobs of kind %q", job.Kind))
	}
	defer func() {
		if r := recover(); r != nil {
			err = Permanent(fmt.Errorf("the job panicked: %v", r))
		}
	}()
	return h(ctx, job)
}

func backoff(attempt int) time.Duration {
	return time.Duration(attempt*attempt) * 2 * time.Second
}

func (q *Queue) finish(ctx context.Context, log *slog.Logger, id int64, token, state string, result json.RawMessage, msg string) {
	if _, err := queries.New(q.db).FinishJob(ctx, queries.FinishJobParams{State: state, Result: result, Error: msg, ID: id,
		LeaseToken: &token}); err != nil {
		log.Warn("recording the job's outcome failed; it will be retried when its lease expires", "error", err)
	}
}

func (q *Queue) retry(ctx context.Context, log *slog.Logger, job Job, token, msg string, delay time.Duration) {
	if _, err := queries.New(q.db).RetryJob(ctx, queries.RetryJobParams{Error: msg, DelaySeconds: delay.Seconds(), ID: job.ID,
		LeaseToken: &token}); err != nil {
		log.Warn("requeueing the job failed; it will be retried when its lease expires", "error", err)
	}
}

func newToken() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
