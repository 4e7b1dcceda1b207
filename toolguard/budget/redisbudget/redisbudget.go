// Package redisbudget keeps budgets in Redis or Valkey, so that a budget
// holds exactly across the replicas of an agent: each reservation is one
// Lua script, judged and taken atomically on the server, timed by the
// server's clock (replicas whose clocks differ agree on the windows).
//
// Every key lives under one hash tag, so a Redis Cluster keeps them in one
// slot. Entries expire with their windows.
package redisbudget

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/redis/go-redis/v9"

	"github.com/ztagent/ztagent/toolguard/budget"
)

// Store is a budget.Store on a Redis client.
type Store struct {
	rdb    redis.UniversalClient
	prefix string
}

// Option configures a Store.
type Option interface{ apply(*Store) }

type option func(*Store)

func (o option) apply(s *Store) { o(s) }

// WithPrefix sets the prefix of the store's keys (default
// "ztagent:budget"); it is wrapped in a hash tag.
func WithPrefix(p string) Option { return option(func(s *Store) { s.prefix = p }) }

// New returns a Store on rdb (a *redis.Client, *redis.ClusterClient or
// *redis.Ring). A nil client is an error.
func New(rdb redis.UniversalClient, opts ...Option) (*Store, error) {
	if rdb == nil {
		return nil, errors.New("redisbudget: nil client")
	}
	s := &Store{rdb: rdb, prefix: "ztagent:budget"}
	for _, o := range opts {
		if o != nil {
			o.apply(s)
		}
	}
	s.prefix = "{" + s.prefix + "}:"
	return s, nil
}

// key is a budget's sorted set; NUL separates the parts, which
// budget.Request refuses in them, so no two budgets share a key.
func (s *Store) key(scope, tool, metric string) string {
	return s.prefix + scope + "\x00" + tool + "\x00" + metric
}

// index is the hash of a scope and tool's metrics and their windows.
func (s *Store) index(scope, tool string) string {
	return s.prefix + scope + "\x00" + tool + "\x00#"
}

// usedLua is the Lua of what a sorted set holds: its members for a
// destinations budget, else the sum of the amounts after each member's
// last ':'.
const usedLua = `
local function used(key, distinct)
  if distinct then return redis.call('ZCARD', key) end
  local s = 0
  for _, m in ipairs(redis.call('ZRANGE', key, 0, -1)) do
    s = s + tonumber(string.match(m, ':([^:]*)$'))
  end
  return s
end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
`

// reserveScript judges every request, then takes them all, in one step.
// KEYS: per request, its sorted set and its index. ARGV: the count, the
// reservation id, then per request: metric, amount, member, limit, window
// in ms. It returns {1, entry...} or {0, i, used}.
var reserveScript = redis.NewScript(usedLua + `
local n, id = tonumber(ARGV[1]), ARGV[2]
local pending = {}
for i = 1, n do
  local key = KEYS[2*i-1]
  local b = 3 + (i-1)*5
  local amount, member, limit, window = tonumber(ARGV[b+1]), ARGV[b+2], tonumber(ARGV[b+3]), tonumber(ARGV[b+4])
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
  local distinct = member ~= ''
  local add = amount
  if distinct then
    if redis.call('ZSCORE', key, member) then add = 0 else add = 1 end
  end
  local u = used(key, distinct) + (pending[key] or 0)
  if add > 0 and u + add > limit then
    return {0, i, tostring(u)}
  end
  pending[key] = (pending[key] or 0) + add
end
local out = {1}
for i = 1, n do
  local key, idx = KEYS[2*i-1], KEYS[2*i]
  local b = 3 + (i-1)*5
  local metric, amount, member, window = ARGV[b], ARGV[b+1], ARGV[b+2], tonumber(ARGV[b+4])
  local entry = ''
  if member ~= '' then
    if not redis.call('ZSCORE', key, member) then entry = member end
    redis.call('ZADD', key, now, member)
  else
    entry = id .. ':' .. amount
    redis.call('ZADD', key, now, entry)
  end
  redis.call('HSET', idx, metric, window)
  redis.call('PEXPIRE', key, window)
  if redis.call('PTTL', idx) < window then redis.call('PEXPIRE', idx, window) end
  out[#out+1] = entry
end
return out
`)

// usageScript is what each metric of one index holds now. KEYS: the
// index; ARGV: the prefix of its metrics' keys.
var usageScript = redis.NewScript(usedLua + `
local out = {}
local h = redis.call('HGETALL', KEYS[1])
for i = 1, #h, 2 do
  local metric, window = h[i], tonumber(h[i+1])
  local key = ARGV[1] .. metric
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
  out[#out+1] = metric
  out[#out+1] = tostring(used(key, metric == 'destinations'))
end
return out
`)

// Reserve implements budget.Store.
func (s *Store) Reserve(ctx context.Context, reqs []budget.Request) (*budget.Reservation, error) {
	reqs, err := budget.Merged(reqs)
	if err != nil {
		return nil, err
	}
	res := &budget.Reservation{ID: budget.NewID()}
	keys := make([]string, 0, 2*len(reqs))
	args := make([]any, 0, 2+5*len(reqs))
	args = append(args, len(reqs), res.ID)
	for _, r := range reqs {
		keys = append(keys, s.key(r.Scope, r.Tool, r.Metric), s.index(r.Scope, r.Tool))
		member := ""
		if r.Metric == budget.MetricDestinations {
			member = r.Member
		}
		args = append(args, r.Metric, strconv.FormatFloat(r.Amount, 'g', -1, 64), member,
			strconv.FormatFloat(r.Limit, 'g', -1, 64), r.Window.Milliseconds())
	}
	out, err := reserveScript.Run(ctx, s.rdb, keys, args...).Slice()
	if err != nil {
		return nil, fmt.Errorf("redisbudget: reserve: %w", err)
	}
	if len(out) == 0 {
		return nil, errors.New("redisbudget: reserve: empty reply")
	}
	if ok, _ := out[0].(int64); ok != 1 {
		if len(out) != 3 {
			return nil, errors.New("redisbudget: reserve: malformed refusal")
		}
		i, _ := out[1].(int64)
		used, _ := strconv.ParseFloat(fmt.Sprint(out[2]), 64)
		if i < 1 || int(i) > len(reqs) {
			return nil, errors.New("redisbudget: reserve: refusal names no request")
		}
		r := reqs[i-1]
		return nil, &budget.ExceededError{Scope: r.Scope, Tool: r.Tool, Metric: r.Metric, Used: used, Limit: r.Limit}
	}
	if len(out) != 1+len(reqs) {
		return nil, errors.New("redisbudget: reserve: malformed reply")
	}
	for i, r := range reqs {
		entry, _ := out[1+i].(string)
		if entry != "" {
			res.Items = append(res.Items, budget.Item{Scope: r.Scope, Tool: r.Tool, Metric: r.Metric, Entry: entry})
		}
	}
	return res, nil
}

// Release implements budget.Store.
func (s *Store) Release(ctx context.Context, r *budget.Reservation) error {
	if r == nil || len(r.Items) == 0 {
		return nil
	}
	var errs error
	for _, it := range r.Items {
		// One ZREM per item: each is on a key of its own, and a release is
		// rare (a call denied after its reservation).
		if err := s.rdb.ZRem(ctx, s.key(it.Scope, it.Tool, it.Metric), it.Entry).Err(); err != nil {
			errs = errors.Join(errs, err)
		}
	}
	if errs != nil {
		return fmt.Errorf("redisbudget: release: %w", errs)
	}
	r.Items = nil
	return nil
}

// Usage implements budget.Store.
func (s *Store) Usage(ctx context.Context, scope, tool string) (map[string]float64, error) {
	out, err := usageScript.Run(ctx, s.rdb, []string{s.index(scope, tool)}, s.key(scope, tool, "")).StringSlice()
	if err != nil {
		return nil, fmt.Errorf("redisbudget: usage: %w", err)
	}
	if len(out)%2 != 0 {
		return nil, errors.New("redisbudget: usage: malformed reply")
	}
	var u map[string]float64
	for i := 0; i < len(out); i += 2 {
		v, err := strconv.ParseFloat(out[i+1], 64)
		if err != nil {
			return nil, fmt.Errorf("redisbudget: usage: %w", err)
		}
		if u == nil {
			u = map[string]float64{}
		}
		u[out[i]] = v
	}
	return u, nil
}
