package budget

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Metric names what a budget counts: a tool's calls, the sum of one of its
// numeric arguments, or the distinct destinations it reached.
const (
	MetricCalls        = "calls"
	MetricDestinations = "destinations"
	metricSumPrefix    = "sum:"
)

// MetricSum is the metric of the sum of argument arg.
func MetricSum(arg string) string { return metricSumPrefix + arg }

// Request is one use of one budget that a call would make.
type Request struct {
	// Scope is whose budget it is: "agent:<spiffe id>" or "task:<task id>".
	Scope string
	// Tool is the tool it counts.
	Tool string
	// Metric is MetricCalls, MetricSum(arg) or MetricDestinations.
	Metric string
	// Amount is what the call uses: 1 for a call, the argument's value for
	// a sum. Ignored for MetricDestinations.
	Amount float64
	// Member is, for MetricDestinations, the destination counted once per
	// window however often it is reached.
	Member string
	// Limit is the most the window may hold; Window its length (sliding).
	Limit  float64
	Window time.Duration
}

func (r Request) distinct() bool { return r.Metric == MetricDestinations }

// check refuses a request no store can keep faithfully.
func (r Request) check() error {
	switch {
	case r.Scope == "" || r.Tool == "":
		return errors.New("budget: request without a scope or a tool")
	case strings.ContainsRune(r.Scope+r.Tool+r.Metric, 0):
		return errors.New("budget: NUL in a scope, tool or metric")
	case r.Metric != MetricCalls && r.Metric != MetricDestinations && (!strings.HasPrefix(r.Metric, metricSumPrefix) || r.Metric == metricSumPrefix):
		return fmt.Errorf("budget: unknown metric %q", r.Metric)
	case r.Window <= 0:
		return fmt.Errorf("budget: %s %s %s: window %s is not positive", r.Scope, r.Tool, r.Metric, r.Window)
	case r.Limit < 0 || r.Limit != r.Limit:
		return fmt.Errorf("budget: %s %s %s: bad limit", r.Scope, r.Tool, r.Metric)
	case r.distinct() && r.Member == "":
		return fmt.Errorf("budget: %s %s: a destinations budget needs the destination", r.Scope, r.Tool)
	case !r.distinct() && (r.Amount < 0 || r.Amount != r.Amount || r.Amount > maxAmount):
		return fmt.Errorf("budget: %s %s %s: amount must be a number from 0 to %g", r.Scope, r.Tool, r.Metric, maxAmount)
	}
	return nil
}

// maxAmount bounds one call's use: beyond it sums lose precision as
// float64, and no sane budget counts such amounts.
const maxAmount = 1e15

// Reservation is what one Reserve took, to give back with Release when the
// call it was for does not run.
type Reservation struct {
	ID    string
	Items []Item
}

// Item is one entry a reservation made in one budget: for a sum, the entry
// holding its amount; for destinations, the member when this reservation
// added it (one already counted in the window is not taken back).
type Item struct {
	Scope, Tool, Metric string
	Entry               string
}

// ErrExceeded is what a refused reservation matches (errors.Is).
var ErrExceeded = errors.New("budget: limit exceeded")

// ExceededError names the budget a reservation would have exceeded.
type ExceededError struct {
	Scope, Tool, Metric string
	Used, Limit         float64
}

func (e *ExceededError) Error() string {
	return fmt.Sprintf("budget: %s %s %s: %g used of %g in the window", e.Scope, e.Tool, e.Metric, e.Used, e.Limit)
}

func (e *ExceededError) Is(target error) bool { return target == ErrExceeded }

// Store keeps what budgets hold over sliding windows and reserves uses
// atomically: two calls racing for the last unit cannot both take it.
type Store interface {
	// Reserve takes every request or none. When one would exceed its limit
	// it returns an *ExceededError and changes nothing.
	Reserve(ctx context.Context, reqs []Request) (*Reservation, error)
	// Release gives back what r took, for a call that did not run.
	// Releasing twice, or a nil r, does nothing.
	Release(ctx context.Context, r *Reservation) error
	// Usage is what each metric of scope's budgets for tool holds now,
	// judged by the window its last reservation gave (a metric never
	// reserved is absent).
	Usage(ctx context.Context, scope, tool string) (map[string]float64, error)
}

// Merged checks reqs and folds requests for one budget into one, so that a
// store judges each budget once: sums add up, a destination counts once.
// A Store calls it first.
func Merged(reqs []Request) ([]Request, error) {
	out := make([]Request, 0, len(reqs))
	for _, r := range reqs {
		if err := r.check(); err != nil {
			return nil, err
		}
		i := indexOf(out, r)
		switch {
		case i < 0:
			out = append(out, r)
		case r.distinct():
			// The same destination twice is one; another is its own entry.
			continue
		default:
			out[i].Amount += r.Amount
			out[i].Limit = min(out[i].Limit, r.Limit) // the strictest of two limits of one budget holds
			out[i].Window = max(out[i].Window, r.Window)
		}
	}
	return out, nil
}

func indexOf(rs []Request, r Request) int {
	for i, x := range rs {
		if x.Scope == r.Scope && x.Tool == r.Tool && x.Metric == r.Metric && (!r.distinct() || x.Member == r.Member) {
			return i
		}
	}
	return -1
}
